// Tenant isolation, both ways: one tenant's key on every tenant route with the other tenant's
// target and job ids answers 404 and changes nothing; lists and queue views show own rows only.
import { jobLogs, jobs, targets } from "@switchyard/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { jobPath, newTenant, tenantClient } from "../support/client.ts";

let t: TestApp;

interface World {
  key: string;
  /** A target with a finished echo job. */
  doneTarget: string;
  doneJob: string;
  /** A target with a failed job and an echo job waiting behind it. */
  blockedTarget: string;
  failedJob: string;
  queuedJob: string;
  /** A target with a long sleep running. */
  busyTarget: string;
  runningJob: string;
}

const worlds: Record<"A" | "B", World> = {} as Record<"A" | "B", World>;

async function build(): Promise<World> {
  const c = await newTenant(t);
  const doneTarget = await c.target("done");
  const doneJob = await c.job(doneTarget, "echo", { secret: "mine" });
  const blockedTarget = await c.target("blocked");
  const failedJob = await c.job(blockedTarget, "fail");
  const busyTarget = await c.target("busy");
  const runningJob = await c.job(busyTarget, "sleep", { ms: 600_000 });
  await c.waitStatus(doneTarget, doneJob, "success");
  await c.waitStatus(blockedTarget, failedJob, "error");
  await c.waitStatus(busyTarget, runningJob, "running");
  const queuedJob = await c.job(blockedTarget, "echo");
  return { key: c.key, doneTarget, doneJob, blockedTarget, failedJob, queuedJob, busyTarget, runningJob };
}

beforeAll(async () => {
  t = await startTestApp();
  worlds.A = await build();
  worlds.B = await build();
});

afterAll(async () => {
  if (!t) return;
  for (const w of Object.values(worlds)) {
    const c = tenantClient(t, w.key);
    await c.api("POST", `${jobPath(w.busyTarget, w.runningJob)}/cancel/`);
    await c.waitStatus(w.busyTarget, w.runningJob, "canceled").catch(() => {});
  }
  await t.stop();
});

async function snapshot() {
  const db = t.database.db;
  return {
    jobs: await db.select().from(jobs).orderBy(jobs.seq),
    targets: await db.select().from(targets).orderBy(targets.createdAt),
    logs: await db.$count(jobLogs),
  };
}

describe.each([
  ["A", "B"],
  ["B", "A"],
] as const)("tenant %s's key on tenant %s's ids", (me, other) => {
  it("answers 404 on every target and job route and changes nothing", async () => {
    const { key } = worlds[me];
    const v = worlds[other];
    const before = await snapshot();
    const requests: Array<[string, string, unknown?]> = [
      ["GET", `/api/targets/${v.doneTarget}`],
      ["PUT", `/api/targets/${v.doneTarget}`, { name: "stolen", host: "evil" }],
      ["DELETE", `/api/targets/${v.doneTarget}`],
      ["GET", `/api/targets/${v.doneTarget}/jobs/`],
      ["POST", `/api/targets/${v.doneTarget}/jobs/`, { api_name: "echo", parameters: {} }],
      ["GET", jobPath(v.doneTarget, v.doneJob)],
      ["GET", `${jobPath(v.doneTarget, v.doneJob)}/logs/`],
      ["GET", `${jobPath(v.doneTarget, v.doneJob)}/http_exchanges/`],
      ["POST", `${jobPath(v.blockedTarget, v.queuedJob)}/cancel/`],
      ["POST", `${jobPath(v.blockedTarget, v.queuedJob)}/interrupt/`],
      ["POST", `${jobPath(v.blockedTarget, v.failedJob)}/cancel/`],
      ["POST", `${jobPath(v.blockedTarget, v.failedJob)}/resume/`],
      ["POST", `${jobPath(v.blockedTarget, v.failedJob)}/resolve/`, { stolen: true }],
      ["POST", `${jobPath(v.busyTarget, v.runningJob)}/cancel/`],
      ["POST", `${jobPath(v.busyTarget, v.runningJob)}/interrupt/`],
    ];
    for (const [method, path, body] of requests) {
      const r = await t.api(key, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.code).toBe("target.not_found");
      // The answer leaks nothing of the other tenant's rows.
      expect(JSON.stringify(r.body)).not.toContain("mine");
    }
    expect(await snapshot()).toEqual(before);
  });

  it("answers 404 job.not_found for the other tenant's job under an own target", async () => {
    const mine = worlds[me];
    const v = worlds[other];
    const before = await snapshot();
    const requests: Array<[string, string, unknown?]> = [
      ["GET", jobPath(mine.doneTarget, v.doneJob)],
      ["GET", `${jobPath(mine.doneTarget, v.doneJob)}/logs/`],
      ["GET", `${jobPath(mine.doneTarget, v.doneJob)}/http_exchanges/`],
      ["POST", `${jobPath(mine.blockedTarget, v.queuedJob)}/cancel/`],
      ["POST", `${jobPath(mine.blockedTarget, v.queuedJob)}/interrupt/`],
      ["POST", `${jobPath(mine.blockedTarget, v.failedJob)}/resume/`],
      ["POST", `${jobPath(mine.blockedTarget, v.failedJob)}/resolve/`, {}],
      ["POST", `${jobPath(mine.busyTarget, v.runningJob)}/cancel/`],
    ];
    for (const [method, path, body] of requests) {
      const r = await t.api(mine.key, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.code).toBe("job.not_found");
    }
    expect(await snapshot()).toEqual(before);
    const [running] = (await snapshot()).jobs.filter((j) => j.id === v.runningJob);
    expect(running?.status).toBe("running");
    expect(running?.stopRequested).toBeNull();
  });

  it("lists, filters and queue views show own rows only", async () => {
    const mine = worlds[me];
    const v = worlds[other];
    const ownJobs = [mine.queuedJob, mine.runningJob, mine.failedJob, mine.doneJob].sort();
    const all = await t.api(mine.key, "GET", "/api/jobs/?limit=1000");
    expect(all.body.total_count).toBe(4);
    expect(all.body.jobs.map((j: { id: string }) => j.id).sort()).toEqual(ownJobs);
    for (const status of ["queued", "running", "error", "success"]) {
      const r = await t.api(mine.key, "GET", `/api/jobs/?status=${status}`);
      expect(r.body.total_count, status).toBe(1);
    }
    const foreign = await t.api(mine.key, "GET", `/api/jobs/?target_id=${v.doneTarget}`);
    expect(foreign.status).toBe(200);
    expect(foreign.body).toEqual({ total_count: 0, jobs: [] });

    const ownTargets = [mine.doneTarget, mine.blockedTarget, mine.busyTarget].sort();
    for (const query of ["", "?include_archived=true"]) {
      const list = await t.api(mine.key, "GET", `/api/targets/${query}`);
      expect(list.body.map((x: { id: string }) => x.id).sort()).toEqual(ownTargets);
    }

    const status = await t.api(mine.key, "GET", "/api/jobs/queue/status");
    expect(status.status).toBe(200);
    expect(status.body.targets.map((x: { target_id: string }) => x.target_id).sort()).toEqual(ownTargets);
    expect(status.body.running_job).toBe(mine.runningJob);
    expect(status.body).toMatchObject({ queue_size: 1, running_jobs_count: 1, blocked_targets: 1 });

    const resync = await t.api(mine.key, "POST", "/api/jobs/queue/resync");
    expect(resync.status).toBe(200);
    // Only the tenant's own in-flight job is checked.
    expect(resync.body).toMatchObject({ checked_jobs: 1, repairs: [] });
  });
});
