// Attempt leases: a delivery that arrives while an earlier attempt of the job still runs on a worker
// waits ("busy") instead of running the job twice; an attempt whose worker went silent is closed as
// of its last heartbeat and the new one takes over; a worker that loses the database stops its
// executor before anyone may take the attempt over. Real Postgres and Hatchet runs; the worker
// runtime is called in process with a job type the test holds open.
import { Dispatch, defaultTiming, type JobType, Lifecycle, type RelayDelivery } from "@switchyard/core";
import { defineJobType } from "@switchyard/core/job-type";
import { createDatabase, jobAttempts, jobs } from "@switchyard/db";
import { HatchetRest, hatchetSettingsFromEnv } from "@switchyard/hatchet";
import { runRelayDelivery } from "@switchyard/jobs/relay-contract";
import { Workers } from "@switchyard/workers";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startTestApp, type TestApp } from "../support/app.ts";
import { tenantClient } from "../support/client.ts";
import { checkInvariants } from "../support/invariants.ts";
import { poll } from "../support/poll.ts";
import { attemptsOf, jobRow } from "../support/rows.ts";

let t: TestApp;
let tenant: { id: string; key: string };
let hatchet: HatchetRest;
beforeAll(async () => {
  // The worker function is served only so that its job types are registered (the API validates
  // against them); the deliveries below call the worker runtime directly.
  // Relay mode without a relay: nothing delivers runs but the test itself.
  t = await startTestApp({ roles: ["api", "worker"], delivery: "relay" });
  await Workers.register(t.database.db, { name: "types", url: t.workerUrl, secret: t.signingSecret });
  hatchet = new HatchetRest(hatchetSettingsFromEnv());
  tenant = await t.tenant();
});
afterAll(() => t?.stop());

/** A job type that runs until the test releases it, and records how its executor ended. */
function gate() {
  const events: string[] = [];
  const at = new Map<string, number>();
  const record = (e: string) => {
    events.push(e);
    at.set(e.split(":")[0] ?? e, Date.now());
  };
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  const type: JobType = defineJobType({
    name: "echo",
    description: "held open by the test",
    parameters: z.object({}),
    defaults: { timeoutSeconds: 60, retries: 3 },
    async run(_params, ctx) {
      record(`start ${ctx.attempt}`);
      const aborted = new Promise<never>((_, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true }),
      );
      try {
        await Promise.race([released, aborted]);
        record(`done ${ctx.attempt}`);
        return { ok: true };
      } catch (err) {
        record(`aborted ${ctx.attempt}: ${(err as Error).message}`);
        throw err;
      }
    },
  });
  return { type, events, at, release: () => release() };
}

async function newJob(): Promise<RelayDelivery> {
  const c = tenantClient(t, tenant.key);
  const targetId = await c.target(`lease-${Math.random()}`);
  const jobId = await c.job(targetId, "echo");
  // No relay runs in this file: hand the job over to a Hatchet run here.
  const out = await Dispatch.dispatchTarget({ db: t.database.db, orchestrator: hatchet }, targetId);
  expect(out.dispatched).toBe(true);
  const row = await jobRow(t.database.db, jobId);
  if (!row.hatchetRunId) throw new Error("the job was not handed over");
  return {
    job_id: row.id,
    tenant_id: tenant.id,
    target_id: row.targetId,
    api_name: "echo",
    run_id: row.hatchetRunId,
    attempt: 0,
    retries: 3,
    timeout_seconds: 60,
  };
}

const forever = () => 600_000;
/** A short lease, so that taking over a silent attempt takes a second, not five. */
const timing = { ...defaultTiming, attemptLeaseMs: 1000, heartbeatMs: 100 };
const runDelivery = (db: typeof t.database.db, req: RelayDelivery, types: JobType[]) =>
  runRelayDelivery(db, req, { timing, remainingMs: forever, types });

describe("attempt leases", () => {
  it("answers busy while an earlier attempt still runs, and never runs the job twice", async () => {
    const req = await newJob();
    const g = gate();
    const first = runDelivery(t.database.db, req, [g.type]);
    await poll(async () => (g.events.includes("start 0") ? true : undefined), { label: "attempt 0 to start" });

    // The relay lost attempt 0's answer (a cut connection) and delivers attempt 1.
    const retry = { ...req, attempt: 1 };
    const busy = await runDelivery(t.database.db, retry, [g.type]);
    expect(busy).toEqual({ status: "busy", reason: "attempt 0 of this job is still running on a worker" });
    expect(await attemptsOf(t.database.db, [req.job_id])).toHaveLength(1);

    g.release();
    expect(await first).toEqual({ status: "success", result: { ok: true } });
    // Once attempt 0 has ended the job, the waiting delivery runs nothing.
    const after = await runDelivery(t.database.db, retry, [g.type]);
    expect(after).toEqual({ status: "skipped", reason: "job is success" });
    expect(g.events).toEqual(["start 0", "done 0"]);
  });

  it("closes an attempt whose worker went silent as of its last heartbeat and runs the next one", async () => {
    const req = await newJob();
    const begin = await Lifecycle.beginAttempt(
      t.database.db,
      { jobId: req.job_id, tenantId: req.tenant_id, runId: req.run_id, attempt: 0 },
      timing,
    );
    expect(begin.kind).toBe("run");
    // The worker died: its last heartbeat is older than the lease, and nothing beats any more.
    await t.database.db.execute(
      sql`update ${jobAttempts} set heartbeat_at = now() - interval '2 seconds', started_at = now() - interval '3 seconds' where job_id = ${req.job_id}`,
    );

    const g = gate();
    g.release();
    const res = await runDelivery(t.database.db, { ...req, attempt: 1 }, [g.type]);
    expect(res).toEqual({ status: "success", result: { ok: true } });
    const [dead, next] = await attemptsOf(t.database.db, [req.job_id]);
    expect(dead?.outcome).toMatchObject({ status: "abandoned" });
    expect(dead?.finishedAt?.getTime()).toBe(dead?.heartbeatAt.getTime());
    expect(next?.startedAt.getTime()).toBeGreaterThan(dead?.finishedAt?.getTime() ?? Infinity);
    const report = await checkInvariants(t.database.db, { tenantIds: [tenant.id] });
    expect(report.violations.filter((v) => v.includes(req.job_id))).toEqual([]);
  });

  it("stops the executor of a worker that lost the database before another attempt may take over", async () => {
    const req = await newJob();
    const g = gate();
    // This worker's own connection pool: closing it is the worker losing Postgres.
    const lost = createDatabase(t.env.DATABASE_URL ?? "", { max: 2 });
    const first = runDelivery(lost.db, req, [g.type]).catch((e: Error) => e);
    await poll(async () => (g.events.includes("start 0") ? true : undefined), { label: "attempt 0 to start" });
    await lost.close();
    const cutAt = Date.now();

    // A later attempt is refused until the lease has run out, then takes over.
    const retry = { ...req, attempt: 1 };
    const busyAnswers: number[] = [];
    let takenOverAt = 0;
    const h = gate();
    h.release();
    await poll(
      async () => {
        const res = await runDelivery(t.database.db, retry, [h.type]);
        if (res.status === "busy") return void busyAnswers.push(Date.now() - cutAt);
        takenOverAt = Date.now();
        return res;
      },
      { timeoutMs: 15_000, intervalMs: 200, label: "attempt 1 to take over" },
    );
    expect(busyAnswers.length).toBeGreaterThan(0);
    const abortLine = g.events.find((e) => e.startsWith("aborted 0"));
    expect(abortLine).toBe("aborted 0: lost contact with the database; stopped so that a later attempt can take over");
    // The first executor had stopped before the second one started.
    expect(g.at.get("aborted 0")).toBeLessThan(h.at.get("start 1") ?? 0);
    expect(await first).toBeInstanceOf(Error);
    expect(takenOverAt - cutAt).toBeGreaterThanOrEqual(timing.attemptLeaseMs - timing.attemptLeaseMs / 2);
    const [row] = await t.database.db
      .select({ status: jobs.status, attempt: jobs.attempt })
      .from(jobs)
      .where(and(eq(jobs.id, req.job_id)));
    expect(row).toEqual({ status: "success", attempt: 1 });
  });
});
