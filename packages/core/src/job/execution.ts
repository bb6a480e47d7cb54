// The worker's side of a job: begin an attempt, write what the executor reports, end it.
// Deliveries are at least once, so every step is keyed on (job id, attempt): a repeated delivery
// of a finished attempt gets the stored outcome and runs nothing.
import { type Db, type DbOrTx, jobAttempts, jobHttpExchanges, jobLogs, jobs } from "@switchyard/db";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { addLog } from "./dispatch.ts";
import type { JobStatus, StopRequest } from "./status.ts";

type JobRow = typeof jobs.$inferSelect;

export interface Delivery {
  jobId: string;
  tenantId: string;
  /** The orchestrator's run id; a run that is not the job's current one is stale. */
  runId: string;
  attempt: number;
}

export type Outcome =
  | { status: "success"; result: unknown }
  | { status: "error"; error: string; retryable: boolean }
  | { status: "paused"; error: string }
  | { status: "canceled"; error: string }
  /** The attempt failed but another will follow: the job stays running. */
  | { status: "retry"; error: string };

/**
 * How long an open attempt stays owned by its worker without a heartbeat. The worker beats every
 * poll (250 ms) and gives its attempt up after half the lease without one (see `heartbeat`), so
 * when a later attempt takes over, the earlier one has stopped: no two executors of a job overlap.
 */
export const ATTEMPT_LEASE_MS = 5000;

export type Begin =
  | { kind: "run"; job: JobRow }
  /** An earlier delivery of this job still runs on a worker: ask again when it has ended. */
  | { kind: "busy"; reason: string }
  | { kind: "replay"; outcome: Record<string, unknown> }
  | { kind: "skip"; reason: string };

export async function beginAttempt(db: Db, d: Delivery): Promise<Begin> {
  return db.transaction(async (tx) => {
    const [found] = await tx
      .select({ job: jobs, done: { finishedAt: jobAttempts.finishedAt, outcome: jobAttempts.outcome } })
      .from(jobs)
      .leftJoin(
        jobAttempts,
        and(eq(jobAttempts.jobId, jobs.id), eq(jobAttempts.runId, d.runId), eq(jobAttempts.attempt, d.attempt)),
      )
      .where(and(eq(jobs.id, d.jobId), eq(jobs.tenantId, d.tenantId)))
      .for("no key update", { of: jobs });
    if (!found) return { kind: "skip", reason: "job not found" };
    const { job, done } = found;
    if (done?.finishedAt && done.outcome) return { kind: "replay", outcome: done.outcome };
    if (job.hatchetRunId && job.hatchetRunId !== d.runId)
      return { kind: "skip", reason: "run is not the job's current run" };
    // A cancelled job never starts; settled jobs are not run again.
    if (job.status !== "queued" && job.status !== "running") return { kind: "skip", reason: `job is ${job.status}` };
    // Only a job handed to the orchestrator runs: one waiting in Postgres is not its turn yet.
    if (job.status === "queued" && !job.dispatchedAt)
      return { kind: "skip", reason: "job is not handed over to a run" };
    // The relay retries when it loses a worker's answer, but the worker may still be running the
    // attempt (a cut connection) or be gone (a crash). Its heartbeat tells which.
    const live = await takeOverAbandoned(tx, job.id);
    if (live) return { kind: "busy", reason: `attempt ${live.attempt} of this job is still running on a worker` };
    if (job.stopRequested) {
      // A stop asked between two attempts (the last one ended "retry") is carried out here: no
      // executor is left to see it.
      if (job.status === "running") {
        const cancel = job.stopRequested === "cancel";
        await tx
          .update(jobs)
          .set({
            status: cancel ? "canceled" : "paused",
            error: cancel ? "Job was canceled by user" : "Job was interrupted by user",
            completedAt: sql`now()`,
            updatedAt: sql`now()`,
            stopRequested: null,
          })
          .where(eq(jobs.id, job.id));
        await addLog(tx, job.id, "system", `Job ${cancel ? "canceled" : "interrupted"} between attempts`);
      }
      return {
        kind: "skip",
        reason: `job ${job.stopRequested === "cancel" ? "canceled" : "interrupted"} before start`,
      };
    }
    // The attempt row, the log line and the job's update go in one statement (one round trip).
    const attemptRow = tx.$with("attempt_row").as(
      tx
        .insert(jobAttempts)
        .values({ jobId: job.id, runId: d.runId, attempt: d.attempt, targetId: job.targetId })
        .onConflictDoUpdate({
          target: [jobAttempts.jobId, jobAttempts.runId, jobAttempts.attempt],
          set: { startedAt: sql`now()`, heartbeatAt: sql`now()`, finishedAt: null, outcome: null },
        }),
    );
    const pickedUp = tx.$with("picked_up").as(
      tx.insert(jobLogs).values({
        jobId: job.id,
        logType: "system",
        content: d.attempt === 0 ? "Queue picked up job" : `Queue picked up job (attempt ${d.attempt})`,
      }),
    );
    const [started] = await tx
      .with(attemptRow, pickedUp)
      .update(jobs)
      .set({
        status: "running",
        attempt: d.attempt,
        hatchetRunId: d.runId,
        startedAt: job.startedAt ?? sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(eq(jobs.id, job.id))
      .returning();
    return { kind: "run", job: started ?? job };
  });
}

/**
 * Closes the job's open attempts whose heartbeat is older than the lease, as of their last
 * heartbeat (when their worker was last seen), and returns an open attempt that is still alive.
 */
async function takeOverAbandoned(tx: DbOrTx, jobId: string): Promise<{ attempt: number } | undefined> {
  const lease = sql`now() - make_interval(secs => ${ATTEMPT_LEASE_MS / 1000})`;
  // One statement: the closing update and the select share a snapshot, so the select keeps to
  // the attempts the update left open (fresh heartbeats).
  const { rows } = await tx.execute<{ attempt: number }>(sql`
    with closed as (
      update ${jobAttempts}
      set finished_at = greatest(started_at, heartbeat_at),
          outcome = jsonb_build_object('status', 'abandoned', 'error', 'no heartbeat from its worker since ' || heartbeat_at::text)
      where job_id = ${jobId} and finished_at is null and heartbeat_at < ${lease})
    select attempt from ${jobAttempts}
    where job_id = ${jobId} and finished_at is null and heartbeat_at >= ${lease}
    limit 1`);
  return rows[0];
}

/**
 * Ends the attempt and, unless another attempt follows, the job. Returns the stored outcome. One
 * statement (one round trip, atomic): close the attempt, end the job if this attempt still owns
 * it, and log the end only if it did.
 */
export async function finishAttempt(db: Db, job: JobRow, runId: string, attempt: number, outcome: Outcome) {
  const stored = { ...outcome } as Record<string, unknown>;
  const closeAttempt = db.$with("close_attempt").as(
    db
      .update(jobAttempts)
      .set({ finishedAt: sql`now()`, outcome: stored })
      .where(
        and(
          eq(jobAttempts.jobId, job.id),
          eq(jobAttempts.runId, runId),
          eq(jobAttempts.attempt, attempt),
          // An attempt a later one took over stays closed as of its last heartbeat.
          isNull(jobAttempts.finishedAt),
        ),
      ),
  );
  if (outcome.status === "retry") {
    await db
      .with(closeAttempt)
      .insert(jobLogs)
      .values({ jobId: job.id, logType: "error", content: `Attempt ${attempt} failed, will retry: ${outcome.error}` });
    return stored;
  }
  const status: JobStatus = outcome.status;
  const ended = db.$with("ended").as(
    db
      .update(jobs)
      .set({
        status,
        result: outcome.status === "success" ? outcome.result : null,
        error: outcome.status === "success" ? null : outcome.error,
        completedAt: sql`now()`,
        updatedAt: sql`now()`,
        stopRequested: null,
      })
      // Only the attempt that owns the running job may end it.
      .where(
        and(eq(jobs.id, job.id), eq(jobs.status, "running"), eq(jobs.hatchetRunId, runId), eq(jobs.attempt, attempt)),
      )
      .returning({ id: jobs.id }),
  );
  const suffix = outcome.status === "success" ? "" : ` and reason: ${outcome.error}`;
  const lines = [`Job completed with status: ${status}${suffix}`];
  if (status === "paused" || status === "error") {
    lines.push(`Target ${job.targetId} queue will be paused due to job ${status}`);
  }
  // A superseded attempt (resync or a cancel ended the job meanwhile) leaves no trace on the job:
  // the lines are inserted once per row `ended` returns, so none when it returned none.
  const values = sql.join(
    lines.map((line, i) => sql`(${i}, ${JSON.stringify(line)}::jsonb)`),
    sql`, `,
  );
  const logged = db.$with("logged", { jobId: jobLogs.jobId }).as(sql`
    insert into ${jobLogs} (job_id, log_type, content)
    select ${ended.id}, 'system', l.content from ${ended}, (values ${values}) as l(n, content)
    order by l.n
    returning job_id`);
  await db.with(closeAttempt, ended, logged).select({ id: ended.id }).from(ended);
  return stored;
}

/**
 * The running attempt's heartbeat (the worker calls this every poll): keeps the attempt's lease
 * and answers what stop, if any, was asked of it. An attempt that is no longer the job's own
 * (taken over, or the job ended by resync, a stop between attempts, the relay) is told to cancel.
 */
export async function heartbeat(db: Db, d: Omit<Delivery, "tenantId">): Promise<StopRequest | null> {
  const { rows } = await db.execute<{ alive: boolean; stop: StopRequest | null; status: JobStatus }>(sql`
    with beat as (
      update ${jobAttempts} set heartbeat_at = now()
      where job_id = ${d.jobId} and run_id = ${d.runId} and attempt = ${d.attempt} and finished_at is null
      returning 1)
    select exists (select 1 from beat) as alive, stop_requested as stop, status
    from ${jobs} where id = ${d.jobId}`);
  const [row] = rows;
  if (!row?.alive) return "cancel";
  if (row.status !== "running") return row.stop ?? "cancel";
  return row.stop;
}

export async function recordExchange(
  db: Db,
  jobId: string,
  attempt: number,
  content: Record<string, unknown>,
  tokens?: { input: number; output: number },
) {
  await db.insert(jobHttpExchanges).values({ jobId, attempt, content });
  if (tokens && (tokens.input > 0 || tokens.output > 0)) {
    await db
      .update(jobs)
      .set({
        totalInputTokens: sql`coalesce(${jobs.totalInputTokens}, 0) + ${tokens.input}`,
        totalOutputTokens: sql`coalesce(${jobs.totalOutputTokens}, 0) + ${tokens.output}`,
      })
      .where(eq(jobs.id, jobId));
  }
}

/** Marks a job whose run failed without a worker answer (timeout, crash) as failed. */
export async function failFromOrchestrator(db: Db, jobId: string, error: string): Promise<boolean> {
  const updated = await db
    .update(jobs)
    .set({ status: "error", error, completedAt: sql`now()`, updatedAt: sql`now()`, stopRequested: null })
    .where(and(eq(jobs.id, jobId), inArray(jobs.status, ["queued", "running"])))
    .returning({ id: jobs.id });
  if (updated.length === 0) return false;
  await addLog(db, jobId, "error", error);
  // The attempts no worker will end (it crashed or its answer was lost) are closed with the job.
  await db
    .update(jobAttempts)
    .set({ finishedAt: sql`now()`, outcome: { status: "abandoned", error } })
    .where(and(eq(jobAttempts.jobId, jobId), isNull(jobAttempts.finishedAt)));
  return true;
}
export { addLog } from "./dispatch.ts";
