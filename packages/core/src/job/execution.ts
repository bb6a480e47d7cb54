// The worker's side of a job: begin an attempt, write what the executor reports, end it.
// Deliveries are at least once, so every step is keyed on (job id, attempt): a repeated delivery
// of a finished attempt gets the stored outcome and runs nothing.
import { type Db, jobAttempts, jobHttpExchanges, jobs } from "@switchyard/db";
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

export type Begin =
  | { kind: "run"; job: JobRow }
  | { kind: "replay"; outcome: Record<string, unknown> }
  | { kind: "skip"; reason: string };

export async function beginAttempt(db: Db, d: Delivery): Promise<Begin> {
  return db.transaction(async (tx) => {
    const [job] = await tx
      .select()
      .from(jobs)
      .where(and(eq(jobs.id, d.jobId), eq(jobs.tenantId, d.tenantId)))
      .for("update");
    if (!job) return { kind: "skip", reason: "job not found" };
    const [done] = await tx
      .select()
      .from(jobAttempts)
      .where(and(eq(jobAttempts.jobId, d.jobId), eq(jobAttempts.runId, d.runId), eq(jobAttempts.attempt, d.attempt)));
    if (done?.finishedAt && done.outcome) return { kind: "replay", outcome: done.outcome };
    if (job.hatchetRunId && job.hatchetRunId !== d.runId)
      return { kind: "skip", reason: "run is not the job's current run" };
    // A cancelled job never starts; settled jobs are not run again.
    if (job.status !== "queued" && job.status !== "running") return { kind: "skip", reason: `job is ${job.status}` };
    // Only a job handed to the orchestrator runs: one waiting in Postgres is not its turn yet.
    if (job.status === "queued" && !job.dispatchedAt)
      return { kind: "skip", reason: "job is not handed over to a run" };
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
    const [started] = await tx
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
    await tx
      .insert(jobAttempts)
      .values({ jobId: job.id, runId: d.runId, attempt: d.attempt, targetId: job.targetId })
      .onConflictDoUpdate({
        target: [jobAttempts.jobId, jobAttempts.runId, jobAttempts.attempt],
        set: { startedAt: sql`now()` },
      });
    await addLog(
      tx,
      job.id,
      "system",
      d.attempt === 0 ? "Queue picked up job" : `Queue picked up job (attempt ${d.attempt})`,
    );
    return { kind: "run", job: started ?? job };
  });
}

/** Ends the attempt and, unless another attempt follows, the job. Returns the stored outcome. */
export async function finishAttempt(db: Db, job: JobRow, runId: string, attempt: number, outcome: Outcome) {
  const stored = { ...outcome } as Record<string, unknown>;
  await db.transaction(async (tx) => {
    await tx
      .update(jobAttempts)
      .set({ finishedAt: sql`now()`, outcome: stored })
      .where(and(eq(jobAttempts.jobId, job.id), eq(jobAttempts.runId, runId), eq(jobAttempts.attempt, attempt)));
    if (outcome.status === "retry") {
      await addLog(tx, job.id, "error", `Attempt ${attempt} failed, will retry: ${outcome.error}`);
      return;
    }
    const status: JobStatus = outcome.status;
    const ended = await tx
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
      .returning({ id: jobs.id });
    // A superseded attempt (resync or a cancel ended the job meanwhile) leaves no trace on the job.
    if (ended.length === 0) return;
    const suffix = outcome.status === "success" ? "" : ` and reason: ${outcome.error}`;
    await addLog(tx, job.id, "system", `Job completed with status: ${status}${suffix}`);
    if (status === "paused" || status === "error") {
      await addLog(tx, job.id, "system", `Target ${job.targetId} queue will be paused due to job ${status}`);
    }
  });
  return stored;
}

/** What stop, if any, was asked of a running job (the worker polls this). */
export async function stopRequest(db: Db, jobId: string): Promise<StopRequest | null> {
  const [row] = await db.select({ stop: jobs.stopRequested, status: jobs.status }).from(jobs).where(eq(jobs.id, jobId));
  if (!row) return "cancel";
  // A job that is no longer running (ended by resync, a stop between attempts, the relay) has no
  // use for an executor still working on it.
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
