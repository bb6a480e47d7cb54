import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type HttpExchangeRecord,
  type JobContext,
  JobFailure,
  type LogType,
} from "../../packages/core/src/job-type.ts";
import { echo, fail, findJobType, httpRequest, jobTypes, sleep } from "../../packages/jobs/src/index.ts";

/** A JobContext that collects what the job reports. */
function fakeContext(attempt = 0) {
  const controller = new AbortController();
  const logs: { content: string | Record<string, unknown>; type: LogType | undefined }[] = [];
  const exchanges: HttpExchangeRecord[] = [];
  const ctx: JobContext = {
    jobId: "job_test",
    tenantId: "tenant_test",
    targetId: "target_test",
    attempt,
    signal: controller.signal,
    async log(content, type) {
      logs.push({ content, type });
    },
    async progress(fraction, message) {
      logs.push({ content: { fraction, message }, type: "progress" });
    },
    async recordHttpExchange(exchange) {
      exchanges.push(exchange);
    },
  };
  return { ctx, controller, logs, exchanges };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("job type registry", () => {
  it("finds each built-in by name and nothing else", () => {
    expect(jobTypes.map((t) => t.name)).toEqual(["echo", "sleep", "fail", "http-request"]);
    for (const t of jobTypes) expect(findJobType(t.name)).toBe(t);
    expect(findJobType("nope")).toBeUndefined();
  });
});

describe("echo", () => {
  it("returns its parameters", async () => {
    const params = echo.parameters.parse({ a: 1, nested: { b: [true, null] } });
    await expect(echo.run(params, fakeContext().ctx)).resolves.toEqual({ a: 1, nested: { b: [true, null] } });
  });

  it("rejects non-objects", () => {
    expect(echo.parameters.safeParse([1, 2]).success).toBe(false);
    expect(echo.parameters.safeParse("x").success).toBe(false);
  });
});

describe("sleep", () => {
  it("sleeps and reports the time slept, logging once", async () => {
    const { ctx, logs } = fakeContext();
    const result = await sleep.run(sleep.parameters.parse({ ms: 30 }), ctx);
    expect(result.slept_ms).toBeGreaterThanOrEqual(25);
    expect(logs).toHaveLength(1);
  });

  it("stops early when the signal aborts, rejecting with the signal's reason", async () => {
    const { ctx, controller } = fakeContext();
    const started = performance.now();
    const run = sleep.run({ ms: 10_000 }, ctx);
    setTimeout(() => controller.abort(new Error("cancelled by user")), 20);
    const err = await caught(run);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe("cancelled by user");
  });

  it("honours an already aborted signal without sleeping or logging", async () => {
    const { ctx, controller, logs } = fakeContext();
    controller.abort();
    const err = await caught(sleep.run({ ms: 10_000 }, ctx));
    expect((err as Error).name).toBe("AbortError");
    expect(logs).toHaveLength(0);
  });

  it("validates ms", () => {
    expect(sleep.parameters.safeParse({ ms: -1 }).success).toBe(false);
    expect(sleep.parameters.safeParse({ ms: 1.5 }).success).toBe(false);
    expect(sleep.parameters.safeParse({ ms: 900_001 }).success).toBe(false);
    expect(sleep.parameters.safeParse({}).success).toBe(false);
    expect(sleep.parameters.safeParse({ ms: 900_000 }).success).toBe(true);
  });
});

describe("fail", () => {
  it("throws a non-retryable JobFailure with the default message", async () => {
    const err = await caught(fail.run(fail.parameters.parse({}), fakeContext().ctx));
    expect(err).toBeInstanceOf(JobFailure);
    expect(err).toMatchObject({ message: "failed on purpose", retryable: false });
  });

  it("passes message and retryable through", async () => {
    const params = fail.parameters.parse({ message: "boom", retryable: true });
    const err = await caught(fail.run(params, fakeContext().ctx));
    expect(err).toMatchObject({ name: "JobFailure", message: "boom", retryable: true });
  });

  it("succeeds from succeed_on_attempt on", async () => {
    const params = fail.parameters.parse({ retryable: true, succeed_on_attempt: 2 });
    await expect(fail.run(params, fakeContext(0).ctx)).rejects.toBeInstanceOf(JobFailure);
    await expect(fail.run(params, fakeContext(1).ctx)).rejects.toBeInstanceOf(JobFailure);
    await expect(fail.run(params, fakeContext(2).ctx)).resolves.toEqual({ attempt: 2 });
    await expect(fail.run(params, fakeContext(3).ctx)).resolves.toEqual({ attempt: 3 });
  });

  it("validates its parameters", () => {
    expect(fail.parameters.safeParse({ succeed_on_attempt: -1 }).success).toBe(false);
    expect(fail.parameters.safeParse({ retryable: "yes" }).success).toBe(false);
  });
});

describe("http-request parameters", () => {
  const parse = (p: unknown) => httpRequest.parameters.safeParse(p);

  it("applies defaults", () => {
    expect(httpRequest.parameters.parse({ url: "https://example.com/x" })).toEqual({
      url: "https://example.com/x",
      method: "GET",
      headers: {},
    });
  });

  it("rejects bad input", () => {
    expect(parse({}).success).toBe(false);
    expect(parse({ url: "ftp://example.com/file" }).success).toBe(false);
    expect(parse({ url: "not a url" }).success).toBe(false);
    expect(parse({ url: "https://example.com", method: "TRACE" }).success).toBe(false);
    expect(parse({ url: "https://example.com", timeout_ms: 300_001 }).success).toBe(false);
    expect(parse({ url: "https://example.com", headers: { "bad name": "x" } }).success).toBe(false);
    expect(parse({ url: "https://example.com", body: "x" }).success).toBe(false);
    expect(parse({ url: "https://user:pw@example.com" }).success).toBe(false);
    expect(parse({ url: "https://example.com", method: "POST", body: "x" }).success).toBe(true);
  });
});

describe("http-request against a local server", () => {
  let server: Server;
  let base: string;
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(req);
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        switch (new URL(req.url ?? "/", "http://x").pathname) {
          case "/json":
            res.writeHead(200, { "content-type": "application/json", "set-cookie": "session=abc" });
            res.end(JSON.stringify({ ok: true, method: req.method, body, auth: req.headers.authorization }));
            return;
          case "/boom":
            res.writeHead(503).end("down");
            return;
          case "/missing":
            res.writeHead(404, { "content-type": "text/plain" }).end("no such thing");
            return;
          case "/big":
            res.writeHead(200).end("x".repeat(1024 * 1024 + 10));
            return;
          case "/hang":
            return; // never answers
          default:
            res.writeHead(500).end();
        }
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
  });

  it("returns status, headers and body of a 200 JSON answer and records the exchange", async () => {
    const { ctx, exchanges } = fakeContext();
    const params = httpRequest.parameters.parse({
      url: `${base}/json?access_token=t0ps3cret&page=2`,
      method: "POST",
      headers: { authorization: "Bearer s3cr3t", "X-Api-Key": "k", "x-refresh-token": "r", accept: "application/json" },
      body: "hello",
    });
    const result = await httpRequest.run(params, ctx);
    expect(result.status).toBe(200);
    expect(result.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(result.body)).toEqual({ ok: true, method: "POST", body: "hello", auth: "Bearer s3cr3t" });

    expect(exchanges).toHaveLength(1);
    const [exchange] = exchanges;
    expect(exchange?.request.headers).toEqual({
      authorization: "[redacted]",
      "X-Api-Key": "[redacted]",
      "x-refresh-token": "[redacted]",
      accept: "application/json",
    });
    expect(exchange?.request.body).toBe("hello");
    expect(exchange?.request.url).not.toContain("t0ps3cret");
    expect(exchange?.request.url).toContain("page=2");
    expect(exchange?.response?.status).toBe(200);
    expect(exchange?.response?.headers["set-cookie"]).toBe("[redacted]");
    expect(exchange?.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(exchange?.request)).not.toContain("s3cr3t");
  });

  it("fails retryably on a 5xx answer, after recording it", async () => {
    const { ctx, exchanges } = fakeContext();
    const err = await caught(httpRequest.run(httpRequest.parameters.parse({ url: `${base}/boom` }), ctx));
    expect(err).toBeInstanceOf(JobFailure);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toContain("503");
    expect(exchanges[0]?.response?.status).toBe(503);
  });

  it("returns a 4xx answer as a result", async () => {
    const { ctx } = fakeContext();
    const result = await httpRequest.run(httpRequest.parameters.parse({ url: `${base}/missing` }), ctx);
    expect(result).toMatchObject({ status: 404, body: "no such thing" });
  });

  it("truncates the result body at 1 MiB and the recorded body at 64 KiB", async () => {
    const { ctx, exchanges } = fakeContext();
    const result = await httpRequest.run(httpRequest.parameters.parse({ url: `${base}/big` }), ctx);
    expect(result.body).toHaveLength(1024 * 1024);
    expect(exchanges[0]?.response?.body?.length).toBeLessThan(64 * 1024 + 100);
  });

  it("fails retryably on a network error and records the error", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, "close");

    const { ctx, exchanges } = fakeContext();
    const err = await caught(httpRequest.run(httpRequest.parameters.parse({ url: `http://127.0.0.1:${port}/` }), ctx));
    expect(err).toMatchObject({ name: "JobFailure", retryable: true });
    expect(exchanges[0]?.error).toMatch(/ECONNREFUSED/);
    expect(exchanges[0]?.response).toBeUndefined();
  });

  it("fails retryably when timeout_ms passes", async () => {
    const { ctx, exchanges } = fakeContext();
    const params = httpRequest.parameters.parse({ url: `${base}/hang`, timeout_ms: 50 });
    const err = await caught(httpRequest.run(params, ctx));
    expect(err).toMatchObject({ name: "JobFailure", retryable: true });
    expect(exchanges[0]?.error).toBe("timed out after 50 ms");
  });

  it("stops mid-request when the job's signal aborts, rejecting with its reason", async () => {
    const { ctx, controller, exchanges } = fakeContext();
    const before = seen.length;
    const started = performance.now();
    const run = httpRequest.run(httpRequest.parameters.parse({ url: `${base}/hang` }), ctx);
    const reason = new Error("interrupted");
    setTimeout(() => controller.abort(reason), 50);
    expect(await caught(run)).toBe(reason);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(seen.length).toBe(before + 1); // the request did reach the server
    expect(exchanges[0]?.error).toBe("aborted");
  });
});
