// Hands jobs to the orchestrator one target at a time. Jobs wait in Postgres until their turn:
// a target gets a run only when nothing of it is in flight (running, or handed over and not yet
// started) and nothing blocks it (paused, error). So a blocked target's later jobs hold no
// worker slot, and FIFO per target is the order of `seq`.
import { type Db, type DbOrTx, jobLogs, jobs, targets } from "@switchyard/db";
import { and, eq, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import type { Scheduler } from "../scheduler.ts";

export interface DispatchDeps {
  db: Db;
  scheduler: Scheduler;
}

export type DispatchOutcome =
  | { dispatched: true; jobId: string; runId: string }
  /** Something of the target is in flight or blocks it, nothing waits, or the target is gone. */
  | { dispatched: false; reason: "not ready" }
  | { dispatched: false; reason: "unreachable"; jobId: string; error: string };

/** True when a job of the target is in flight (running, or handed over) or blocks it. */
const inFlightOrBlocked = (targetId: SQL) => sql`exists (
  select 1 from ${jobs} a where a.target_id = ${targetId}
    and (a.status in ('running', 'paused', 'error') or (a.status = 'queued' and a.dispatched_at is not null)))`;

export async function dispatchTarget(deps: DispatchDeps, targetId: string): Promise<DispatchOutcome> {
  const job = await deps.db.transaction(async (tx) => {
    // The target row lock serialises dispatchers of one target (relays, resync). NO KEY UPDATE,
    // not UPDATE: a job insert takes KEY SHARE on its target (the foreign key), which UPDATE
    // would block, making every create wait for a dispatch in progress. The claim is a statement
    // of its own so that its snapshot, taken after the lock, sees what the previous holder committed.
    await tx.execute(sql`select 1 from ${targets} where ${targets.id} = ${targetId} for no key update`);
    const [claimed] = await tx
      .update(jobs)
      .set({ dispatchedAt: sql`now()`, dispatchError: null, hatchetRunId: null })
      .where(
        and(
          eq(
            jobs.id,
            sql`(select id from ${jobs} where target_id = ${targetId} and status = 'queued' order by seq limit 1)`,
          ),
          isNull(jobs.dispatchedAt),
          sql`not ${inFlightOrBlocked(sql`${targetId}`)}`,
        ),
      )
      .returning({ id: jobs.id, tenantId: jobs.tenantId, targetId: jobs.targetId, apiName: jobs.apiName });
    return claimed;
  });
  if (!job) return { dispatched: false, reason: "not ready" };

  // The network call happens outside the lock; a failure puts the job back to waiting with the
  // reason on the row, and the next dispatch (relay sweep, resync, any action) tries again.
  try {
    const runId = await deps.scheduler.submit({
      jobId: job.id,
      tenantId: job.tenantId,
      targetId: job.targetId,
      apiName: job.apiName,
    });
    await deps.db
      .update(jobs)
      .set({ hatchetRunId: runId, updatedAt: sql`now()` })
      .where(and(eq(jobs.id, job.id), isNull(jobs.hatchetRunId)));
    return { dispatched: true, jobId: job.id, runId };
  } catch (err) {
    const error = `could not reach the orchestrator: ${(err as Error).message}`;
    await deps.db
      .update(jobs)
      .set({ dispatchedAt: null, dispatchError: error, updatedAt: sql`now()` })
      .where(and(eq(jobs.id, job.id), eq(jobs.status, "queued"), isNull(jobs.hatchetRunId)));
    await addLog(deps.db, job.id, "system", error);
    return { dispatched: false, reason: "unreachable", jobId: job.id, error };
  }
}

/** Jobs handed over more than `olderThanMs` ago whose run has not started. */
export async function staleHandOvers(db: Db, olderThanMs: number) {
  return db
    .select({ id: jobs.id, targetId: jobs.targetId, hatchetRunId: jobs.hatchetRunId })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, "queued"),
        isNotNull(jobs.hatchetRunId),
        sql`${jobs.dispatchedAt} < now() - make_interval(secs => ${olderThanMs / 1000})`,
      ),
    )
    .limit(100);
}

/** Puts a handed-over job that never started back to waiting, with the reason on the row and in its logs. */
export async function withdrawHandOver(db: Db, jobId: string, runId: string | null, why: string): Promise<boolean> {
  const done = await db
    .update(jobs)
    .set({ dispatchedAt: null, hatchetRunId: null, dispatchError: why, updatedAt: sql`now()` })
    .where(
      and(
        eq(jobs.id, jobId),
        eq(jobs.status, "queued"),
        runId === null ? isNull(jobs.hatchetRunId) : eq(jobs.hatchetRunId, runId),
      ),
    )
    .returning({ id: jobs.id });
  if (done.length === 0) return false;
  await addLog(db, jobId, "system", `${why}; the job goes back to waiting`);
  return true;
}

/** The channel the relay LISTENs on; a notification carries a target id whose turn may have come. */
export const DISPATCH_CHANNEL = "switchyard_dispatch";

/**
 * Asks the relay to dispatch the target once the surrounding transaction commits (Postgres delivers
 * a NOTIFY on commit, and drops it on rollback). The relay's sweep catches any it missed.
 */
export async function wakeDispatcher(tx: DbOrTx, targetId: string): Promise<void> {
  await tx.execute(sql`select ${dispatcherWake(targetId)}`);
}

/** The NOTIFY of wakeDispatcher as an expression, for a statement that does more (a job's create). */
export const dispatcherWake = (targetId: string) => sql`pg_notify(${DISPATCH_CHANNEL}, ${targetId})`;

/** Targets with a job waiting and nothing in flight: the ones a sweep should dispatch. */
export async function targetsReadyToDispatch(db: Db, limit = 500): Promise<string[]> {
  const rows = await db.execute<{ target_id: string }>(sql`
    select distinct q.target_id from ${jobs} q
    where q.status = 'queued' and q.dispatched_at is null
      and not ${inFlightOrBlocked(sql`q.target_id`)}
    limit ${limit}`);
  return rows.rows.map((r) => r.target_id);
}

export async function addLog(db: DbOrTx, jobId: string, logType: string, content: unknown): Promise<void> {
  await db.insert(jobLogs).values({ jobId, logType, content });
}
