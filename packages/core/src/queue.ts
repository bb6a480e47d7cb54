// The queue as a whole: status per target, and resync, the reconciliation of Postgres (the
// truth for what the API reports) with Hatchet (the truth for scheduling).
import { BLOCKING_STATUSES, type Db, jobAttempts, jobs, statusList, targets } from "@switchyard/db";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { RunState } from "./contract.ts";
import type { Deps } from "./deps.ts";
import { dispatchTarget, lastSweepAge, sweep } from "./job/dispatch.ts";
import { failFromOrchestrator, withdraw } from "./job/lifecycle.ts";
import { mapLimit } from "./util.ts";

export async function status(db: Db, tenantId: string, timing: Deps["timing"]) {
  const rows = await db
    .select({
      targetId: targets.id,
      name: targets.name,
      queued: sql<number>`count(${jobs.id}) filter (where ${jobs.status} = 'queued')::int`,
      dispatched: sql<number>`count(${jobs.id}) filter (where ${jobs.status} = 'queued' and ${jobs.dispatchedAt} is not null)::int`,
      running: sql<number>`count(${jobs.id}) filter (where ${jobs.status} = 'running')::int`,
      blocking: sql<number>`count(${jobs.id}) filter (where ${jobs.status} in ${statusList(BLOCKING_STATUSES)})::int`,
      oldestQueuedSeconds: sql<
        number | null
      >`extract(epoch from now() - min(${jobs.createdAt}) filter (where ${jobs.status} = 'queued'))::float`,
    })
    .from(targets)
    .leftJoin(jobs, eq(jobs.targetId, targets.id))
    .where(and(eq(targets.tenantId, tenantId), isNull(targets.archivedAt)))
    .groupBy(targets.id, targets.name)
    .orderBy(targets.createdAt);
  const perTarget = rows.map((r) => ({
    target_id: r.targetId,
    name: r.name,
    queued: r.queued,
    dispatched: r.dispatched,
    running: r.running,
    blocked: r.blocking > 0,
    blocking_jobs_count: r.blocking,
    oldest_queued_seconds: r.oldestQueuedSeconds,
  }));
  const sum = (k: "queued" | "dispatched" | "running" | "blocking_jobs_count") =>
    perTarget.reduce((n, t) => n + t[k], 0);
  const [running] = await db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), eq(jobs.status, "running")))
    .limit(1);
  const sweptAgo = await lastSweepAge(db);
  return {
    // legacy-use's fields, now from Postgres. queue_size counts the jobs waiting their turn in
    // Postgres; queued_in_db adds the ones handed to Hatchet and not started yet.
    queue_size: sum("queued") - sum("dispatched"),
    queued_in_db: sum("queued"),
    running_jobs_count: sum("running"),
    running_job: running?.id ?? null,
    // Whether dispatch is alive: some host (the relay, or in direct mode the engine's health poll
    // of the worker) swept within a few of its periods.
    is_processor_running: sweptAgo !== null && sweptAgo < 5 * Math.max(timing.sweepMs, 5000),
    last_sweep_seconds_ago: sweptAgo === null ? null : sweptAgo / 1000,
    queue_type: "hatchet",
    blocked_targets: perTarget.filter((t) => t.blocked).length,
    targets: perTarget,
  };
}

export interface Repair {
  job_id: string;
  target_id: string;
  action: "redispatched" | "failed" | "dispatched";
  reason: string;
}

export async function resync(deps: Deps, tenantId: string) {
  const { db, timing } = deps;
  const repairs: Repair[] = [];
  // Ages come from Postgres, whose clock wrote the timestamps.
  const { rows: inFlight } = await db.execute<{
    id: string;
    target_id: string;
    status: "queued" | "running";
    hatchet_run_id: string | null;
    handed_over_ms: number;
    retry_due: boolean;
  }>(sql`
    select j.id, j.target_id, j.status, j.hatchet_run_id,
      extract(epoch from now() - coalesce(j.dispatched_at, j.updated_at))::float * 1000 as handed_over_ms,
      coalesce((
        select a.outcome->>'status' = 'retry'
           and a.finished_at > now() - make_interval(secs => ${timing.retryGraceMs / 1000})
        from ${jobAttempts} a where a.job_id = j.id order by a.started_at desc limit 1), false) as retry_due
    from ${jobs} j
    where j.tenant_id = ${tenantId}
      and (j.status = 'running' or (j.status = 'queued' and j.dispatched_at is not null))`);

  const withRun = inFlight.filter((j) => j.hatchet_run_id !== null);
  const states = await mapLimit(withRun, 8, (j) => deps.orchestrator.runState(j.hatchet_run_id ?? ""));
  for (const [i, job] of withRun.entries()) {
    const run = states[i] as RunState;
    const runId = job.hatchet_run_id ?? "";
    if (run === "NOT_FOUND" && job.handed_over_ms < timing.runNotFoundGraceMs) continue;
    if (run === "NOT_FOUND" && job.status === "queued") {
      if (await withdraw(db, job.id, runId, `resync: Hatchet has no run ${runId}`)) {
        repairs.push({
          job_id: job.id,
          target_id: job.target_id,
          action: "redispatched",
          reason: "run missing in Hatchet",
        });
      }
    } else if (run === "FAILED" && job.retry_due) {
      // Between a failed attempt and its retry Hatchet reports the run FAILED: not an end yet.
    } else if (run === "NOT_FOUND" || run === "FAILED" || run === "CANCELLED" || run === "COMPLETED") {
      const reason = run === "NOT_FOUND" ? "Hatchet lost the run" : `the Hatchet run ended ${run} but the job did not`;
      if (await failFromOrchestrator(db, job.id, `resync: ${reason}`)) {
        repairs.push({ job_id: job.id, target_id: job.target_id, action: "failed", reason });
      }
    }
  }

  // Lost hand-overs back to waiting, then every idle target with waiting jobs dispatched.
  const dispatched: Repair[] = [];
  const swept = await sweep(
    db,
    timing,
    async (targetId) => {
      const out = await dispatchTarget(deps, targetId);
      if (out.dispatched) {
        dispatched.push({
          job_id: out.jobId,
          target_id: targetId,
          action: "dispatched",
          reason: "target was idle with jobs waiting",
        });
      }
    },
    { tenantId, limit: 10_000 },
  );
  for (const lost of swept.withdrawn) {
    repairs.push({
      job_id: lost.jobId,
      target_id: lost.targetId,
      action: "redispatched",
      reason: "hand-over never completed",
    });
  }
  repairs.push(...dispatched);
  return {
    message: repairs.length === 0 ? "Postgres and Hatchet agree" : `Repaired ${repairs.length} disagreement(s)`,
    checked_jobs: inFlight.length,
    repairs,
  };
}
