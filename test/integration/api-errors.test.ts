// Every error status the API answers, each with its JSON {detail, code} body, and with the proof
// that nothing was written: row counts of the tables the request could have touched, before and after.
import { randomUUID } from "node:crypto";
import {
  apiKeys,
  jobHttpExchanges,
  jobLogs,
  jobs,
  targets,
  tenants,
  webhookWorkers,
  workerJobTypes,
} from "@switchyard/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, startTestApp, type TestApp } from "../support/app.ts";
import { jobPath, newTenant } from "../support/client.ts";
import { jobRow } from "../support/rows.ts";

let t: TestApp;
let key: string;
/** A target with a failed job and an echo job waiting behind it: nothing runs on it, so nothing changes by itself. */
let blocked: { targetId: string; failedId: string; queuedId: string };
/** A finished echo job. */
let done: { targetId: string; jobId: string };

beforeAll(async () => {
  t = await startTestApp();
  const c = await newTenant(t);
  key = c.key;
  const targetId = await c.target("blocked");
  const failedId = await c.job(targetId, "fail");
  await c.waitStatus(targetId, failedId, "error");
  const queuedId = await c.job(targetId, "echo");
  blocked = { targetId, failedId, queuedId };
  const doneTarget = await c.target("done");
  const doneJob = await c.job(doneTarget, "echo");
  await c.waitStatus(doneTarget, doneJob, "success");
  done = { targetId: doneTarget, jobId: doneJob };
});

afterAll(() => t?.stop());

async function counts() {
  const db = t.database.db;
  return {
    jobs: await db.$count(jobs),
    targets: await db.$count(targets),
    job_logs: await db.$count(jobLogs),
    job_http_exchanges: await db.$count(jobHttpExchanges),
    tenants: await db.$count(tenants),
    api_keys: await db.$count(apiKeys),
    webhook_workers: await db.$count(webhookWorkers),
    worker_job_types: await db.$count(workerJobTypes),
  };
}

/** Every row of jobs and targets, for requests that could update rather than insert. */
async function rows() {
  const db = t.database.db;
  return {
    jobs: await db.select().from(jobs).orderBy(jobs.seq),
    targets: await db.select().from(targets).orderBy(targets.createdAt),
  };
}

/** Runs the requests and checks that nothing was inserted or updated. */
async function nothingWritten(requests: () => Promise<void>) {
  const before = { counts: await counts(), rows: await rows() };
  await requests();
  expect(await counts()).toEqual(before.counts);
  expect(await rows()).toEqual(before.rows);
}

function expectError(r: ApiResponse, status: number, code: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  expect(r.body).toEqual(
    expect.objectContaining({ detail: expect.stringMatching(/\S/), code }) as Record<string, unknown>,
  );
}

/** Raw requests, for bodies and headers the harness helper does not make. */
function raw(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  return fetch(`${t.apiUrl}${path}`, { method, body: init.body, headers: { "x-api-key": key, ...init.headers } });
}

async function rawError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { detail: string; code: string };
  expect(body.code).toBe(code);
  expect(body.detail).toMatch(/\S/);
}

describe("400", () => {
  it("unknown api_name: job.unknown_type", async () => {
    await nothingWritten(async () => {
      const r = await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, { api_name: "no-such-type" });
      expectError(r, 400, "job.unknown_type");
      expect(r.body.detail).toContain("'no-such-type'");
    });
  });

  it("parameters the job type's schema refuses: job.invalid_parameters with the issues", async () => {
    await nothingWritten(async () => {
      const negative = await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, {
        api_name: "sleep",
        parameters: { ms: -1 },
      });
      expectError(negative, 400, "job.invalid_parameters");
      expect(negative.body.errors).toEqual([{ path: "/ms", message: expect.any(String) }]);
      const missing = await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, {
        api_name: "sleep",
        parameters: {},
      });
      expectError(missing, 400, "job.invalid_parameters");
      const extra = await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, {
        api_name: "sleep",
        parameters: { ms: 1, extra: true },
      });
      expectError(extra, 400, "job.invalid_parameters");
    });
  });

  it("malformed JSON: request.malformed_json", async () => {
    await nothingWritten(async () => {
      expectError(await t.api(key, "POST", "/api/targets/", '{"name": '), 400, "request.malformed_json");
      expectError(
        await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, "{api_name: echo}"),
        400,
        "request.malformed_json",
      );
      expectError(
        await t.api(key, "POST", `${jobPath(blocked.targetId, blocked.failedId)}/resolve/`, "[1,"),
        400,
        "request.malformed_json",
      );
    });
  });
});

describe("401", () => {
  it("no key: auth.missing_key, and nothing is written", async () => {
    await nothingWritten(async () => {
      expectError(await t.api("", "GET", "/api/jobs/"), 401, "auth.missing_key");
      expectError(await t.api("", "POST", "/api/targets/", { name: "x" }), 401, "auth.missing_key");
      expectError(
        await t.api("", "POST", `/api/targets/${done.targetId}/jobs/`, { api_name: "echo" }),
        401,
        "auth.missing_key",
      );
      expectError(
        await t.api("", "POST", `${jobPath(blocked.targetId, blocked.queuedId)}/cancel/`),
        401,
        "auth.missing_key",
      );
    });
  });

  it("a wrong key, in the header or the query: auth.invalid_key", async () => {
    await nothingWritten(async () => {
      expectError(await t.api("sy_not-a-key", "GET", "/api/targets/"), 401, "auth.invalid_key");
      expectError(await t.api(`${key}x`, "POST", "/api/targets/", { name: "x" }), 401, "auth.invalid_key");
      expectError(await t.api("", "GET", "/api/targets/?api_key=sy_wrong"), 401, "auth.invalid_key");
      expectError(
        await t.api("sy_wrong", "POST", `${jobPath(blocked.targetId, blocked.failedId)}/resume/`),
        401,
        "auth.invalid_key",
      );
      // The admin key is not a tenant key.
      expectError(await t.api(t.adminKey, "GET", "/api/jobs/"), 401, "auth.invalid_key");
      expectError(
        await t.api("", "GET", "/api/jobs/", undefined, { "x-admin-key": t.adminKey }),
        401,
        "auth.missing_key",
      );
    });
  });

  it("the key in the api_key query parameter works", async () => {
    const list = await t.api("", "GET", `/api/targets/?api_key=${encodeURIComponent(key)}`);
    expect(list.status).toBe(200);
    expect(list.body.map((x: { id: string }) => x.id)).toContain(done.targetId);
    const jobsPage = await t.api("", "GET", `/api/jobs/?api_key=${encodeURIComponent(key)}&limit=1`);
    expect(jobsPage.status).toBe(200);
    expect(jobsPage.body.total_count).toBeGreaterThanOrEqual(3);
    expect(jobsPage.body.jobs).toHaveLength(1);
    const created = await t.api("", "POST", `/api/targets/?api_key=${encodeURIComponent(key)}`, { name: "via-query" });
    expect(created.status).toBe(201);
    // It is not kept as metadata of the target.
    expect(created.body.metadata).toEqual({});
  });

  it("admin routes without the admin key, with a wrong one or with a tenant key", async () => {
    const tenant = await t.tenant();
    const [worker] = await t.database.db.select().from(webhookWorkers);
    const routes: Array<[string, string, unknown?]> = [
      ["POST", "/api/admin/tenants/", { name: "intruder" }],
      ["GET", "/api/admin/tenants/"],
      ["POST", `/api/admin/tenants/${tenant.id}/keys/`],
      ["POST", "/api/admin/workers/", { name: "evil", url: t.workerUrl, secret: t.signingSecret }],
      ["GET", "/api/admin/workers/"],
      ["DELETE", `/api/admin/workers/${worker?.id}`],
    ];
    await nothingWritten(async () => {
      for (const [method, path, body] of routes) {
        expectError(await t.api("", method, path, body), 401, "auth.missing_key");
        expectError(await t.api("", method, path, body, { "x-admin-key": `${t.adminKey}x` }), 401, "auth.invalid_key");
        expectError(await t.api("", method, path, body, { "x-admin-key": "" }), 401, "auth.missing_key");
        expectError(await t.api(tenant.key, method, path, body), 401, "auth.missing_key");
        expectError(await t.api("", method, path, body, { "x-admin-key": tenant.key }), 401, "auth.invalid_key");
      }
    });
    // The same requests with the admin key pass.
    const ok = await t.api("", "GET", "/api/admin/workers/", undefined, { "x-admin-key": t.adminKey });
    expect(ok.status).toBe(200);
  });
});

describe("404", () => {
  it("unknown target on every target route: target.not_found", async () => {
    const id = randomUUID();
    await nothingWritten(async () => {
      const requests: Array<[string, string, unknown?]> = [
        ["GET", `/api/targets/${id}`],
        ["PUT", `/api/targets/${id}`, { name: "renamed" }],
        ["DELETE", `/api/targets/${id}`],
        ["GET", `/api/targets/${id}/jobs/`],
        ["POST", `/api/targets/${id}/jobs/`, { api_name: "echo" }],
        ["GET", jobPath(id, done.jobId)],
        ["GET", `${jobPath(id, done.jobId)}/logs/`],
        ["GET", `${jobPath(id, done.jobId)}/http_exchanges/`],
        ["POST", `${jobPath(id, blocked.queuedId)}/cancel/`],
        ["POST", `${jobPath(id, blocked.queuedId)}/interrupt/`],
        ["POST", `${jobPath(id, blocked.failedId)}/resume/`],
        ["POST", `${jobPath(id, blocked.failedId)}/resolve/`, {}],
      ];
      for (const [method, path, body] of requests) {
        const r = await t.api(key, method, path, body);
        expectError(r, 404, "target.not_found");
        expect(r.body.detail).toBe(`Target not found: ${id}`);
      }
    });
  });

  it("unknown job on a known target: job.not_found", async () => {
    const id = randomUUID();
    const tg = blocked.targetId;
    await nothingWritten(async () => {
      const requests: Array<[string, string, unknown?]> = [
        ["GET", jobPath(tg, id)],
        ["GET", `${jobPath(tg, id)}/logs/`],
        ["GET", `${jobPath(tg, id)}/http_exchanges/`],
        ["POST", `${jobPath(tg, id)}/cancel/`],
        ["POST", `${jobPath(tg, id)}/interrupt/`],
        ["POST", `${jobPath(tg, id)}/resume/`],
        ["POST", `${jobPath(tg, id)}/resolve/`, { x: 1 }],
      ];
      for (const [method, path, body] of requests) {
        const r = await t.api(key, method, path, body);
        expectError(r, 404, "job.not_found");
        expect(r.body.detail).toBe(`Job not found: ${id}`);
      }
    });
  });

  it("unknown tenant and worker on admin routes", async () => {
    const admin = { "x-admin-key": t.adminKey };
    await nothingWritten(async () => {
      expectError(
        await t.api("", "POST", `/api/admin/tenants/${randomUUID()}/keys/`, undefined, admin),
        404,
        "tenant.not_found",
      );
      expectError(
        await t.api("", "DELETE", `/api/admin/workers/${randomUUID()}`, undefined, admin),
        404,
        "worker.not_found",
      );
    });
  });

  it("paths match exactly: a missing or extra trailing slash is not a route", async () => {
    await nothingWritten(async () => {
      expect((await t.api(key, "GET", "/api/jobs")).status).toBe(404);
      expect((await t.api(key, "GET", `${jobPath(done.targetId, done.jobId)}/`)).status).toBe(404);
      expect((await t.api(key, "POST", `${jobPath(blocked.targetId, blocked.queuedId)}/cancel`)).status).toBe(404);
      expect((await t.api(key, "POST", `/api/targets/${done.targetId}/jobs`, { api_name: "echo" })).status).toBe(404);
    });
  });

  it("a method and path no route has: route.not_found, in the error shape, with or without a key or body", async () => {
    await nothingWritten(async () => {
      const cases: Array<[string, string, string, unknown?]> = [
        [key, "GET", "/api/jobs"],
        ["", "GET", "/api/nowhere"],
        [key, "PATCH", "/api/targets/"],
        [key, "POST", "/api/jobs/", { api_name: "echo" }],
        ["", "GET", "/api/targets/%E0%A4%A/jobs/"],
      ];
      for (const [k, method, path, body] of cases) {
        const r = await t.api(k, method, path, body);
        expectError(r, 404, "route.not_found");
        expect(r.body.detail).toMatch(/^No route for [A-Z]+ \/api\/.*; the routes are in \/api\/openapi\.json$/);
      }
    });
  });
});

describe("CORS, as API Gateway answers it", () => {
  const origin = { origin: "https://console.example.com" };

  it("answers a preflight with the methods and headers the routes use", async () => {
    const r = await fetch(`${t.apiUrl}/api/targets/`, {
      method: "OPTIONS",
      headers: { ...origin, "access-control-request-method": "POST", "access-control-request-headers": "x-api-key" },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(r.headers.get("access-control-allow-methods")).toBe("GET,POST,PUT,DELETE");
    expect(r.headers.get("access-control-allow-headers")).toBe("content-type,x-api-key,x-admin-key,idempotency-key");
    expect(r.headers.get("access-control-max-age")).toBe("86400");
  });

  it("lets a browser read answers and their headers, errors included", async () => {
    const ok = await t.api(key, "GET", "/api/jobs/", undefined, origin);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe("*");
    expect(ok.headers.get("access-control-expose-headers")).toBe("retry-after,idempotent-replayed,x-total-count");
    const refused = await t.api("", "GET", "/api/jobs/", undefined, origin);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    // Without an Origin (not a browser), nothing is added.
    expect((await t.api(key, "GET", "/api/jobs/")).headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("409", () => {
  it("an illegal transition: job.illegal_transition, nothing changes", async () => {
    await nothingWritten(async () => {
      for (const action of ["cancel", "interrupt", "resume"]) {
        const r = await t.api(key, "POST", `${jobPath(done.targetId, done.jobId)}/${action}/`);
        expectError(r, 409, "job.illegal_transition");
        expect(r.body.errors).toMatchObject({ status: "success", action });
      }
      const resolve = await t.api(key, "POST", `${jobPath(done.targetId, done.jobId)}/resolve/`, { a: 1 });
      expectError(resolve, 409, "job.illegal_transition");
      const interruptFailed = await t.api(key, "POST", `${jobPath(blocked.targetId, blocked.failedId)}/interrupt/`);
      expectError(interruptFailed, 409, "job.illegal_transition");
      expect(interruptFailed.body.errors).toEqual({
        status: "error",
        action: "interrupt",
        allowed_from: ["pending", "queued", "running"],
      });
    });
  });
});

describe("413", () => {
  it("a body over 256 KiB: request.too_large", async () => {
    const big = "x".repeat(256 * 1024);
    await nothingWritten(async () => {
      expectError(
        await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, { api_name: "echo", parameters: { big } }),
        413,
        "request.too_large",
      );
      expectError(await t.api(key, "POST", "/api/targets/", { name: "big", notes: big }), 413, "request.too_large");
      expectError(
        await t.api(key, "POST", `${jobPath(blocked.targetId, blocked.failedId)}/resolve/`, { big }),
        413,
        "request.too_large",
      );
    });
    // Just under the limit is accepted.
    const under = await t.api(key, "POST", "/api/targets/", { name: "under", notes: "y".repeat(250 * 1024) });
    expect(under.status).toBe(201);
  });
});

describe("415", () => {
  it("a body that is not JSON by its content type: request.unsupported_media_type", async () => {
    await nothingWritten(async () => {
      const body = JSON.stringify({ name: "plain" });
      expectError(
        await t.api(key, "POST", "/api/targets/", body, { "content-type": "text/plain" }),
        415,
        "request.unsupported_media_type",
      );
      expectError(
        await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, JSON.stringify({ api_name: "echo" }), {
          "content-type": "application/x-www-form-urlencoded",
        }),
        415,
        "request.unsupported_media_type",
      );
      // fetch sends a string body as text/plain when no type is given.
      await rawError(await raw("POST", "/api/targets/", { body }), 415, "request.unsupported_media_type");
    });
    // application/json with a charset, and +json types, are JSON.
    const charset = await t.api(
      key,
      "POST",
      "/api/targets/",
      { name: "charset" },
      {
        "content-type": "application/json; charset=utf-8",
      },
    );
    expect(charset.status).toBe(201);
  });

  it("a body sent to a route that takes none, and the action is not applied", async () => {
    await nothingWritten(async () => {
      const { targetId, queuedId, failedId } = blocked;
      for (const path of [
        `${jobPath(targetId, queuedId)}/cancel/`,
        `${jobPath(targetId, queuedId)}/interrupt/`,
        `${jobPath(targetId, failedId)}/resume/`,
      ]) {
        const r = await t.api(key, "POST", path, {});
        expectError(r, 415, "request.unsupported_media_type");
        expect(r.body.detail).toBe("This route takes no request body");
      }
      expectError(
        await t.api(key, "DELETE", `/api/targets/${done.targetId}`, {}),
        415,
        "request.unsupported_media_type",
      );
      expectError(
        await t.api("", "POST", `/api/admin/tenants/${randomUUID()}/keys/`, { x: 1 }, { "x-admin-key": t.adminKey }),
        415,
        "request.unsupported_media_type",
      );
    });
    const queued = await jobRow(t.database.db, blocked.queuedId);
    expect(queued?.status).toBe("queued");
  });
});

describe("422", () => {
  it("a path parameter that is not a UUID: request.invalid with its location", async () => {
    await nothingWritten(async () => {
      const target = await t.api(key, "GET", "/api/targets/not-a-uuid");
      expectError(target, 422, "request.invalid");
      expect(target.body.errors).toEqual([{ loc: ["path", "target_id"], msg: "target_id must be a UUID" }]);
      const create = await t.api(key, "POST", "/api/targets/123/jobs/", { api_name: "echo" });
      expectError(create, 422, "request.invalid");
      const job = await t.api(key, "GET", jobPath(done.targetId, "42"));
      expectError(job, 422, "request.invalid");
      expect(job.body.errors).toEqual([{ loc: ["path", "job_id"], msg: "job_id must be a UUID" }]);
      expectError(await t.api(key, "POST", `${jobPath(done.targetId, "x")}/cancel/`), 422, "request.invalid");
      expectError(await t.api(key, "PUT", "/api/targets/zzz", { name: "n" }), 422, "request.invalid");
      expectError(
        await t.api("", "DELETE", "/api/admin/workers/nope", undefined, { "x-admin-key": t.adminKey }),
        422,
        "request.invalid",
      );
    });
  });

  it("bad query parameters: request.invalid", async () => {
    for (const query of [
      "limit=abc",
      "limit=0",
      "limit=1001",
      "limit=1.5",
      "offset=-1",
      "status=bogus",
      "target_id=nope",
    ]) {
      const r = await t.api(key, "GET", `/api/jobs/?${query}`);
      expectError(r, 422, "request.invalid");
      expect(r.body.errors[0].loc).toEqual(["query", query.split("=")[0]]);
    }
    expectError(await t.api(key, "GET", `/api/targets/${done.targetId}/jobs/?limit=abc`), 422, "request.invalid");
    expectError(await t.api(key, "GET", `/api/targets/${done.targetId}/jobs/?offset=x`), 422, "request.invalid");
    expectError(await t.api(key, "GET", "/api/targets/?include_archived=maybe"), 422, "request.invalid");
  });

  it("bodies that do not match the route's schema", async () => {
    await nothingWritten(async () => {
      const noName = await t.api(key, "POST", "/api/targets/", { type: "vnc" });
      expectError(noName, 422, "request.invalid");
      expect(noName.body.errors[0].loc).toEqual(["body", "name"]);
      expectError(await t.api(key, "POST", "/api/targets/", { name: "  " }), 422, "request.invalid");
      expectError(await t.api(key, "POST", "/api/targets/", [{ name: "a" }]), 422, "request.invalid");
      expectError(await t.api(key, "PUT", `/api/targets/${done.targetId}`, { name: 5 }), 422, "request.invalid");
      const noApiName = await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, { parameters: {} });
      expectError(noApiName, 422, "request.invalid");
      expect(noApiName.body.errors[0].loc).toEqual(["body", "api_name"]);
      expectError(
        await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, { api_name: "echo", parameters: [1] }),
        422,
        "request.invalid",
      );
      expectError(
        await t.api(key, "POST", `/api/targets/${done.targetId}/jobs/`, { api_name: "echo", status: "bogus" }),
        422,
        "request.invalid",
      );
      expectError(
        await t.api(key, "POST", `${jobPath(blocked.targetId, blocked.failedId)}/resolve/`, ["not", "an", "object"]),
        422,
        "request.invalid",
      );
      // A JSON content type with no body at all.
      await rawError(
        await raw("POST", `${jobPath(blocked.targetId, blocked.failedId)}/resolve/`, {
          headers: { "content-type": "application/json" },
        }),
        422,
        "request.invalid",
      );
      const admin = { "x-admin-key": t.adminKey };
      expectError(await t.api("", "POST", "/api/admin/tenants/", { name: "" }, admin), 422, "request.invalid");
      expectError(
        await t.api("", "POST", "/api/admin/workers/", { name: "w", url: "ftp://x", secret: "s" }, admin),
        422,
        "request.invalid",
      );
    });
  });
});
