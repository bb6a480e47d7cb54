// The queue as a whole: status per target, and resync, the reconciliation of Postgres (the
// truth for what the API reports) with Hatchet (the truth for scheduling).
import { type Db, jobAttempts, jobs, targets } from "@switchyard/db";
import { and, desc, eq, isNull, or, sql } from "drizzle-orm";
import { dispatchTarget, targetsReadyToDispatch, withdrawHandOver } from "./job/dispatch.ts";
import { failFromOrchestrator } from "./job/execution.ts";
import type { Scheduler } from "./scheduler.ts";

export type RunState = "QUEUED" | "RUNNING" | "COMPLETED" | "CANCELLED" | "FAILED" | "NOT_FOUND";

export interface QueueDeps {
  db: Db;
  scheduler: Scheduler;
  runStatus: (runId: string) => Promise<RunState>;
}

export async function status(db: Db, tenantId: string) {
  const rows = await db
    .select({
      targetId: targets.id,
      name: targets.name,
      queued: sql<number>`count(${jobs.id}) filter (where ${jobs.status} = 'queued')::int`,
      dispatched: sql<number>`count(${jobs.id}) filter (where ${jobs.status} = 'queued' and ${jobs.dispatchedAt} is not null)::int`,
      running: sql<number>`count(${jobs.id}) filter (where ${jobs.status} = 'running')::int`,
      blocking: sql<number>`count(${jobs.id}) filter (where ${jobs.status} in ('paused', 'error'))::int`,
      oldestQueuedAt: sql<Date | null>`min(${jobs.createdAt}) filter (where ${jobs.status} = 'queued')`,
    })
    .from(targets)
    .leftJoin(jobs, eq(jobs.targetId, targets.id))
    .where(and(eq(targets.tenantId, tenantId), isNull(targets.archivedAt)))
    .groupBy(targets.id, targets.name)
    .orderBy(targets.createdAt);
  const now = Date.now();
  const perTarget = rows.map((r) => ({
    target_id: r.targetId,
    name: r.name,
    queued: r.queued,
    dispatched: r.dispatched,
    running: r.running,
    blocked: r.blocking > 0,
    blocking_jobs_count: r.blocking,
    oldest_queued_seconds: r.oldestQueuedAt ? (now - new Date(r.oldestQueuedAt).getTime()) / 1000 : null,
  }));
  const sum = (k: "queued" | "running" | "blocking_jobs_count") => perTarget.reduce((n, t) => n + t[k], 0);
  const running = await db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), eq(jobs.status, "running")))
    .limit(1);
  return {
    // legacy-use's fields, now from Postgres
    queue_size: sum("queued"),
    queued_in_db: sum("queued"),
    running_jobs_count: sum("running"),
    running_job: running[0]?.id ?? null,
    is_processor_running: true,
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

/** A hand-over older than this without a run id is taken as lost. */
const LOST_SUBMISSION_MS = 30_000;
/**
 * Hatchet answers 404 for a run it accepted moments ago (its read side lags under load), so
 * "not found" only counts for runs handed over longer ago than this.
 */
const NOT_FOUND_GRACE_MS = 30_000;
/**
 * Between an attempt that failed and its retry (backoff of at most 30 s) Hatchet reports the run
 * FAILED, then QUEUED: a run's end only counts when no retry can still be due.
 */
const RETRY_GRACE_MS = 60_000;

export async function resync(deps: QueueDeps, tenantId: string) {
  const { db } = deps;
  const repairs: Repair[] = [];
  const inFlight = await db
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.tenantId, tenantId),
        or(eq(jobs.status, "running"), and(eq(jobs.status, "queued"), sql`${jobs.dispatchedAt} is not null`)),
      ),
    );
  for (const job of inFlight) {
    if (!job.hatchetRunId) {
      const age = Date.now() - (job.dispatchedAt?.getTime() ?? 0);
      if (job.status === "queued" && age > LOST_SUBMISSION_MS) {
        await withdrawHandOver(db, job.id, null, "resync: the hand-over to Hatchet never completed");
        repairs.push({
          job_id: job.id,
          target_id: job.targetId,
          action: "redispatched",
          reason: "hand-over never completed",
        });
      }
      continue;
    }
    const run = await deps.runStatus(job.hatchetRunId);
    const handedOverAgo = Date.now() - (job.dispatchedAt ?? job.updatedAt).getTime();
    if (run === "NOT_FOUND" && handedOverAgo < NOT_FOUND_GRACE_MS) continue;
    if (run === "NOT_FOUND" && job.status === "queued") {
      await withdrawHandOver(db, job.id, job.hatchetRunId, `resync: Hatchet has no run ${job.hatchetRunId}`);
      repairs.push({
        job_id: job.id,
        target_id: job.targetId,
        action: "redispatched",
        reason: "run missing in Hatchet",
      });
    } else if (run === "FAILED" && (await retryMayBeDue(db, job.id))) {
    } else if (run === "NOT_FOUND" || run === "FAILED" || run === "CANCELLED" || run === "COMPLETED") {
      const reason = run === "NOT_FOUND" ? "Hatchet lost the run" : `the Hatchet run ended ${run} but the job did not`;
      if (await failFromOrchestrator(db, job.id, `resync: ${reason}`)) {
        repairs.push({ job_id: job.id, target_id: job.targetId, action: "failed", reason });
      }
    }
  }
  const tenantTargets = await db.select({ id: targets.id }).from(targets).where(eq(targets.tenantId, tenantId));
  const mine = new Set(tenantTargets.map((t) => t.id));
  for (const targetId of (await targetsReadyToDispatch(db, 10_000)).filter((t) => mine.has(t))) {
    const out = await dispatchTarget(deps, targetId);
    if (out.dispatched) {
      repairs.push({
        job_id: out.jobId,
        target_id: targetId,
        action: "dispatched",
        reason: "target was idle with jobs waiting",
      });
    }
  }
  return {
    message: repairs.length === 0 ? "Postgres and Hatchet agree" : `Repaired ${repairs.length} disagreement(s)`,
    checked_jobs: inFlight.length,
    repairs,
  };
}

async function retryMayBeDue(db: Db, jobId: string): Promise<boolean> {
  const [last] = await db
    .select({ outcome: jobAttempts.outcome, finishedAt: jobAttempts.finishedAt })
    .from(jobAttempts)
    .where(eq(jobAttempts.jobId, jobId))
    .orderBy(desc(jobAttempts.startedAt))
    .limit(1);
  const retrying = (last?.outcome as { status?: string } | null | undefined)?.status === "retry";
  return retrying && Date.now() - (last?.finishedAt?.getTime() ?? 0) < RETRY_GRACE_MS;
}
