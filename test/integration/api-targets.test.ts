// The target routes: CRUD, legacy-use's create body with its connection settings, the queue
// fields derived from the target's jobs, and delete as archive refused while jobs wait or run.
import { targets } from "@switchyard/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { ISO_TIMESTAMP, jobPath, newTenant, type TenantClient } from "../support/client.ts";
import { jobRow } from "../support/rows.ts";

let t: TestApp;
let key: string;
/** The file's tenant. */
let c: TenantClient;

beforeAll(async () => {
  t = await startTestApp();
  c = await newTenant(t);
  key = c.key;
});

afterAll(async () => {
  if (!t) return;
  await c?.cancelRunning();
  await t.stop();
});

const LEGACY = { name: "vm", type: "vnc", host: "10.0.0.9", vnc_port: 5900, password: "x", width: 1024 };

async function runningJob(targetId: string) {
  const jobId = await c.job(targetId, "sleep", { ms: 600_000 });
  await c.waitStatus(targetId, jobId, "running");
  return jobId;
}

const getTarget = async (id: string) => {
  const r = await t.api(key, "GET", `/api/targets/${id}`);
  expect(r.status).toBe(200);
  return r.body;
};

describe("create, get, list, update", () => {
  it("creates a target with defaults and idle queue fields", async () => {
    const r = await t.api(key, "POST", "/api/targets/", { name: "  desk  " });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "desk",
      type: "generic",
      metadata: {},
      is_archived: false,
      created_at: expect.stringMatching(ISO_TIMESTAMP),
      updated_at: expect.stringMatching(ISO_TIMESTAMP),
      queue_status: "running",
      blocking_jobs: [],
      has_blocking_jobs: false,
      blocking_jobs_count: 0,
      queued_jobs_count: 0,
      running_jobs_count: 0,
    });
    const [row] = await t.database.db.select().from(targets).where(eq(targets.id, r.body.id));
    expect(row?.name).toBe("desk");
    expect(await getTarget(r.body.id)).toEqual(r.body);
  });

  it("accepts legacy-use's create body: unknown fields are kept as metadata and echoed", async () => {
    const r = await t.api(key, "POST", "/api/targets/", LEGACY);
    expect(r.status).toBe(201);
    const extra = { host: "10.0.0.9", vnc_port: 5900, password: "x", width: 1024 };
    expect(r.body).toMatchObject({ name: "vm", type: "vnc", metadata: extra, ...extra });
    const [row] = await t.database.db.select().from(targets).where(eq(targets.id, r.body.id));
    expect(row?.metadata).toEqual(extra);
    expect(row?.type).toBe("vnc");
    const got = await getTarget(r.body.id);
    expect(got).toEqual(r.body);
    // The listed target carries the same fields.
    const list = await t.api(key, "GET", "/api/targets/");
    expect(list.body.find((x: { id: string }) => x.id === r.body.id)).toEqual(r.body);
  });

  it("lists the tenant's targets oldest first", async () => {
    const a = await c.target("first");
    const b = await c.target("second");
    const list = await t.api(key, "GET", "/api/targets/");
    expect(list.status).toBe(200);
    const ids = list.body.map((x: { id: string }) => x.id);
    expect(ids.indexOf(a)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(b)).toBe(ids.indexOf(a) + 1);
    const created = list.body.map((x: { created_at: string }) => Date.parse(x.created_at));
    expect(created).toEqual([...created].sort((x: number, y: number) => x - y));
  });

  it("updates name and type and merges other fields into metadata", async () => {
    const created = (await t.api(key, "POST", "/api/targets/", LEGACY)).body;
    const r = await t.api(key, "PUT", `/api/targets/${created.id}`, { name: "vm-2", width: 1280, height: 800 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: created.id,
      name: "vm-2",
      type: "vnc",
      metadata: { host: "10.0.0.9", vnc_port: 5900, password: "x", width: 1280, height: 800 },
      width: 1280,
      height: 800,
      created_at: created.created_at,
    });
    expect(Date.parse(r.body.updated_at)).toBeGreaterThan(Date.parse(created.updated_at));
    const retyped = await t.api(key, "PUT", `/api/targets/${created.id}`, { type: "rdp" });
    expect(retyped.body).toMatchObject({ name: "vm-2", type: "rdp" });
    const [row] = await t.database.db.select().from(targets).where(eq(targets.id, created.id));
    expect(row).toMatchObject({ name: "vm-2", type: "rdp" });
    expect(row?.metadata).toMatchObject({ width: 1280, height: 800 });
  });
});

describe("queue fields", () => {
  it("a paused job pauses the target's queue and is listed as blocking", async () => {
    const targetId = await c.target("paused");
    const jobId = await runningJob(targetId);
    const busy = await getTarget(targetId);
    expect(busy).toMatchObject({ queue_status: "running", running_jobs_count: 1, has_blocking_jobs: false });
    expect((await t.api(key, "POST", `${jobPath(targetId, jobId)}/interrupt/`)).status).toBe(200);
    await c.waitStatus(targetId, jobId, "paused");
    const waiting = await c.job(targetId, "echo");
    const got = await getTarget(targetId);
    expect(got).toMatchObject({
      queue_status: "paused",
      has_blocking_jobs: true,
      blocking_jobs_count: 1,
      queued_jobs_count: 1,
      running_jobs_count: 0,
    });
    expect(got.blocking_jobs).toHaveLength(1);
    expect(got.blocking_jobs[0]).toMatchObject({ id: jobId, status: "paused", error: "Job was interrupted by user" });
    expect(got.blocking_jobs[0]).not.toHaveProperty("lease_owner");
    const listed = (await t.api(key, "GET", "/api/targets/")).body.find((x: { id: string }) => x.id === targetId);
    expect(listed).toMatchObject({ queue_status: "paused", blocking_jobs_count: 1 });
    // Resolving the job resumes the queue: the waiting job runs.
    expect((await t.api(key, "POST", `${jobPath(targetId, jobId)}/resolve/`, { done: true })).status).toBe(200);
    await c.waitStatus(targetId, waiting, "success");
    expect(await getTarget(targetId)).toMatchObject({
      queue_status: "running",
      blocking_jobs: [],
      has_blocking_jobs: false,
      blocking_jobs_count: 0,
      queued_jobs_count: 0,
    });
  });

  it("a failed job pauses the target's queue too", async () => {
    const targetId = await c.target("failed");
    const jobId = await c.job(targetId, "fail", { message: "nope" });
    await c.waitStatus(targetId, jobId, "error");
    const got = await getTarget(targetId);
    expect(got).toMatchObject({ queue_status: "paused", has_blocking_jobs: true, blocking_jobs_count: 1 });
    expect(got.blocking_jobs[0]).toMatchObject({ id: jobId, status: "error", error: "nope" });
  });
});

describe("delete", () => {
  it("archives the target: gone from the list, listed with include_archived=true", async () => {
    const targetId = await c.target("old");
    const done = await c.job(targetId, "echo");
    await c.waitStatus(targetId, done, "success");
    const r = await t.api(key, "DELETE", `/api/targets/${targetId}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ message: `Target ${targetId} archived successfully` });
    const [row] = await t.database.db.select().from(targets).where(eq(targets.id, targetId));
    expect(row?.archivedAt).toBeInstanceOf(Date);
    const active = await t.api(key, "GET", "/api/targets/");
    expect(active.body.map((x: { id: string }) => x.id)).not.toContain(targetId);
    for (const flag of ["true", "1"]) {
      const all = await t.api(key, "GET", `/api/targets/?include_archived=${flag}`);
      expect(all.body.find((x: { id: string }) => x.id === targetId)).toMatchObject({ is_archived: true });
    }
    const explicit = await t.api(key, "GET", "/api/targets/?include_archived=false");
    expect(explicit.body.map((x: { id: string }) => x.id)).not.toContain(targetId);
    // Archived targets still answer, and their jobs keep their history.
    expect(await getTarget(targetId)).toMatchObject({ id: targetId, is_archived: true });
    const history = await t.api(key, "GET", `/api/targets/${targetId}/jobs/`);
    expect(history.body.map((j: { id: string }) => j.id)).toEqual([done]);
    // …but take no new jobs, and the refusal writes nothing.
    const refused = await t.api(key, "POST", `/api/targets/${targetId}/jobs/`, { api_name: "echo", parameters: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("target.archived");
    const after = await t.api(key, "GET", `/api/targets/${targetId}/jobs/`);
    expect(after.body.map((j: { id: string }) => j.id)).toEqual([done]);
    const queue = await t.api(key, "GET", "/api/jobs/queue/status");
    expect(queue.body.targets.map((x: { target_id: string }) => x.target_id)).not.toContain(targetId);
  });

  it("is refused with 409 target.busy while a job runs", async () => {
    const targetId = await c.target("busy");
    const jobId = await runningJob(targetId);
    const r = await t.api(key, "DELETE", `/api/targets/${targetId}`);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: "target.busy", detail: expect.stringContaining("1 queued or running") });
    const [row] = await t.database.db.select().from(targets).where(eq(targets.id, targetId));
    expect(row?.archivedAt).toBeNull();
    expect((await t.api(key, "POST", `${jobPath(targetId, jobId)}/cancel/`)).status).toBe(200);
    await c.waitStatus(targetId, jobId, "canceled");
    expect((await t.api(key, "DELETE", `/api/targets/${targetId}`)).status).toBe(200);
  });

  it("is refused with 409 target.busy while a job is queued; a failed job does not hold it", async () => {
    const targetId = await c.target("queued");
    const failed = await c.job(targetId, "fail");
    await c.waitStatus(targetId, failed, "error");
    const queued = await c.job(targetId, "echo");
    const job = await jobRow(t.database.db, queued);
    expect(job?.status).toBe("queued");
    const r = await t.api(key, "DELETE", `/api/targets/${targetId}`);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe("target.busy");
    expect((await getTarget(targetId)).is_archived).toBe(false);
    expect((await t.api(key, "POST", `${jobPath(targetId, queued)}/cancel/`)).status).toBe(200);
    const ok = await t.api(key, "DELETE", `/api/targets/${targetId}`);
    expect(ok.status).toBe(200);
    expect((await getTarget(targetId)).is_archived).toBe(true);
  });
});
