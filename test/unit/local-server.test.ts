import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";
import { type LambdaRoute, loadHandler, makeContext, matchRoute, startLocalServer } from "../../dev/local-server.ts";
import { apiRoutes } from "../../infra/routes.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const ECHO = "test/fixtures/local-server/echo.handler";
const SIMPLE = "test/fixtures/local-server/simple";
const SECRET = "sk-live-do-not-log-4711";

const routes = [
  // The parameter route comes first so that "literal beats parameter" cannot pass by table order.
  { method: "GET", path: "/api/jobs/{job_id}/{kind}", handler: ECHO },
  { method: "GET", path: "/api/jobs/queue/status", handler: ECHO },
  { method: "GET", path: "/api/jobs/", handler: ECHO },
  { method: "GET", path: "/api/targets/{target_id}", handler: ECHO },
  { method: "GET", path: "/api/ping", handler: ECHO },
  { method: "GET", path: "/api/ping/", handler: ECHO },
  { method: "GET", path: "/api/files/{proxy+}", handler: ECHO },
  { method: "POST", path: "/api/upload", handler: ECHO },
  { method: "GET", path: "/api/simple", handler: `${SIMPLE}.simple` },
  { method: "GET", path: "/api/text", handler: `${SIMPLE}.text` },
  { method: "GET", path: "/api/binary", handler: `${SIMPLE}.binary` },
  { method: "POST", path: "/api/boom", handler: `${SIMPLE}.boom` },
  { method: "GET", path: "/api/missing", handler: "test/fixtures/local-server/nope.handler" },
] as const satisfies readonly LambdaRoute[];

const lines: string[] = [];
const server = await startLocalServer({ routes, root, timeoutMs: 5000, log: (line) => lines.push(line) });
const small = await startLocalServer({
  routes: [{ method: "POST", path: "/api/boom", handler: `${SIMPLE}.boom` }],
  root,
  maxBodyBytes: 8,
  log: (line) => lines.push(line),
});
afterAll(async () => {
  await Promise.all([server.close(), small.close()]);
});

interface Echo {
  version: string;
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  headers: Record<string, string>;
  cookies: string[] | null;
  queryStringParameters: Record<string, string> | null;
  pathParameters: Record<string, string> | null;
  body: string | null;
  isBase64Encoded: boolean;
  requestContext: {
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
  };
  functionName: string;
  remaining: number;
}

async function echo(path: string, init?: RequestInit): Promise<Echo> {
  const res = await fetch(server.url + path, init);
  expect(res.status).toBe(201);
  return (await res.json()) as Echo;
}

/** A GET sent with node:http, so repeated header lines reach the server as separate lines. */
function rawGet(path: string, headers: Record<string, string | string[]>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(server.url + path, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("local API server", () => {
  it("binds 127.0.0.1 and reports the real port", () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(small.port).not.toBe(server.port);
  });

  it("decodes path parameters, including greedy ones", async () => {
    const one = await echo("/api/targets/t%201%2Fx");
    expect(one.routeKey).toBe("GET /api/targets/{target_id}");
    expect(one.rawPath).toBe("/api/targets/t%201%2Fx");
    expect(one.pathParameters).toEqual({ target_id: "t 1/x" });
    const greedy = await echo("/api/files/a/b%20c.txt");
    expect(greedy.pathParameters).toEqual({ proxy: "a/b c.txt" });
  });

  it("does not match a malformed %-escape", async () => {
    const res = await fetch(`${server.url}/api/targets/%E0%A4%A`);
    expect(res.status).toBe(404);
    expect(matchRoute(routes, "GET", "/api/targets/%E0%A4%A")).toBeUndefined();
  });

  it("matches trailing slashes exactly", async () => {
    expect((await echo("/api/jobs/")).routeKey).toBe("GET /api/jobs/");
    expect((await fetch(`${server.url}/api/jobs`)).status).toBe(404);
    expect((await echo("/api/ping")).routeKey).toBe("GET /api/ping");
    expect((await echo("/api/ping/")).routeKey).toBe("GET /api/ping/");
  });

  it("prefers a literal segment to a parameter", async () => {
    const literal = await echo("/api/jobs/queue/status");
    expect(literal.routeKey).toBe("GET /api/jobs/queue/status");
    expect(literal.pathParameters).toBeNull();
    const param = await echo("/api/jobs/j1/logs");
    expect(param.routeKey).toBe("GET /api/jobs/{job_id}/{kind}");
    expect(param.pathParameters).toEqual({ job_id: "j1", kind: "logs" });
    // Independent of table order.
    expect(matchRoute([...routes].reverse(), "GET", "/api/jobs/queue/status")?.route.path).toBe(
      "/api/jobs/queue/status",
    );
    expect(matchRoute(routes, "GET", "/api/files/queue")?.route.path).toBe("/api/files/{proxy+}");
  });

  it("joins repeated query keys with commas and keeps the raw query string", async () => {
    const e = await echo("/api/ping?a=1&a=2&b=x%20y&empty=");
    expect(e.rawQueryString).toBe("a=1&a=2&b=x%20y&empty=");
    expect(e.queryStringParameters).toEqual({ a: "1,2", b: "x y", empty: "" });
    const none = await echo("/api/ping");
    expect(none.rawQueryString).toBe("");
    expect(none.queryStringParameters).toBeNull();
  });

  it("lower-cases headers, joins repeats with commas and splits out cookies", async () => {
    const e = await echo("/api/ping", {
      headers: { "X-Custom-Header": "Value", Cookie: "a=1; b=2", "User-Agent": "t/1" },
    });
    expect(e.headers["x-custom-header"]).toBe("Value");
    expect(Object.keys(e.headers).every((k) => k === k.toLowerCase())).toBe(true);
    expect(e.cookies).toEqual(["a=1", "b=2"]);
    expect(e.headers.cookie).toBeUndefined();
    expect(e.requestContext.http.userAgent).toBe("t/1");

    const raw = await rawGet("/api/ping", { "X-Multi": ["one", "two"] });
    expect(raw.status).toBe(201);
    expect((JSON.parse(raw.body) as Echo).headers["x-multi"]).toBe("one,two");
  });

  it("fills the v2 envelope and request context", async () => {
    const before = Date.now();
    const a = await echo("/api/jobs/j1/logs?x=1");
    const b = await echo("/api/jobs/j1/logs?x=1");
    expect(a.version).toBe("2.0");
    expect(a.requestContext).toMatchObject({
      http: { method: "GET", path: "/api/jobs/j1/logs", protocol: "HTTP/1.1", sourceIp: "127.0.0.1" },
      routeKey: "GET /api/jobs/{job_id}/{kind}",
      stage: "$default",
    });
    expect(a.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(a.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(a.requestContext.timeEpoch).toBeLessThanOrEqual(Date.now());
    expect(a.requestContext.requestId).not.toBe(b.requestContext.requestId);
    expect(a.functionName).toBe("test-fixtures-local-server-echo");
  });

  it("passes text bodies as utf8 and binary bodies as base64", async () => {
    const json = await echo("/api/upload", {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: '{"name":"é"}',
    });
    expect(json.body).toBe('{"name":"é"}');
    expect(json.isBase64Encoded).toBe(false);

    const untyped = await echo("/api/upload", { method: "POST", body: new TextEncoder().encode("no type") });
    expect(untyped.headers["content-type"]).toBeUndefined();
    expect(untyped.body).toBe("no type");
    expect(untyped.isBase64Encoded).toBe(false);

    const bytes = new Uint8Array([0, 255, 1, 128, 10]);
    const bin = await echo("/api/upload", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    expect(bin.isBase64Encoded).toBe(true);
    expect([...Buffer.from(bin.body ?? "", "base64")]).toEqual([...bytes]);

    const empty = await echo("/api/ping");
    expect(empty.body).toBeNull();
    expect(empty.isBase64Encoded).toBe(false);
  });

  it("maps a structured result: status, headers, cookies, base64 body", async () => {
    const res = await fetch(`${server.url}/api/ping`);
    expect(res.status).toBe(201);
    expect(res.headers.get("x-echo")).toBe("yes");
    expect(res.headers.getSetCookie()).toEqual(["session=abc; Path=/; HttpOnly", "theme=dark"]);

    const bin = await fetch(`${server.url}/api/binary`);
    expect(bin.status).toBe(200);
    expect([...new Uint8Array(await bin.arrayBuffer())]).toEqual([0, 1, 254, 255]);
  });

  it("turns a simple result into a 200 JSON response", async () => {
    const res = await fetch(`${server.url}/api/simple`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ ok: true, items: [1, 2] });

    const text = await fetch(`${server.url}/api/text`);
    expect(text.status).toBe(200);
    expect(text.headers.get("content-type")).toBe("application/json");
    expect(await text.text()).toBe("plain words");
  });

  it("answers 500 for a thrown error and logs it without request headers", async () => {
    const res = await fetch(`${server.url}/api/boom`, {
      method: "POST",
      headers: { "x-api-key": SECRET, "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: "Internal Server Error" });
    expect(lines.some((l) => l.includes("kaboom from the fixture"))).toBe(true);
    expect(lines.some((l) => /^POST \/api\/boom 500 \d+ms$/.test(l))).toBe(true);
    expect(lines.filter((l) => l.includes(SECRET))).toEqual([]);
  });

  it("answers 500 when a route's handler file is missing", async () => {
    const res = await fetch(`${server.url}/api/missing`);
    expect(res.status).toBe(500);
    expect(lines.some((l) => l.includes("Handler file not found"))).toBe(true);
  });

  it("answers 404 Not Found for an unknown path and for a wrong method", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["POST", "/api/jobs/"],
      ["DELETE", "/api/simple"],
    ] as const) {
      const res = await fetch(server.url + path, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.json()).toEqual({ message: "Not Found" });
    }
    expect(lines).toContainEqual(expect.stringMatching(/^DELETE \/api\/simple 404 \d+ms$/));
  });

  it("answers 413 for a body over maxBodyBytes without calling the handler", async () => {
    const errorsBefore = lines.filter((l) => l.includes("kaboom")).length;
    const res = await fetch(`${small.url}/api/boom`, { method: "POST", body: "123456789" });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: "Request Entity Too Large" });
    expect(lines.filter((l) => l.includes("kaboom")).length).toBe(errorsBefore);
    // At the limit the handler runs (and this one throws).
    expect((await fetch(`${small.url}/api/boom`, { method: "POST", body: "12345678" })).status).toBe(500);
  });

  it("gives handlers a context whose remaining time counts down from the timeout", async () => {
    const e = await echo("/api/ping");
    expect(e.remaining).toBeGreaterThan(0);
    expect(e.remaining).toBeLessThanOrEqual(5000);

    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(1_000_000);
      const ctx = makeContext("fn", 3000);
      expect(ctx.getRemainingTimeInMillis()).toBe(3000);
      vi.setSystemTime(1_001_250);
      expect(ctx.getRemainingTimeInMillis()).toBe(1750);
      vi.setSystemTime(1_010_000);
      expect(ctx.getRemainingTimeInMillis()).toBe(0);
      expect(ctx.functionName).toBe("fn");
      expect(ctx.awsRequestId).not.toBe(makeContext("fn", 1).awsRequestId);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("loadHandler", () => {
  it("loads a named export", async () => {
    const fn = await loadHandler(root, `${SIMPLE}.simple`);
    expect(await fn({} as never, makeContext("fn", 1000))).toEqual({ ok: true, items: [1, 2] });
  });

  it("fails clearly for a missing file, a missing export or a non-function export", async () => {
    await expect(loadHandler(root, "test/fixtures/local-server/nope.handler")).rejects.toThrow(
      /Handler file not found/,
    );
    await expect(loadHandler(root, `${SIMPLE}.missing`)).rejects.toThrow(/export "missing" not found/);
    await expect(loadHandler(root, `${SIMPLE}.notAFunction`)).rejects.toThrow(/export "notAFunction" not found/);
    await expect(loadHandler(root, "no-dot")).rejects.toThrow(/Bad handler/);
  });
});

describe("matchRoute over the real route table", () => {
  it("routes every API path to itself, with decoded parameters", () => {
    for (const route of apiRoutes) {
      const path = route.path.replace(/\{[^}]+\}/g, "v%20x");
      const match = matchRoute(apiRoutes, route.method, path);
      expect(match?.route, `${route.method} ${route.path}`).toBe(route);
      for (const value of Object.values(match?.pathParameters ?? {})) expect(value).toBe("v x");
    }
    expect(matchRoute(apiRoutes, "GET", "/api/targets/t1/jobs")).toBeUndefined();
    expect(matchRoute(apiRoutes, "GET", "/api/targets/t1/jobs/")?.pathParameters).toEqual({ target_id: "t1" });
  });
});
