// Real answers against the OpenAPI document: every route is called for real (Postgres, the
// engine, the worker) and each answer must have a status the document gives its operation and a
// body its schema for that status accepts. This is what keeps the response schemas, the success
// statuses and the error lists true to the handlers.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../functions/api/_lib/openapi.ts";
import { apiRoutes } from "../../infra/routes.ts";
import { type ApiResponse, startTestApp, type TestApp } from "../support/app.ts";
import { newTenant, type TenantClient } from "../support/client.ts";
import { poll } from "../support/poll.ts";
import { documentChecker } from "../unit/openapi-ajv.ts";

let t: TestApp;
let c: TenantClient;
let pong: Server;
let pongUrl: string;
const d = documentChecker();
/** The operations answered with success so far. */
const answered = new Set<string>();

beforeAll(async () => {
  t = await startTestApp();
  c = await newTenant(t);
  pong = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("pong"));
  await new Promise<void>((resolve) => pong.listen(0, "127.0.0.1", resolve));
  pongUrl = `http://127.0.0.1:${(pong.address() as AddressInfo).port}/ping`;
});
afterAll(async () => {
  await c?.cancelRunning();
  await t?.stop();
  await new Promise((resolve) => pong?.close(resolve));
});

interface Call {
  key?: string;
  admin?: boolean;
  query?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Calls an operation by its path template and checks the answer against the document. */
async function call(method: string, template: string, ids: Record<string, string> = {}, o: Call = {}) {
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? "");
  const headers = { ...(o.admin ? { "x-admin-key": t.adminKey } : {}), ...o.headers };
  const key = o.admin ? "" : (o.key ?? c.key);
  const r = await t.api(key, method, `${path}${o.query ?? ""}`, o.body, headers);
  const problems = d.checkAnswer(method, template, r.status, r.body);
  expect(problems, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`).toEqual([]);
  if (r.status < 300) answered.add(d.operation(method, template).operationId);
  return r;
}

const expectCode = (r: ApiResponse, status: number, code: string) =>
  expect({ status: r.status, code: r.body.code }).toEqual({ status, code });

const J = "/api/targets/{target_id}/jobs/{job_id}";
const NONE = "00000000-0000-4000-8000-000000000000";

describe("answers match the OpenAPI document", () => {
  it("serves the document without a key", async () => {
    const r = await call("GET", "/api/openapi.json", {}, { key: "" });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(openApiDocument());
  });

  it("admin routes", async () => {
    const created = await call("POST", "/api/admin/tenants/", {}, { admin: true, body: { name: "docs-acme" } });
    expect(created.status).toBe(201);
    expect((await call("GET", "/api/admin/tenants/", {}, { admin: true })).status).toBe(200);
    const key = await call(
      "POST",
      "/api/admin/tenants/{tenant_id}/keys/",
      { tenant_id: created.body.id },
      { admin: true },
    );
    expect(key.status).toBe(201);
    const secret = t.signingSecret;
    const worker = await call(
      "POST",
      "/api/admin/workers/",
      {},
      { admin: true, body: { name: "docs-second", url: t.workerUrl, secret } },
    );
    expect(worker.status).toBe(201);
    expect((await call("GET", "/api/admin/workers/", {}, { admin: true })).status).toBe(200);
    const removed = await call(
      "DELETE",
      "/api/admin/workers/{worker_id}",
      { worker_id: worker.body.id },
      { admin: true },
    );
    expect(removed.status).toBe(200);

    expectCode(
      await call("POST", "/api/admin/tenants/", {}, { admin: true, body: { name: "docs-acme" } }),
      409,
      "tenant.name_taken",
    );
    expectCode(await call("GET", "/api/admin/tenants/", {}, { key: "" }), 401, "auth.missing_key");
    expectCode(
      await call("GET", "/api/admin/workers/", {}, { key: "", headers: { "x-admin-key": "wrong" } }),
      401,
      "auth.invalid_key",
    );
    expectCode(
      await call("POST", "/api/admin/tenants/{tenant_id}/keys/", { tenant_id: NONE }, { admin: true }),
      404,
      "tenant.not_found",
    );
    expectCode(
      await call("DELETE", "/api/admin/workers/{worker_id}", { worker_id: NONE }, { admin: true }),
      404,
      "worker.not_found",
    );
    expectCode(
      await call(
        "POST",
        "/api/admin/workers/",
        {},
        { admin: true, body: { name: "docs-wrong", url: t.workerUrl, secret: `whsec_${"A".repeat(32)}` } },
      ),
      422,
      "worker.unreachable",
    );
  });

  it("target routes", async () => {
    const created = await call("POST", "/api/targets/", {}, { body: { name: "vm", type: "vnc", host: "10.0.0.9" } });
    expect(created.status).toBe(201);
    const target_id = created.body.id;
    expect((await call("GET", "/api/targets/", {}, { query: "?include_archived=true" })).status).toBe(200);
    expect((await call("GET", "/api/targets/{target_id}", { target_id })).status).toBe(200);
    expect((await call("PUT", "/api/targets/{target_id}", { target_id }, { body: { width: 1280 } })).status).toBe(200);

    const busy = await c.target("busy");
    const sleeping = await c.job(busy, "sleep", { ms: 600_000 });
    await c.waitStatus(busy, sleeping, "running");
    expectCode(await call("DELETE", "/api/targets/{target_id}", { target_id: busy }), 409, "target.busy");
    await c.action(busy, sleeping, "cancel");
    await c.waitStatus(busy, sleeping, "canceled");

    expect((await call("DELETE", "/api/targets/{target_id}", { target_id })).status).toBe(200);
    expectCode(
      await call("POST", "/api/targets/{target_id}/jobs/", { target_id }, { body: { api_name: "echo" } }),
      409,
      "target.archived",
    );
    expectCode(await call("GET", "/api/targets/{target_id}", { target_id: NONE }), 404, "target.not_found");
    expectCode(await call("GET", "/api/targets/{target_id}", { target_id: "abc" }), 422, "request.invalid");
    expectCode(await call("GET", "/api/targets/", {}, { key: "sy_nope" }), 401, "auth.invalid_key");
    expectCode(await call("GET", "/api/targets/", {}, { key: "" }), 401, "auth.missing_key");
    expectCode(
      await call("POST", "/api/targets/", {}, { body: "{", headers: { "content-type": "application/json" } }),
      400,
      "request.malformed_json",
    );
    expectCode(
      await call("POST", "/api/targets/", {}, { body: "name=x", headers: { "content-type": "text/plain" } }),
      415,
      "request.unsupported_media_type",
    );
    expectCode(
      await call("POST", "/api/targets/", {}, { body: { name: "x".repeat(300_000) } }),
      413,
      "request.too_large",
    );
    expectCode(await call("POST", "/api/targets/", {}, { body: {} }), 422, "request.invalid");
  });

  it("job routes", async () => {
    const target_id = await c.target("jobs");
    const created = await call(
      "POST",
      "/api/targets/{target_id}/jobs/",
      { target_id },
      { body: { api_name: "echo", parameters: { hello: "world" } }, headers: { "idempotency-key": "docs-1" } },
    );
    expect(created.status).toBe(200);
    const job_id = created.body.id;
    const replay = await call(
      "POST",
      "/api/targets/{target_id}/jobs/",
      { target_id },
      { body: { api_name: "echo", parameters: { hello: "world" } }, headers: { "idempotency-key": "docs-1" } },
    );
    expect({ id: replay.body.id, replayed: replay.headers.get("idempotent-replayed") }).toEqual({
      id: job_id,
      replayed: "true",
    });
    expectCode(
      await call(
        "POST",
        "/api/targets/{target_id}/jobs/",
        { target_id },
        { body: { api_name: "echo", parameters: { other: 1 } }, headers: { "idempotency-key": "docs-1" } },
      ),
      422,
      "idempotency.key_reused",
    );
    await c.waitStatus(target_id, job_id, "success");
    expect((await call("GET", J, { target_id, job_id })).status).toBe(200);
    const page = await call("GET", "/api/jobs/", {}, { query: "?limit=1&status=SUCCESS" });
    expect(page.headers.get("x-total-count")).toBe(String(page.body.total_count));
    expect((await call("GET", "/api/targets/{target_id}/jobs/", { target_id })).status).toBe(200);
    expect((await call("GET", `${J}/logs/`, { target_id, job_id }, { query: "?after=1" })).status).toBe(200);
    // The job has ended, so its stream ends after its lines.
    expect((await call("GET", `${J}/logs/stream`, { target_id, job_id })).status).toBe(200);

    // An HTTP exchange with content, from the http-request job type.
    const fetched = await c.job(target_id, "http-request", { url: pongUrl });
    await c.waitStatus(target_id, fetched, "success");
    const exchanges = await call("GET", `${J}/http_exchanges/`, { target_id, job_id: fetched });
    expect(exchanges.body).toHaveLength(1);

    // interrupt → paused, resume → queued, cancel → canceled.
    const sleeping = await c.job(target_id, "sleep", { ms: 600_000 });
    await c.waitStatus(target_id, sleeping, "running");
    expect((await call("POST", `${J}/interrupt/`, { target_id, job_id: sleeping })).status).toBe(200);
    await c.waitStatus(target_id, sleeping, "paused");
    expectCode(await call("POST", `${J}/interrupt/`, { target_id, job_id: sleeping }), 409, "job.illegal_transition");
    expect((await call("POST", `${J}/resume/`, { target_id, job_id: sleeping })).status).toBe(200);
    expect((await call("POST", `${J}/cancel/`, { target_id, job_id: sleeping })).status).toBe(200);
    await c.waitStatus(target_id, sleeping, "canceled");

    // A failed job, resolved by hand.
    const failed = await c.job(target_id, "fail", { retryable: false });
    await c.waitStatus(target_id, failed, "error");
    const resolved = await call("POST", `${J}/resolve/`, { target_id, job_id: failed }, { body: { fixed: true } });
    expect(resolved.body).toMatchObject({ status: "success", result: { fixed: true } });

    const create = (body: unknown) => call("POST", "/api/targets/{target_id}/jobs/", { target_id }, { body });
    expectCode(await create({ api_name: "nope" }), 400, "job.unknown_type");
    expectCode(await create({ api_name: "sleep", parameters: { ms: -1 } }), 400, "job.invalid_parameters");
    expectCode(await create({ parameters: {} }), 422, "request.invalid");
    expectCode(await call("GET", J, { target_id, job_id: NONE }), 404, "job.not_found");
    expectCode(
      await call("POST", `${J}/cancel/`, { target_id, job_id }, { body: { why: "no" } }),
      415,
      "request.unsupported_media_type",
    );
    expectCode(await call("GET", "/api/jobs/", {}, { query: "?limit=0" }), 422, "request.invalid");
  });

  it("queue, diagnostics and job types", async () => {
    expect((await call("GET", "/api/jobs/queue/status")).status).toBe(200);
    expect((await call("POST", "/api/jobs/queue/resync")).status).toBe(200);
    expect((await call("GET", "/api/diagnostics")).status).toBe(200);
    expect((await call("GET", "/api/job-types/")).status).toBe(200);
  });

  it("webhook routes", async () => {
    const W = "/api/webhooks/{webhook_id}";
    const body = { url: pongUrl, events: ["job.succeeded"], description: "docs" };
    const created = await call("POST", "/api/webhooks/", {}, { body });
    expect(created.status).toBe(201);
    const webhook_id = created.body.id;
    expect((await call("GET", "/api/webhooks/")).status).toBe(200);
    // A job that ends, so the endpoint has a delivery to show.
    const target_id = await c.target("docs-webhooks");
    await c.waitStatus(target_id, await c.job(target_id, "echo", { n: 1 }), "success");
    const log = await poll(
      async () => {
        const r = await call("GET", `${W}/deliveries/`, { webhook_id });
        return r.body[0]?.status === "delivered" ? r : undefined;
      },
      { label: "the delivery" },
    );
    expect(log.status).toBe(200);
    expectCode(
      await call("POST", "/api/webhooks/", {}, { body: { ...body, url: "ftp://example.com/" } }),
      422,
      "request.invalid",
    );
    expectCode(await call("GET", `${W}/deliveries/`, { webhook_id: NONE }), 404, "webhook.not_found");
    expect((await call("DELETE", W, { webhook_id })).status).toBe(200);
    expectCode(await call("DELETE", W, { webhook_id }), 404, "webhook.not_found");
  });

  it("answers a route that does not exist in the error shape", async () => {
    const r = await t.api(c.key, "GET", "/api/targets");
    expect(r.status).toBe(404);
    expect(d.checkError(r.body)).toEqual([]);
    expect(r.body.code).toBe("route.not_found");
  });

  it("has called every operation but the HTML pages with success", () => {
    const pages = ["/api/docs", "/api/console"];
    const operations = d.operations().filter(({ path }) => !pages.includes(path));
    expect(operations).toHaveLength(apiRoutes.length - pages.length);
    expect([...answered].sort()).toEqual(operations.map(({ op }) => op.operationId).sort());
  });
});
