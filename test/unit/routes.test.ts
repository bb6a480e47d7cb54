// The route table (infra/routes.ts) is what SST deploys and what the local server serves; these
// checks keep the table, the handler files and the local server in agreement.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startLocalServer } from "../../dev/local-server.ts";
import { apiRoutes, routeKey, workerFunction } from "../../infra/routes.ts";
import { generateSecret } from "../../packages/workers/src/signing.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const ADAPTER_404 = { message: "Not Found" };

function splitHandler(handler: string) {
  const dot = handler.lastIndexOf(".");
  return { file: join(root, `${handler.slice(0, dot)}.ts`), name: handler.slice(dot + 1) };
}

/** A concrete path for a route: every `{param}` becomes a UUID. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, () => randomUUID());

const handlers = [...new Set<string>([...apiRoutes.map((r) => r.handler), workerFunction.handler])];

describe("route table", () => {
  it.each(handlers)("%s names an existing file that exports a function", async (handler) => {
    const { file, name } = splitHandler(handler);
    expect(existsSync(file), `${file} is missing`).toBe(true);
    const mod: Record<string, unknown> = await import(pathToFileURL(file).href);
    expect(typeof mod[name], `${handler}: export "${name}"`).toBe("function");
  });

  it("has unique route keys", () => {
    const keys = apiRoutes.map(routeKey);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it("uses API Gateway path syntax: /api prefix, snake_case {params}, none repeated", () => {
    for (const r of apiRoutes) {
      expect(r.path, routeKey(r)).toMatch(/^\/api\//);
      const params = [...r.path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
      for (const p of params) expect(p, routeKey(r)).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(new Set(params).size, routeKey(r)).toBe(params.length);
    }
  });
});

describe("the local server serves exactly the table", () => {
  let api: Awaited<ReturnType<typeof startLocalServer>>;
  let worker: Awaited<ReturnType<typeof startLocalServer>>;

  beforeAll(async () => {
    // Nothing listens on port 1: handlers that reach for the database fail at once.
    vi.stubEnv("DATABASE_URL", "postgresql://x@127.0.0.1:1/x");
    vi.stubEnv("WEBHOOK_SIGNING_SECRET", generateSecret());
    // Direct mode's worker needs one to start (it is never used here).
    vi.stubEnv("HATCHET_CLIENT_TOKEN", "not.a.token");
    const log = () => {};
    api = await startLocalServer({ routes: apiRoutes, root, timeoutMs: 10_000, log });
    const workerRoutes = workerFunction.paths.map((path) => ({
      method: "POST",
      path,
      handler: workerFunction.handler,
    }));
    worker = await startLocalServer({ routes: workerRoutes, root, timeoutMs: 10_000, log });
  });

  afterAll(async () => {
    await Promise.all([api?.close(), worker?.close()]);
    vi.unstubAllEnvs();
  });

  async function call(base: string, method: string, path: string) {
    const res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: certainly not the adapter's 404
    }
    return { status: res.status, body };
  }

  it.each(apiRoutes.map((r) => [routeKey(r), r] as const))("routes %s to its handler", async (_key, r) => {
    const res = await call(api.url, r.method, concrete(r.path));
    // Any answer but the adapter's own 404: 401 without a key, 4xx for a missing body, 5xx without a database.
    expect(res.status === 404 && JSON.stringify(res.body) === JSON.stringify(ADAPTER_404), JSON.stringify(res)).toBe(
      false,
    );
  });

  it("answers the adapter's 404 for paths and methods not in the table", async () => {
    for (const [method, path] of [
      ["GET", "/api/nope"],
      ["GET", "/api/targets"], // the table has /api/targets/ only
      ["PATCH", `/api/targets/${randomUUID()}`],
      ["DELETE", "/api/jobs/"],
      ["GET", "/health"],
    ] as const) {
      const res = await call(api.url, method, path);
      expect({ method, path, ...res }).toEqual({ method, path, status: 404, body: ADAPTER_404 });
    }
  });

  it.each(workerFunction.paths)("serves the worker function's %s", async (path) => {
    // Unsigned, so the worker refuses it before touching the database.
    const res = await call(worker.url, "POST", path);
    expect(res.status).toBe(401);
  });

  it("answers the adapter's 404 outside the worker function's paths", async () => {
    expect(await call(worker.url, "POST", "/deliver/extra")).toEqual({ status: 404, body: ADAPTER_404 });
    expect(await call(worker.url, "GET", "/health")).toEqual({ status: 404, body: ADAPTER_404 });
  });
});
