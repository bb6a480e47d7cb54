// The job routes over HTTP: create, get, both lists, logs, HTTP exchanges and the four actions,
// with every transition of the state machine tried from every status a job can be in.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Jobs } from "@switchyard/core";
import { type Db, jobLogs, jobs } from "@switchyard/db";
import { HatchetRest, hatchetSettingsFromEnv } from "@switchyard/hatchet";
import { and, count, eq, ne } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coreDeps, startTestApp, type TestApp } from "../support/app.ts";
import { ISO_TIMESTAMP, jobPath, newTenant, type TenantClient } from "../support/client.ts";
import { poll } from "../support/poll.ts";
import { jobRow } from "../support/rows.ts";

let t: TestApp;
let key: string;
/** The file's tenant. */
let c: TenantClient;
const keys: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
  c = await newTenant(t, { waitMs: RUN_MS });
  key = c.key;
  keys.push(key);
});

afterAll(async () => {
  if (!t) return;
  // Long sleeps still running would hold the relay's shutdown for its grace period.
  await stopActiveJobs();
  await t.stop();
});

const RUN_MS = 20_000;
const LONG_SLEEP = { ms: 600_000 };

type Status = "pending" | "queued" | "running" | "paused" | "success" | "error" | "canceled";
type Action = "cancel" | "interrupt" | "resume" | "resolve";
const ACTIONS: Action[] = ["cancel", "interrupt", "resume", "resolve"];
const ALLOWED: Record<Status, Action[]> = {
  pending: ["cancel", "interrupt"],
  queued: ["cancel", "interrupt"],
  running: ["cancel", "interrupt"],
  paused: ["cancel", "resume", "resolve"],
  error: ["cancel", "resume", "resolve"],
  success: [],
  canceled: [],
};

function act(targetId: string, jobId: string, action: Action, k = key) {
  return t.api(k, "POST", `${jobPath(targetId, jobId)}/${action}/`, action === "resolve" ? { ok: true } : undefined);
}

async function logCount(jobId: string) {
  const [row] = await t.database.db.select({ n: count() }).from(jobLogs).where(eq(jobLogs.jobId, jobId));
  return row?.n ?? 0;
}

/** The resumed job once `done` holds, or once its new Hatchet run has ended whatever the job says. */
async function afterResume(targetId: string, jobId: string, done: (job: { status: string }) => boolean) {
  const read = () => c.get(targetId, jobId);
  return poll(
    async () => {
      const job = await read();
      if (done(job)) return job;
      if (!job.hatchet_run_id) return undefined;
      const run = await hatchet().runState(job.hatchet_run_id);
      return run === "COMPLETED" || run === "FAILED" || run === "CANCELLED" ? read() : undefined;
    },
    { timeoutMs: RUN_MS, label: `resumed job ${jobId}` },
  );
}

let rest: HatchetRest | undefined;
function hatchet(): HatchetRest {
  rest ??= new HatchetRest(hatchetSettingsFromEnv(t.env));
  return rest;
}

async function stopActiveJobs() {
  for (const k of keys) {
    for (const status of ["queued", "running"]) {
      const r = await t.api(k, "GET", `/api/jobs/?status=${status}&limit=1000`);
      for (const j of r.body?.jobs ?? []) await act(j.target_id, j.id, "cancel", k);
    }
    await poll(
      async () => {
        const r = await t.api(k, "GET", "/api/jobs/?status=running&limit=1");
        return r.body.total_count === 0 ? true : undefined;
      },
      { timeoutMs: RUN_MS, label: "no running jobs" },
    ).catch(() => {});
  }
}

// Jobs in each status, each on a target of its own.
interface Built {
  targetId: string;
  jobId: string;
}

async function runningJob(): Promise<Built> {
  const targetId = await c.target("running");
  const jobId = await c.job(targetId, "sleep", LONG_SLEEP);
  await c.waitStatus(targetId, jobId, "running");
  return { targetId, jobId };
}

async function pausedJob(): Promise<Built> {
  const b = await runningJob();
  expect((await act(b.targetId, b.jobId, "interrupt")).status).toBe(200);
  await c.waitStatus(b.targetId, b.jobId, "paused");
  return b;
}

async function errorJob(): Promise<Built> {
  const targetId = await c.target("error");
  const jobId = await c.job(targetId, "fail", { message: "boom", retryable: false });
  await c.waitStatus(targetId, jobId, "error");
  return { targetId, jobId };
}

async function successJob(): Promise<Built> {
  const targetId = await c.target("success");
  const jobId = await c.job(targetId, "echo", { n: 1 });
  await c.waitStatus(targetId, jobId, "success");
  return { targetId, jobId };
}

/** A job behind a paused one: its target is blocked, so it waits in Postgres. */
async function queuedJob(): Promise<Built & { blockerId: string }> {
  const blocker = await pausedJob();
  const jobId = await c.job(blocker.targetId, "echo", { queued: true });
  const row = await jobRow(t.database.db, jobId);
  expect(row.status).toBe("queued");
  expect(row.dispatchedAt).toBeNull();
  return { targetId: blocker.targetId, jobId, blockerId: blocker.jobId };
}

async function canceledJob(): Promise<Built> {
  const b = await queuedJob();
  expect((await act(b.targetId, b.jobId, "cancel")).status).toBe(200);
  expect((await jobRow(t.database.db, b.jobId)).status).toBe("canceled");
  return b;
}

/** No route creates a pending job (create queues at once); rows from legacy-use's data can be pending. */
async function pendingJob(): Promise<Built> {
  const b = await queuedJob();
  await t.database.db.update(jobs).set({ status: "pending" }).where(eq(jobs.id, b.jobId));
  return b;
}

const builders: Record<Status, () => Promise<Built>> = {
  pending: pendingJob,
  queued: queuedJob,
  running: runningJob,
  paused: pausedJob,
  error: errorJob,
  success: successJob,
  canceled: canceledJob,
};

describe("create and get", () => {
  it("creates a job that answers queued, as its row says (legacy-use answered pending)", async () => {
    const targetId = await c.target("create");
    const r = await t.api(key, "POST", `/api/targets/${targetId}/jobs/`, {
      api_name: "sleep",
      parameters: { ms: 1 },
      status: "pending",
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      target_id: targetId,
      api_name: "sleep",
      parameters: { ms: 1 },
      status: "queued",
      result: null,
      error: null,
      completed_at: null,
      session_id: null,
      api_exchanges: [],
      attempt: 0,
    });
    expect(r.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.created_at).toMatch(ISO_TIMESTAMP);
    expect(r.body.updated_at).toMatch(ISO_TIMESTAMP);
    expect(typeof r.body.duration_seconds).toBe("number");
    const row = await jobRow(t.database.db, r.body.id);
    expect(row.status).toBe("queued");
    expect(row.targetId).toBe(targetId);
    expect(await c.logs(targetId, r.body.id)).toContain("Job added to queue");
    const done = await c.waitStatus(targetId, r.body.id, "success");
    expect(done.result).toEqual({ slept_ms: expect.any(Number) });
  });

  it("starts a target's jobs in seq order when an earlier create commits after a later one", async () => {
    const tenant = await newTenant(t, { waitMs: RUN_MS });
    keys.push(tenant.key);
    const targetId = await tenant.target("seq-race");
    // The earlier create runs inside a transaction the test keeps open: its seq is drawn, its
    // commit waits. The later one commits at once and dispatches (in direct mode inside its own
    // request, which therefore answers only once the earlier create has committed).
    let commitEarlier!: () => void;
    const held = new Promise<void>((r) => {
      commitEarlier = r;
    });
    let earlierCreated!: (id: string) => void;
    const earlierId = new Promise<string>((r) => {
      earlierCreated = r;
    });
    const outer = t.database.db.transaction(async (tx) => {
      const { job } = await Jobs.create(coreDeps(tx as unknown as Db, hatchet()), tenant.id, targetId, {
        api_name: "echo",
        parameters: {},
      });
      earlierCreated(job.id);
      await held;
    });
    const earlier = await earlierId;
    try {
      const laterCall = t.api(tenant.key, "POST", `/api/targets/${targetId}/jobs/`, { api_name: "echo" });
      // The dispatcher must wait for the earlier seq rather than hand the later job over.
      await poll(
        async () => {
          const r = await t.database.pool.query<{ n: number }>(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
          );
          return (r.rows[0]?.n ?? 0) > 0 ? true : undefined;
        },
        { timeoutMs: 10_000, label: "the dispatcher waiting for the earlier create" },
      );
      const [laterRow] = await t.database.db
        .select()
        .from(jobs)
        .where(and(eq(jobs.targetId, targetId), ne(jobs.id, earlier)));
      expect(laterRow).toMatchObject({ status: "queued", dispatchedAt: null });
      commitEarlier();
      await outer;
      const later = await laterCall;
      expect(later.status).toBe(200);
      await tenant.waitStatus(targetId, earlier, "success");
      await tenant.waitStatus(targetId, later.body.id, "success");
      const [a, b] = [await jobRow(t.database.db, earlier), await jobRow(t.database.db, later.body.id)];
      expect(a.seq).toBeLessThan(b.seq);
      expect(a.completedAt?.getTime()).toBeLessThanOrEqual(b.startedAt?.getTime() ?? 0);
    } finally {
      // A failed expectation above must not leave the transaction (and its lock) open.
      commitEarlier();
      await outer.catch(() => {});
    }
  });

  it("ignores the legacy status field whatever it says", async () => {
    const blocker = await pausedJob();
    const r = await t.api(key, "POST", `/api/targets/${blocker.targetId}/jobs/`, {
      api_name: "echo",
      status: "success",
    });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("queued");
    expect(r.body.parameters).toEqual({});
    expect((await jobRow(t.database.db, r.body.id)).status).toBe("queued");
  });

  it("gets a job with its result and no write side effect", async () => {
    const { targetId, jobId } = await successJob();
    const before = await jobRow(t.database.db, jobId);
    const r = await t.api(key, "GET", jobPath(targetId, jobId));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: jobId, target_id: targetId, status: "success", result: { n: 1 }, error: null });
    expect(r.body.completed_at).toMatch(ISO_TIMESTAMP);
    expect(r.body.started_at).toMatch(ISO_TIMESTAMP);
    expect(r.body.duration_seconds).toBe((Date.parse(r.body.completed_at) - Date.parse(r.body.created_at)) / 1000);
    const again = await t.api(key, "GET", jobPath(targetId, jobId));
    expect(again.body).toEqual(r.body);
    const after = await jobRow(t.database.db, jobId);
    expect(after.updatedAt.getTime()).toBe(before.updatedAt.getTime());
  });

  it("answers 404 for a job of another target of the same tenant", async () => {
    const a = await successJob();
    const otherTarget = await c.target("other");
    const r = await t.api(key, "GET", jobPath(otherTarget, a.jobId));
    expect(r.status).toBe(404);
    expect(r.body.code).toBe("job.not_found");
  });
});

describe("lists", () => {
  // A tenant of its own, so counts are exact: A has three echo jobs, B a failed job and an
  // echo job waiting behind it. Creation order e1 e2 e3 f1 e4.
  let lk: string;
  let targetA: string;
  let targetB: string;
  let created: string[];

  beforeAll(async () => {
    const lc = await newTenant(t, { waitMs: RUN_MS });
    lk = lc.key;
    keys.push(lk);
    targetA = await lc.target("list-a");
    targetB = await lc.target("list-b");
    const e1 = await lc.job(targetA, "echo", { i: 1 });
    const e2 = await lc.job(targetA, "echo", { i: 2 });
    const e3 = await lc.job(targetA, "echo", { i: 3 });
    const f1 = await lc.job(targetB, "fail", { retryable: false });
    await lc.waitStatus(targetB, f1, "error");
    const e4 = await lc.job(targetB, "echo", { i: 4 });
    for (const id of [e1, e2, e3]) await lc.waitStatus(targetA, id, "success");
    created = [e1, e2, e3, f1, e4];
  });

  const ids = (list: Array<{ id: string }>) => list.map((j) => j.id);
  const listAll = (query: string) => t.api(lk, "GET", `/api/jobs/${query}`);

  it("lists all jobs newest first with total_count and X-Total-Count", async () => {
    const r = await listAll("");
    expect(r.status).toBe(200);
    expect(r.body.total_count).toBe(5);
    expect(r.headers.get("x-total-count")).toBe("5");
    expect(ids(r.body.jobs)).toEqual([...created].reverse());
    for (const j of r.body.jobs) expect(j.created_at).toMatch(ISO_TIMESTAMP);
  });

  it("pages with limit and offset; the count ignores both", async () => {
    const first = await listAll("?limit=2");
    expect(ids(first.body.jobs)).toEqual([created[4], created[3]]);
    expect(first.body.total_count).toBe(5);
    expect(first.headers.get("x-total-count")).toBe("5");
    const second = await listAll("?limit=2&offset=2");
    expect(ids(second.body.jobs)).toEqual([created[2], created[1]]);
    const last = await listAll("?limit=2&offset=4");
    expect(ids(last.body.jobs)).toEqual([created[0]]);
    const beyond = await listAll("?offset=10");
    expect(beyond.body).toEqual({ total_count: 5, jobs: [] });
  });

  it("filters by status, lower or upper case", async () => {
    const success = await listAll("?status=success");
    expect(success.body.total_count).toBe(3);
    expect(ids(success.body.jobs)).toEqual([created[2], created[1], created[0]]);
    const upper = await listAll("?status=SUCCESS");
    expect(upper.body).toEqual({ ...success.body, jobs: expect.any(Array) });
    expect(ids(upper.body.jobs)).toEqual(ids(success.body.jobs));
    const error = await listAll("?status=Error");
    expect(ids(error.body.jobs)).toEqual([created[3]]);
    const queued = await listAll("?status=queued");
    expect(ids(queued.body.jobs)).toEqual([created[4]]);
    expect(queued.headers.get("x-total-count")).toBe("1");
    const canceled = await listAll("?status=canceled");
    expect(canceled.body).toEqual({ total_count: 0, jobs: [] });
  });

  it("filters by target_id and api_name, alone and together", async () => {
    const byTarget = await listAll(`?target_id=${targetB}`);
    expect(ids(byTarget.body.jobs)).toEqual([created[4], created[3]]);
    expect(byTarget.body.total_count).toBe(2);
    const fails = await listAll("?api_name=fail");
    expect(ids(fails.body.jobs)).toEqual([created[3]]);
    const echoes = await listAll("?api_name=echo");
    expect(echoes.body.total_count).toBe(4);
    const both = await listAll(`?api_name=echo&target_id=${targetB}&status=queued`);
    expect(ids(both.body.jobs)).toEqual([created[4]]);
    const none = await listAll(`?api_name=sleep&target_id=${targetA}`);
    expect(none.body.total_count).toBe(0);
  });

  it("lists a target's jobs as a bare array, newest first, with limit and offset", async () => {
    const all = await t.api(lk, "GET", `/api/targets/${targetA}/jobs/`);
    expect(all.status).toBe(200);
    expect(Array.isArray(all.body)).toBe(true);
    expect(ids(all.body)).toEqual([created[2], created[1], created[0]]);
    const page = await t.api(lk, "GET", `/api/targets/${targetA}/jobs/?limit=1&offset=1`);
    expect(ids(page.body)).toEqual([created[1]]);
    const rest = await t.api(lk, "GET", `/api/targets/${targetA}/jobs/?offset=2`);
    expect(ids(rest.body)).toEqual([created[0]]);
    const b = await t.api(lk, "GET", `/api/targets/${targetB}/jobs/?limit=1`);
    expect(ids(b.body)).toEqual([created[4]]);
  });
});

describe("logs and HTTP exchanges", () => {
  it("logs each retried attempt, then the end and the pause of the target, in order", async () => {
    const targetId = await c.target("retried");
    const jobId = await c.job(targetId, "fail", { message: "boom", retryable: true });
    await c.waitStatus(targetId, jobId, "error");
    const system = (await t.api(key, "GET", `${jobPath(targetId, jobId)}/logs/`)).body.map(
      (l: { log_type: string; content: unknown }) => `${l.log_type}: ${String(l.content)}`,
    );
    expect(system).toEqual([
      "system: Job added to queue",
      "system: Queue picked up job",
      "error: Attempt 0 failed, will retry: boom",
      "system: Queue picked up job (attempt 1)",
      "error: Attempt 1 failed, will retry: boom",
      "system: Queue picked up job (attempt 2)",
      "system: Job completed with status: error and reason: boom",
      `system: Target ${targetId} queue will be paused due to job error`,
    ]);
  });

  it("answers a job's logs in order, without HTTP exchanges", async () => {
    const { targetId, jobId } = await successJob();
    const r = await t.api(key, "GET", `${jobPath(targetId, jobId)}/logs/`);
    expect(r.status).toBe(200);
    const contents = r.body.map((l: { content: unknown }) => l.content);
    expect(contents.slice(0, 2)).toEqual(["Job added to queue", "Queue picked up job"]);
    expect(contents).toContain("Job completed with status: success");
    for (const l of r.body) {
      expect(l).toEqual({
        id: expect.any(Number),
        job_id: jobId,
        timestamp: expect.stringMatching(ISO_TIMESTAMP),
        log_type: expect.any(String),
        content: expect.anything(),
      });
      expect(l.log_type).not.toBe("http_exchange");
    }
    const logIds = r.body.map((l: { id: number }) => l.id);
    expect(logIds).toEqual([...logIds].sort((a, b) => a - b));
    const none = await t.api(key, "GET", `${jobPath(targetId, jobId)}/http_exchanges/`);
    expect(none.status).toBe(200);
    expect(none.body).toEqual([]);
  });

  it("answers only the lines after ?after=<id>, so a client can follow a job without reading it all again", async () => {
    const { targetId, jobId } = await successJob();
    const all = (await t.api(key, "GET", `${jobPath(targetId, jobId)}/logs/`)).body as Array<{ id: number }>;
    expect(all.length).toBeGreaterThan(2);
    const [first, second] = all;
    const after = await t.api(key, "GET", `${jobPath(targetId, jobId)}/logs/?after=${first?.id}`);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(all.slice(1));
    const tail = await t.api(key, "GET", `${jobPath(targetId, jobId)}/logs/?after=${all.at(-1)?.id}`);
    expect(tail.body).toEqual([]);
    expect((await t.api(key, "GET", `${jobPath(targetId, jobId)}/logs/?after=${second?.id}`)).body).toEqual(
      all.slice(2),
    );
    for (const bad of ["-1", "x", "1.5"]) {
      const r = await t.api(key, "GET", `${jobPath(targetId, jobId)}/logs/?after=${bad}`);
      expect(r.status).toBe(422);
      expect(r.body.code).toBe("request.invalid");
    }
  });

  it("records an http-request job's exchange with credentials redacted", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.writeHead(200, { "content-type": "application/json", "x-reply": "yes" });
      res.end(JSON.stringify({ pong: true }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const url = `http://127.0.0.1:${port}/ping?x=1`;
      const targetId = await c.target("http");
      const jobId = await c.job(targetId, "http-request", {
        url,
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "s3cret-value" },
        body: '{"hi":1}',
      });
      const done = await c.waitStatus(targetId, jobId, "success");
      expect(done.result).toMatchObject({ status: 200, body: '{"pong":true}', headers: { "x-reply": "yes" } });
      expect(seen).toHaveLength(1);
      expect(seen[0]?.["x-api-key"]).toBe("s3cret-value");

      const r = await t.api(key, "GET", `${jobPath(targetId, jobId)}/http_exchanges/`);
      expect(r.status).toBe(200);
      expect(r.body).toHaveLength(1);
      const [ex] = r.body;
      expect(ex).toMatchObject({ job_id: jobId, log_type: "http_exchange", attempt: 0 });
      expect(ex.id).toEqual(expect.any(Number));
      expect(ex.timestamp).toMatch(ISO_TIMESTAMP);
      expect(ex.content.request).toEqual({
        method: "POST",
        url,
        headers: { "content-type": "application/json", "x-api-key": "[redacted]" },
        body: '{"hi":1}',
      });
      expect(ex.content.response).toMatchObject({ status: 200, body: '{"pong":true}' });
      expect(ex.content.response.headers["x-reply"]).toBe("yes");
      expect(ex.content.durationMs).toEqual(expect.any(Number));
      expect(JSON.stringify(r.body)).not.toContain("s3cret-value");

      const logs = await t.api(key, "GET", `${jobPath(targetId, jobId)}/logs/`);
      expect(logs.body.every((l: { log_type: string }) => l.log_type !== "http_exchange")).toBe(true);
      expect(JSON.stringify(logs.body)).not.toContain("s3cret-value");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("illegal transitions answer 409 and change nothing", () => {
  const statuses = Object.keys(ALLOWED) as Status[];
  it.each(statuses)("from %s", async (status) => {
    const { targetId, jobId } = await builders[status]();
    const illegal = ACTIONS.filter((a) => !ALLOWED[status].includes(a));
    for (const action of illegal) {
      const before = await jobRow(t.database.db, jobId);
      const logsBefore = await logCount(jobId);
      const r = await act(targetId, jobId, action);
      expect(r.status, `${action} on ${status}`).toBe(409);
      expect(r.body).toMatchObject({
        code: "job.illegal_transition",
        detail: expect.stringContaining(`'${status}'`),
        errors: { status, action, allowed_from: expect.any(Array) },
      });
      const after = await jobRow(t.database.db, jobId);
      expect(after.status).toBe(status);
      expect(after.updatedAt.getTime()).toBe(before.updatedAt.getTime());
      expect(after.stopRequested).toBe(before.stopRequested);
      expect(await logCount(jobId)).toBe(logsBefore);
    }
  });
});

describe("legal transitions", () => {
  it("cancel of a queued job: canceled at once, the job never runs", async () => {
    const { targetId, jobId, blockerId } = await queuedJob();
    const r = await act(targetId, jobId, "cancel");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: jobId, status: "canceled", message: `Job ${jobId} canceled successfully.` });
    expect(r.body.completed_at).toMatch(ISO_TIMESTAMP);
    expect((await jobRow(t.database.db, jobId)).status).toBe("canceled");
    // Unblock the target: a job queued after the canceled one runs; the canceled one never does.
    expect((await act(targetId, blockerId, "cancel")).status).toBe(200);
    const next = await c.job(targetId, "echo", { after: true });
    await c.waitStatus(targetId, next, "success");
    const row = await jobRow(t.database.db, jobId);
    expect(row.status).toBe("canceled");
    expect(row.startedAt).toBeNull();
  });

  it("interrupt of a queued job cancels it instead of putting it in error", async () => {
    const { targetId, jobId } = await queuedJob();
    const r = await act(targetId, jobId, "interrupt");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: jobId,
      status: "canceled",
      error: null,
      message: `Job ${jobId} interrupt requested.`,
    });
    expect((await jobRow(t.database.db, jobId)).status).toBe("canceled");
    const target = await t.api(key, "GET", `/api/targets/${targetId}`);
    // Only the paused blocker holds the target, not the interrupted job.
    expect(target.body.blocking_jobs_count).toBe(1);
    expect(target.body.blocking_jobs.map((j: { id: string }) => j.id)).not.toContain(jobId);
  });

  it("cancel of a pending job: canceled", async () => {
    const { targetId, jobId } = await pendingJob();
    const r = await act(targetId, jobId, "cancel");
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("canceled");
    expect((await jobRow(t.database.db, jobId)).status).toBe("canceled");
  });

  it("interrupt of a pending job: canceled, not a 500", async () => {
    const { targetId, jobId } = await pendingJob();
    const r = await act(targetId, jobId, "interrupt");
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("canceled");
    expect((await jobRow(t.database.db, jobId)).status).toBe("canceled");
  });

  it("cancel of a running job stops it: it ends canceled", async () => {
    const { targetId, jobId } = await runningJob();
    const r = await act(targetId, jobId, "cancel");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: jobId,
      status: "running",
      stop_requested: "cancel",
      message: `Job ${jobId} cancel requested.`,
    });
    const done = await c.waitStatus(targetId, jobId, "canceled");
    expect(done.error).toBe("Job was canceled by user");
    expect(done.completed_at).toMatch(ISO_TIMESTAMP);
    expect(done.stop_requested).toBeNull();
    expect(await c.logs(targetId, jobId)).toContain("Job cancel requested by user");
  });

  it("interrupt of a running job stops it: it ends paused, and blocks its target", async () => {
    const { targetId, jobId } = await runningJob();
    const r = await act(targetId, jobId, "interrupt");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: jobId,
      status: "running",
      stop_requested: "interrupt",
      message: `Job ${jobId} interrupt requested.`,
    });
    const done = await c.waitStatus(targetId, jobId, "paused");
    expect(done.error).toBe("Job was interrupted by user");
    expect(done.completed_at).toMatch(ISO_TIMESTAMP);
    // duration_seconds of a paused job stops at completed_at.
    expect(done.duration_seconds).toBe((Date.parse(done.completed_at) - Date.parse(done.created_at)) / 1000);
    const target = await t.api(key, "GET", `/api/targets/${targetId}`);
    expect(target.body.queue_status).toBe("paused");
  });

  // A resumed job gets a new Hatchet run whose attempts count from 0 again: it must really run
  // again, not replay the outcome its first run stored for attempt 0.
  it("resume of a paused job re-queues it with error, result and completed_at cleared, and it runs again", async () => {
    const { targetId, jobId } = await pausedJob();
    const r = await act(targetId, jobId, "resume");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: jobId,
      status: "queued",
      error: null,
      result: null,
      completed_at: null,
      message: `Job ${jobId} resumed.`,
    });
    expect(await c.logs(targetId, jobId)).toContain("Job resumed from paused state");
    const job = await afterResume(targetId, jobId, (j) => j.status === "running");
    expect(job.status).toBe("running");
    expect((await act(targetId, jobId, "cancel")).status).toBe(200);
    await c.waitStatus(targetId, jobId, "canceled");
  });

  it("resume of a failed job re-queues it and it runs again", async () => {
    const { targetId, jobId } = await errorJob();
    const r = await act(targetId, jobId, "resume");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "queued", error: null, result: null, completed_at: null });
    const row = await jobRow(t.database.db, jobId);
    expect(row.error).toBeNull();
    expect(row.completedAt).toBeNull();
    // The fail job fails again: it is picked up a second time and ends in error again.
    const job = await afterResume(targetId, jobId, (j) => j.status === "error");
    expect(job.status).toBe("error");
    expect(job.error).toBe("boom");
    const picked = (await c.logs(targetId, jobId)).filter((line) => line === "Queue picked up job");
    expect(picked).toHaveLength(2);
  });

  it("resolve of a paused job: success with the body as result, error cleared, the job shape", async () => {
    const { targetId, jobId } = await pausedJob();
    const paused = await jobRow(t.database.db, jobId);
    const r = await t.api(key, "POST", `${jobPath(targetId, jobId)}/resolve/`, { answer: 42, items: ["a"] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: jobId,
      status: "success",
      result: { answer: 42, items: ["a"] },
      error: null,
      api_exchanges: [],
    });
    expect(typeof r.body.duration_seconds).toBe("number");
    for (const leaked of ["lease_owner", "lease_expires_at", "cancel_requested", "targetId", "tenant_id", "seq"]) {
      expect(r.body).not.toHaveProperty(leaked);
    }
    // completed_at keeps the time the job stopped.
    expect(Date.parse(r.body.completed_at)).toBe(paused.completedAt?.getTime());
    const row = await jobRow(t.database.db, jobId);
    expect(row.status).toBe("success");
    expect(row.error).toBeNull();
    expect(row.result).toEqual({ answer: 42, items: ["a"] });
    expect(await c.logs(targetId, jobId)).toContain("Job manually resolved");
    const target = await t.api(key, "GET", `/api/targets/${targetId}`);
    expect(target.body.queue_status).toBe("running");
  });

  it("resolve of a failed job: success, error cleared, completed_at set", async () => {
    const { targetId, jobId } = await errorJob();
    const r = await t.api(key, "POST", `${jobPath(targetId, jobId)}/resolve/`, {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "success", result: {}, error: null });
    expect(r.body.completed_at).toMatch(ISO_TIMESTAMP);
    expect((await jobRow(t.database.db, jobId)).error).toBeNull();
  });

  it("cancel of a paused job unblocks its target", async () => {
    const { targetId, jobId } = await pausedJob();
    const waiting = await c.job(targetId, "echo", { waiting: true });
    const r = await act(targetId, jobId, "cancel");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "canceled", message: `Job ${jobId} canceled successfully.` });
    await c.waitStatus(targetId, waiting, "success");
  });

  it("cancel of a failed job unblocks its target", async () => {
    const { targetId, jobId } = await errorJob();
    const waiting = await c.job(targetId, "echo", { waiting: true });
    expect((await jobRow(t.database.db, waiting)).status).toBe("queued");
    const r = await act(targetId, jobId, "cancel");
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("canceled");
    await c.waitStatus(targetId, waiting, "success");
    const target = await t.api(key, "GET", `/api/targets/${targetId}`);
    expect(target.body).toMatchObject({ queue_status: "running", has_blocking_jobs: false, blocking_jobs_count: 0 });
  });
});
