// The queue and operations routes: queue status, diagnostics, the OpenAPI document, and resync
// (Postgres reconciled with Hatchet) with nothing wrong and with runs Hatchet does not have.
import { randomUUID } from "node:crypto";
import { jobs } from "@switchyard/db";
import { HatchetRest, hatchetSettingsFromEnv } from "@switchyard/hatchet";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRoutes } from "../../infra/routes.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { jobPath, newTenant, type TenantClient } from "../support/client.ts";
import { waitRunState } from "../support/hatchet.ts";
import { poll } from "../support/poll.ts";
import { jobRow, waitFirstAttemptFinished } from "../support/rows.ts";

let t: TestApp;
let hatchet: HatchetRest;
const tenants: TenantClient[] = [];

beforeAll(async () => {
  t = await startTestApp();
  hatchet = new HatchetRest(hatchetSettingsFromEnv(t.env));
});

afterAll(async () => {
  if (!t) return;
  for (const c of tenants) await c.cancelRunning();
  await t.stop();
});

/** A new tenant, whose running jobs are cancelled when the file ends. */
async function tenant() {
  const c = await newTenant(t);
  tenants.push(c);
  return c;
}

/** Three targets: idle; running a long sleep; blocked by a failed job with an echo job waiting. */
async function busyTenant() {
  const c = await tenant();
  const idle = await c.target("idle");
  const busy = await c.target("busy");
  const blocked = await c.target("blocked");
  const running = await c.job(busy, "sleep", { ms: 600_000 });
  const failed = await c.job(blocked, "fail", { message: "down" });
  await c.waitStatus(busy, running, "running");
  await c.waitStatus(blocked, failed, "error");
  const queued = await c.job(blocked, "echo");
  return { key: c.key, idle, busy, blocked, running, failed, queued };
}

describe("GET /api/jobs/queue/status", () => {
  it("answers per-target counts, the legacy fields and Hatchet's reachability", async () => {
    const w = await busyTenant();
    const r = await t.api(w.key, "GET", "/api/jobs/queue/status");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      queue_size: 1,
      queued_in_db: 1,
      running_jobs_count: 1,
      running_job: w.running,
      is_processor_running: true,
      queue_type: "hatchet",
      blocked_targets: 1,
      hatchet: { reachable: true, queues: expect.any(Object) },
    });
    expect(r.body.targets).toEqual([
      {
        target_id: w.idle,
        name: "idle",
        queued: 0,
        dispatched: 0,
        running: 0,
        blocked: false,
        blocking_jobs_count: 0,
        oldest_queued_seconds: null,
      },
      {
        target_id: w.busy,
        name: "busy",
        queued: 0,
        dispatched: 0,
        running: 1,
        blocked: false,
        blocking_jobs_count: 0,
        oldest_queued_seconds: null,
      },
      {
        target_id: w.blocked,
        name: "blocked",
        queued: 1,
        dispatched: 0,
        running: 0,
        blocked: true,
        blocking_jobs_count: 1,
        oldest_queued_seconds: expect.any(Number),
      },
    ]);
    expect(r.body.targets[2].oldest_queued_seconds).toBeGreaterThanOrEqual(0);
  });

  it("answers an empty view for a tenant without targets", async () => {
    const c = await tenant();
    const r = await c.api("GET", "/api/jobs/queue/status");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ queue_size: 0, running_jobs_count: 0, running_job: null, targets: [] });
  });
});

describe("GET /api/diagnostics", () => {
  it("reports Postgres, Hatchet, what delivers runs and the webhook workers", async () => {
    const c = await tenant();
    const r = await poll(
      async () => {
        const res = await c.api("GET", "/api/diagnostics");
        return res.status === 200 && res.body.delivery?.ok === true ? res : undefined;
      },
      { timeoutMs: 30_000, label: "the engine's operator reported ok" },
    );
    expect(r.body.postgres).toEqual({ ok: true, version: expect.any(String), latency_ms: expect.any(Number) });
    expect(r.body.hatchet).toEqual({
      ok: true,
      version: expect.stringMatching(/\d+\.\d+/),
      latency_ms: expect.any(Number),
    });
    // Direct mode: the engine's HTTP operator for this file's worker.
    expect(r.body.delivery).toEqual({
      mode: "direct",
      ok: true,
      active_workers: 1,
      last_heartbeat_at: expect.stringMatching(/\+00:00$/),
      last_sweep_seconds_ago: expect.any(Number),
    });
    expect(r.body.webhook_workers).toContainEqual({
      name: "local",
      healthy: true,
      last_checked_at: expect.stringMatching(/\+00:00$/),
      last_error: null,
    });
    expect(r.body.lag).toEqual({
      oldest_waiting_job_seconds: expect.toBeOneOf([null, expect.any(Number)]),
      oldest_handed_over_job_seconds: expect.toBeOneOf([null, expect.any(Number)]),
    });
    expect(r.body.versions).toEqual({ node: process.version });
  });

  // Product bug: the probe reads column `v` of `show server_version`, whose column is
  // `server_version`, so the version is always "unknown".
  it("reports Postgres's server version", async () => {
    const c = await tenant();
    const r = await c.api("GET", "/api/diagnostics");
    expect(r.body.postgres.ok).toBe(true);
    expect(r.body.postgres.version).toMatch(/^\d+(\.\d+)?/);
  });

  it("needs a tenant key", async () => {
    const r = await t.api("", "GET", "/api/diagnostics");
    expect(r.status).toBe(401);
    expect(r.body.code).toBe("auth.missing_key");
  });
});

describe("GET /api/openapi.json", () => {
  it("is an OpenAPI 3.1 document with every route, served without a key", async () => {
    const r = await t.api("", "GET", "/api/openapi.json");
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe("3.1.0");
    const documented = Object.entries(r.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(apiRoutes.map((x) => `${x.method} ${x.path}`).sort());
    for (const route of apiRoutes) {
      const op = r.body.paths[route.path][route.method.toLowerCase()];
      expect(op.summary, `${route.method} ${route.path}`).toMatch(/\S/);
      const expected = { tenant: [{ apiKey: [] }, { apiKeyQuery: [] }], admin: [{ adminKey: [] }], none: [] }[
        route.auth
      ];
      expect(op.security).toEqual(expected);
      for (const name of route.path.match(/\{(\w+)\}/g) ?? []) {
        expect(op.parameters).toContainEqual(
          expect.objectContaining({ name: name.slice(1, -1), in: "path", required: true }),
        );
      }
    }
    expect(r.body.components.securitySchemes).toMatchObject({
      apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      apiKeyQuery: { type: "apiKey", in: "query", name: "api_key" },
      adminKey: { type: "apiKey", in: "header", name: "X-Admin-Key" },
    });
  });

  it("describes the create-job body and the list query", async () => {
    const r = await t.api("", "GET", "/api/openapi.json");
    const create = r.body.paths["/api/targets/{target_id}/jobs/"].post;
    expect(create.requestBody.required).toBe(true);
    const schema = create.requestBody.content["application/json"].schema;
    expect(schema.type).toBe("object");
    expect(schema.required).toEqual(["api_name"]);
    expect(Object.keys(schema.properties).sort()).toEqual(["api_name", "parameters", "status"]);
    expect(schema.properties.status.enum).toContain("queued");
    const list = r.body.paths["/api/jobs/"].get;
    expect(list.requestBody).toBeUndefined();
    expect(list.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      "api_name",
      "limit",
      "offset",
      "status",
      "target_id",
    ]);
    expect(list.parameters.every((p: { required: boolean }) => p.required === false)).toBe(true);
  });
});

describe("POST /api/jobs/queue/resync", () => {
  it("reports no repairs when Postgres and Hatchet agree", async () => {
    const w = await busyTenant();
    const before = await jobRow(t.database.db, w.running);
    // Hatchet's run status can trail the run by a moment; resync compares against it.
    await waitRunState(hatchet, before.hatchetRunId ?? "", "RUNNING");
    const r = await t.api(w.key, "POST", "/api/jobs/queue/resync");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ message: "Postgres and Hatchet agree", checked_jobs: 1, repairs: [] });
    const after = await jobRow(t.database.db, w.running);
    expect(after.status).toBe("running");
    expect(after.updatedAt.getTime()).toBe(before.updatedAt.getTime());
    expect((await jobRow(t.database.db, w.queued)).status).toBe("queued");
  });

  it("re-dispatches a handed-over job whose run Hatchet does not have; the job then runs", async () => {
    const c = await tenant();
    const targetId = await c.target("lost-run");
    const failed = await c.job(targetId, "fail");
    await c.waitStatus(targetId, failed, "error");
    const jobId = await c.job(targetId, "echo", { lost: true });
    // Simulate a hand-over whose run Hatchet lost: the job holds a run id Hatchet never had.
    const lostRun = randomUUID();
    // Handed over a minute ago: resync trusts Hatchet's "no such run" only past its 30 s grace.
    await t.database.db
      .update(jobs)
      .set({ hatchetRunId: lostRun, dispatchedAt: sql`now() - interval '1 minute'` })
      .where(eq(jobs.id, jobId));
    expect(await hatchet.runState(lostRun)).toBe("NOT_FOUND");
    // Unblocking the target does not start it: it counts as in flight.
    expect((await c.api("POST", `${jobPath(targetId, failed)}/cancel/`)).status).toBe(200);
    const stuck = await jobRow(t.database.db, jobId);
    expect(stuck).toMatchObject({ status: "queued", hatchetRunId: lostRun });

    const r = await c.api("POST", "/api/jobs/queue/resync");
    expect(r.status).toBe(200);
    expect(r.body.checked_jobs).toBe(1);
    expect(r.body.message).toMatch(/^Repaired \d+ disagreement/);
    expect(r.body.repairs).toContainEqual({
      job_id: jobId,
      target_id: targetId,
      action: "redispatched",
      reason: "run missing in Hatchet",
    });
    const done = await c.waitStatus(targetId, jobId, "success");
    expect(done.result).toEqual({ lost: true });
    expect(done.hatchet_run_id).not.toBe(lostRun);
    const logs = await c.api("GET", `${jobPath(targetId, jobId)}/logs/`);
    expect(logs.body.map((l: { content: unknown }) => l.content)).toContain(
      `resync: Hatchet has no run ${lostRun}; the job goes back to waiting`,
    );
  });

  it("fails a running job whose run Hatchet does not know", async () => {
    const c = await tenant();
    const targetId = await c.target("lost-running");
    // Long enough to still run when resync looks, short enough to end on its own.
    const jobId = await c.job(targetId, "sleep", { ms: 8000 });
    await c.waitStatus(targetId, jobId, "running");
    const realRun = (await jobRow(t.database.db, jobId)).hatchetRunId;
    if (!realRun) throw new Error("a running job has a run id");
    await waitRunState(hatchet, realRun, "RUNNING");
    await t.database.db
      .update(jobs)
      .set({ hatchetRunId: randomUUID(), dispatchedAt: sql`now() - interval '1 minute'` })
      .where(eq(jobs.id, jobId));

    const r = await c.api("POST", "/api/jobs/queue/resync");
    expect(r.status).toBe(200);
    expect(r.body.repairs).toEqual([
      { job_id: jobId, target_id: targetId, action: "failed", reason: "Hatchet lost the run" },
    ]);
    const failed = await c.api("GET", jobPath(targetId, jobId));
    expect(failed.body).toMatchObject({ status: "error", error: "resync: Hatchet lost the run" });
    expect(failed.body.completed_at).toMatch(/\+00:00$/);
    const target = await c.api("GET", `/api/targets/${targetId}`);
    expect(target.body.queue_status).toBe("paused");

    // The run Hatchet does have is withdrawn through its REST API; the job keeps its verdict. The
    // run may already have ended on its own and be reported COMPLETED before the cancel arrives
    // (seen in full runs on a busy machine, and once alone).
    await hatchet.cancel(realRun);
    await waitRunState(hatchet, realRun, ["CANCELLED", "COMPLETED"]);
    // The worker's executor ends with its sleep; its late answer does not overwrite the job.
    await waitFirstAttemptFinished(t.database.db, jobId);
    const row = await jobRow(t.database.db, jobId);
    expect(row.status).toBe("error");
    expect(row.error).toBe("resync: Hatchet lost the run");
    const again = await c.api("POST", "/api/jobs/queue/resync");
    expect(again.body).toEqual({ message: "Postgres and Hatchet agree", checked_jobs: 0, repairs: [] });
  });

  // An attempt that no longer owns the job (here: resync failed the job while the worker still
  // ran it) must leave no completion log contradicting the job's status.
  it("writes no completion log for an attempt that no longer owns the job", async () => {
    const c = await tenant();
    const targetId = await c.target("late-answer");
    const jobId = await c.job(targetId, "sleep", { ms: 4000 });
    await c.waitStatus(targetId, jobId, "running");
    await t.database.db
      .update(jobs)
      .set({ hatchetRunId: randomUUID(), dispatchedAt: sql`now() - interval '1 minute'` })
      .where(eq(jobs.id, jobId));
    const r = await c.api("POST", "/api/jobs/queue/resync");
    expect(r.body.repairs).toContainEqual(expect.objectContaining({ job_id: jobId, action: "failed" }));
    await waitFirstAttemptFinished(t.database.db, jobId);
    expect((await jobRow(t.database.db, jobId)).status).toBe("error");
    const logs = await c.api("GET", `${jobPath(targetId, jobId)}/logs/`);
    expect(logs.body.map((l: { content: unknown }) => l.content)).not.toContain("Job completed with status: success");
  });
});
