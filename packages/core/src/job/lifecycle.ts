// The job lifecycle: every change of a job's status (and of its stop request) is one of the
// transitions below, each owning its SQL. Nothing else in switchyard writes `jobs.status` or
// `jobs.stop_requested`. docs/architecture.md draws the picture; in short:
//
//   create ─▶ queued ─handOver─▶ queued, handed over ─recordRun─▶ (run id)
//                ▲  ◀─withdraw / handOverFailed──┘
//                │                 beginAttempt ─▶ running ─finishAttempt─▶ success | error | paused | canceled
//   resume ──────┘ (from paused, error)             │  └─ (retry: stays running, next attempt begins)
//   resolve: paused | error ─▶ success              └─ requestStop: the worker ends it paused or canceled
//   cancel / interrupt of a waiting job ─▶ canceled
//   failFromOrchestrator: queued | running ─▶ error (the run ended or vanished without an answer)
//
// Deliveries are at least once, so the attempt transitions are keyed on (job, run, attempt): a
// repeated delivery of a finished attempt gets the stored outcome and runs nothing.
//
// Being the one place where status changes, it is also where they are logged and counted
// (observe.ts): one line and the metrics per transition that happened.
import { randomUUID } from "node:crypto";
import {
  type Db,
  type DbOrTx,
  idempotencyKeys,
  type JobStatus,
  jobAttempts,
  jobHttpExchanges,
  jobLogs,
  jobs,
  type StopRequest,
  type Tx,
  targets,
} from "@switchyard/db";
import { and, eq, getTableColumns, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { Outcome } from "../contract.ts";
import { SwitchyardError } from "../errors.ts";
import { log, metric } from "../observe.ts";
import { seconds, type Timing } from "../timing.ts";
import { nextJobOf, targetBusy } from "./rule.ts";

export type JobRow = typeof jobs.$inferSelect;

// ---------------------------------------------------------------------------------------------
// Creation and the user's verbs

/**
 * A SQL expression a transition runs inside its own statement or transaction, so that whatever
 * dispatches learns of the change exactly when it commits (the relay's LISTEN/NOTIFY), or null.
 */
export type Wake = ((targetId: string) => SQL) | null;

export interface CreateInput {
  tenantId: string;
  targetId: string;
  apiName: string;
  parameters: Record<string, unknown>;
  /** The client's Idempotency-Key and a hash of its request: a second create with the key makes no job. */
  idempotency?: { key: string; requestHash: string; retentionMs: number };
}

/**
 * Inserts a queued job with its first log line in one statement (one round trip, atomic without
 * BEGIN/COMMIT). The job's row is selected from a share lock on its target, so its `seq` is drawn
 * only once the lock is held and a dispatch (which locks the target exclusively) waits for the
 * commit: a later job of the target can never be handed over while an earlier seq is still
 * uncommitted. Undefined when the target is gone or archived. Raw SQL because drizzle's
 * INSERT … SELECT must list every column of the table.
 */
export async function create(db: Db, input: CreateInput, wake: Wake): Promise<JobRow | undefined> {
  const columns = Object.entries(getTableColumns(jobs));
  const id = randomUUID();
  const { idempotency: key } = input;
  // With a key, the job is made only if the key's row is: a concurrent create with the same key
  // waits for this one's commit, then finds the key taken (an expired key is taken over).
  const keyed = key
    ? sql`, keyed as (
      insert into ${idempotencyKeys} (tenant_id, key, request_hash, job_id)
      select tenant_id, ${key.key}, ${key.requestHash}, ${id} from locked
      on conflict (tenant_id, key) do update
        set request_hash = excluded.request_hash, job_id = excluded.job_id, created_at = now()
        where ${idempotencyKeys.createdAt} < now() - make_interval(secs => ${seconds(key.retentionMs)})
      returning job_id
    )`
    : sql``;
  const result = await db.execute<Record<string, unknown>>(sql`
    with locked as (
      select id, tenant_id from ${targets}
      where id = ${input.targetId} and tenant_id = ${input.tenantId} and archived_at is null
      for share
    )${keyed}, job as (
      insert into ${jobs} (id, tenant_id, target_id, api_name, parameters, status)
      select ${id}, tenant_id, id, ${input.apiName}, ${JSON.stringify(input.parameters)}::jsonb, 'queued'
      from locked ${key ? sql`where exists (select 1 from keyed)` : sql``}
      returning *
    ), first_log as (
      insert into ${jobLogs} (job_id, log_type, content)
      select id, 'system', ${JSON.stringify("Job added to queue")}::jsonb from job
    )
    select ${sql.join(
      columns.map(([key, column]) => sql`${sql.identifier(column.name)} as ${sql.identifier(key)}`),
      sql`, `,
    )}${wake ? sql`, ${wake(input.targetId)} as woke` : sql``}
    from job`);
  const raw = result.rows[0];
  if (!raw) return undefined;
  const job = Object.fromEntries(
    columns.map(([key, column]) => [key, raw[key] == null ? null : column.mapFromDriverValue(raw[key])]),
  ) as JobRow;
  const ids = idsOf(job);
  log.info("job created", { ...ids, api_name: job.apiName });
  metric("JobsCreated", 1, ids);
  return job;
}

/** The ids a job's lines and metrics carry. */
const idsOf = (job: { id: string; tenantId: string; targetId: string }) => ({
  job_id: job.id,
  tenant_id: job.tenantId,
  target_id: job.targetId,
});

/** The job an Idempotency-Key made within the retention window, and the hash of its request. */
export async function findIdempotencyKey(db: Db, tenantId: string, key: string, retentionMs: number) {
  const [row] = await db
    .select({ jobId: idempotencyKeys.jobId, requestHash: idempotencyKeys.requestHash })
    .from(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.tenantId, tenantId),
        eq(idempotencyKeys.key, key),
        sql`${idempotencyKeys.createdAt} >= now() - make_interval(secs => ${seconds(retentionMs)})`,
      ),
    );
  return row;
}

/** Forgets Idempotency-Keys older than the retention window. */
export async function purgeIdempotencyKeys(db: Db, retentionMs: number): Promise<void> {
  await db
    .delete(idempotencyKeys)
    .where(sql`${idempotencyKeys.createdAt} < now() - make_interval(secs => ${seconds(retentionMs)})`);
}

export type UserAction = "cancel" | "interrupt" | "resume" | "resolve";

interface Transition {
  to: JobStatus;
  /** Set when the job is running: the stop is delivered to the worker, which ends the job. */
  stop?: StopRequest;
}

/** What users may ask in which status; anything not listed is an illegal transition (409). */
const userTransitions: Record<UserAction, Partial<Record<JobStatus, Transition>>> = {
  // cancel: waiting jobs end at once; a running job is stopped by its worker and ends `canceled`;
  // a blocking job (paused/error) is cancelled to unblock its target.
  cancel: {
    pending: { to: "canceled" },
    queued: { to: "canceled" },
    running: { to: "running", stop: "cancel" },
    paused: { to: "canceled" },
    error: { to: "canceled" },
  },
  // interrupt: legacy-use's "stop". A running job ends `paused` (resumable). A waiting job is
  // cancelled instead of being put in `error`, which would block its whole target.
  interrupt: {
    pending: { to: "canceled" },
    queued: { to: "canceled" },
    running: { to: "running", stop: "interrupt" },
  },
  resume: { paused: { to: "queued" }, error: { to: "queued" } },
  resolve: { paused: { to: "success" }, error: { to: "success" } },
};

const pastTense: Record<UserAction, string> = {
  cancel: "canceled",
  interrupt: "interrupted",
  resume: "resumed",
  resolve: "resolved",
};

export function allowedFrom(action: UserAction): JobStatus[] {
  return Object.keys(userTransitions[action]) as JobStatus[];
}

function transitionFor(status: JobStatus, action: UserAction): Transition {
  const t = userTransitions[action][status];
  if (!t) {
    throw new SwitchyardError("job.illegal_transition", `Job in status '${status}' cannot be ${pastTense[action]}`, {
      status,
      action,
      allowed_from: allowedFrom(action),
    });
  }
  return t;
}

export interface UserActionResult {
  job: JobRow;
  /** The status the job had before. */
  from: JobStatus;
  /** A run handed to the orchestrator that never started and is now not wanted: cancel it. */
  runToCancel: string | null;
}

/**
 * Cancel, interrupt, resume or resolve the job locked in `tx` (see `lockJob`). A running job is
 * not changed but asked to stop; its worker ends it. `resolve` takes the result to store.
 */
export async function applyUserAction(
  tx: Tx,
  job: JobRow,
  action: UserAction,
  wake: Wake,
  result?: Record<string, unknown>,
): Promise<UserActionResult> {
  const t = transitionFor(job.status, action);
  const set: Partial<typeof jobs.$inferInsert> = { status: t.to, updatedAt: new Date() };
  if (t.stop) set.stopRequested = t.stop;
  else if (t.to === "canceled") set.completedAt = new Date();
  if (action === "resolve")
    Object.assign(set, { result: result ?? {}, error: null, completedAt: job.completedAt ?? new Date() });
  if (action === "resume") {
    // Back to waiting, first in line again (its seq is unchanged), with a fresh run to come.
    Object.assign(set, {
      error: null,
      result: null,
      completedAt: null,
      startedAt: null,
      stopRequested: null,
      dispatchedAt: null,
      hatchetRunId: null,
      dispatchError: null,
    });
  }
  const [updated] = await tx.update(jobs).set(set).where(eq(jobs.id, job.id)).returning();
  await addLog(tx, job.id, "system", userLogLine(action, job.status, t.stop !== undefined));
  if (wake) await tx.execute(sql`select ${wake(job.targetId)}`);
  // A job handed to the orchestrator but not started has a run to withdraw; a running job is
  // stopped by its worker instead (it polls stop_requested), which then ends the run itself.
  const runToCancel = t.to === "canceled" && job.status === "queued" ? job.hatchetRunId : null;
  return { job: updated ?? job, from: job.status, runToCancel };
}

function userLogLine(action: UserAction, from: JobStatus, stopping: boolean): string {
  if (stopping) return action === "cancel" ? "Job cancel requested by user" : "Job interrupt requested by user";
  switch (action) {
    case "cancel":
      return `Job canceled by user request (was ${from}).`;
    case "interrupt":
      return `Job removed from queue due to interrupt request (was ${from}).`;
    case "resume":
      return `Job resumed from ${from} state`;
    case "resolve":
      return "Job manually resolved";
  }
}

/** The job, locked for the rest of the transaction; undefined when the tenant has no such job there. */
export async function lockJob(tx: Tx, tenantId: string, targetId: string, jobId: string) {
  const [job] = await tx
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, jobId), eq(jobs.tenantId, tenantId), eq(jobs.targetId, targetId)))
    .for("no key update");
  return job;
}

// ---------------------------------------------------------------------------------------------
// Hand-over to the orchestrator

export interface HandedOver {
  id: string;
  tenantId: string;
  targetId: string;
  apiName: string;
}

/**
 * Marks the target's next job as handed over, if the dispatch rule lets one go now. The target
 * row lock serialises dispatchers of one target (relays, sweeps, API calls). NO KEY UPDATE, not
 * UPDATE: a job insert takes KEY SHARE on its target (the foreign key), which UPDATE would block,
 * making every create wait for a dispatch in progress. The claim is a statement of its own so that
 * its snapshot, taken after the lock, sees what the previous holder committed.
 */
export async function handOver(db: Db, targetId: string): Promise<HandedOver | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select 1 from ${targets} where ${targets.id} = ${targetId} for no key update`);
    const [claimed] = await tx
      .update(jobs)
      .set({ dispatchedAt: sql`now()`, dispatchError: null, hatchetRunId: null })
      .where(
        and(
          eq(jobs.id, nextJobOf(sql`${targetId}`)),
          isNull(jobs.dispatchedAt),
          sql`not ${targetBusy(sql`${targetId}`)}`,
        ),
      )
      .returning({ id: jobs.id, tenantId: jobs.tenantId, targetId: jobs.targetId, apiName: jobs.apiName });
    return claimed;
  });
}

/** The orchestrator accepted the hand-over: the job's run is now this one. */
export async function recordRun(db: Db, jobId: string, runId: string): Promise<void> {
  const [job] = await db
    .update(jobs)
    .set({ hatchetRunId: runId, updatedAt: sql`now()` })
    .where(and(eq(jobs.id, jobId), isNull(jobs.hatchetRunId)))
    .returning({ id: jobs.id, tenantId: jobs.tenantId, targetId: jobs.targetId });
  if (job) log.info("job handed over to Hatchet", { ...idsOf(job), hatchet_run_id: runId });
}

/**
 * A running job whose attempt outlived the operator's call retries in a run of its own: the job
 * stays running and that run becomes its current one.
 */
export async function replaceRun(db: Db, jobId: string, fromRunId: string, toRunId: string): Promise<boolean> {
  const done = await db
    .update(jobs)
    .set({ hatchetRunId: toRunId, updatedAt: sql`now()` })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "running"), eq(jobs.hatchetRunId, fromRunId)))
    .returning({ id: jobs.id });
  return done.length > 0;
}

/** The trigger failed: the job waits again, with the reason on the row and in its logs. */
export async function handOverFailed(db: Db, jobId: string, error: string): Promise<void> {
  const [back] = await db
    .update(jobs)
    .set({ dispatchedAt: null, dispatchError: error, updatedAt: sql`now()` })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "queued"), isNull(jobs.hatchetRunId)))
    .returning({ id: jobs.id, tenantId: jobs.tenantId, targetId: jobs.targetId });
  if (!back) return;
  await addLog(db, jobId, "system", error);
  log.warn("hand-over to Hatchet failed; the job waits again", { ...idsOf(back), reason: error });
  metric("HandOverFailures", 1, idsOf(back));
}

/**
 * Puts a handed-over job that never started back to waiting: `runId` names the run withdrawn, or
 * null for a hand-over that never got one. False when the job moved on meanwhile.
 */
export async function withdraw(db: Db, jobId: string, runId: string | null, why: string): Promise<boolean> {
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
    .returning({ id: jobs.id, tenantId: jobs.tenantId, targetId: jobs.targetId });
  const [back] = done;
  if (!back) return false;
  await addLog(db, jobId, "system", `${why}; the job goes back to waiting`);
  log.warn("job withdrawn from Hatchet; it waits again", { ...idsOf(back), reason: why });
  return true;
}

/**
 * Hand-overs whose dispatcher died between the claim and the trigger's answer (no run id after
 * `lostHandOverMs`) go back to waiting; returns their targets, which may be dispatched again.
 */
export async function withdrawLostHandOvers(
  db: Db,
  timing: Pick<Timing, "lostHandOverMs">,
  tenantId?: string,
): Promise<Array<{ jobId: string; targetId: string }>> {
  const why = `the hand-over to Hatchet got no run within ${Math.round(timing.lostHandOverMs / 1000)} s`;
  const { rows } = await db.execute<{ id: string; target_id: string }>(sql`
    with lost as (
      update ${jobs} set dispatched_at = null, dispatch_error = ${why}, updated_at = now()
      where status = 'queued' and hatchet_run_id is null
        and dispatched_at < now() - make_interval(secs => ${seconds(timing.lostHandOverMs)})
        ${tenantId ? sql`and tenant_id = ${tenantId}` : sql``}
      returning id, target_id
    ), logged as (
      insert into ${jobLogs} (job_id, log_type, content)
      select id, 'system', to_jsonb(${`${why}; the job goes back to waiting`}::text) from lost
    )
    select id, target_id from lost`);
  for (const r of rows)
    log.warn("lost hand-over repaired; the job waits again", { job_id: r.id, target_id: r.target_id });
  return rows.map((r) => ({ jobId: r.id, targetId: r.target_id }));
}

/**
 * Hand-overs older than `olderThanMs` whose run has not started (the held-run checks), oldest
 * first, with how long each has waited, by Postgres's clock.
 */
export async function staleHandOvers(db: Db, olderThanMs: number) {
  // The longest waits first, so the limit never hides the ones the checks are for.
  return db
    .select({
      id: jobs.id,
      targetId: jobs.targetId,
      hatchetRunId: jobs.hatchetRunId,
      waitedMs: sql<number>`extract(epoch from now() - ${jobs.dispatchedAt}) * 1000`.mapWith(Number),
    })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, "queued"),
        sql`${jobs.hatchetRunId} is not null`,
        sql`${jobs.dispatchedAt} < now() - make_interval(secs => ${seconds(olderThanMs)})`,
      ),
    )
    .orderBy(jobs.dispatchedAt)
    .limit(100);
}

/** Marks a job whose run failed without a worker's answer (a timeout, a crash, a lost run) as failed. */
export async function failFromOrchestrator(db: Db, jobId: string, error: string): Promise<boolean> {
  const updated = await db
    .update(jobs)
    .set({ status: "error", error, completedAt: sql`now()`, updatedAt: sql`now()`, stopRequested: null })
    .where(and(eq(jobs.id, jobId), inArray(jobs.status, ["queued", "running"])))
    .returning({ id: jobs.id, tenantId: jobs.tenantId, targetId: jobs.targetId });
  const [failed] = updated;
  if (!failed) return false;
  await addLog(db, jobId, "error", error);
  log.warn("job failed without a worker's answer", { ...idsOf(failed), status: "error", reason: error });
  metric("JobsFinished", 1, { ...idsOf(failed), status: "error" });
  // The attempts no worker will end (it crashed or its answer was lost) are closed with the job.
  await db
    .update(jobAttempts)
    .set({ finishedAt: sql`now()`, outcome: { status: "abandoned", error } })
    .where(and(eq(jobAttempts.jobId, jobId), isNull(jobAttempts.finishedAt)));
  return true;
}

// ---------------------------------------------------------------------------------------------
// Attempts (the worker's side)

export interface AttemptKey {
  jobId: string;
  /** The orchestrator's run id; a run that is not the job's current one is stale. */
  runId: string;
  attempt: number;
}

export type Begin =
  | { kind: "run"; job: JobRow }
  /** An earlier delivery of this job still runs on a worker: ask again when it has ended. */
  | { kind: "busy"; reason: string }
  | { kind: "replay"; outcome: Outcome }
  | { kind: "skip"; reason: string };

export async function beginAttempt(
  db: Db,
  d: AttemptKey & { tenantId: string },
  timing: Pick<Timing, "attemptLeaseMs">,
): Promise<Begin> {
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
    if (done?.finishedAt && done.outcome) return { kind: "replay", outcome: done.outcome as Outcome };
    if (job.hatchetRunId && job.hatchetRunId !== d.runId)
      return { kind: "skip", reason: "run is not the job's current run" };
    // A cancelled job never starts; settled jobs are not run again.
    if (job.status !== "queued" && job.status !== "running") return { kind: "skip", reason: `job is ${job.status}` };
    // Only a job handed to the orchestrator runs: one waiting in Postgres is not its turn yet.
    if (job.status === "queued" && !job.dispatchedAt)
      return { kind: "skip", reason: "job is not handed over to a run" };
    // An earlier delivery may still run the job on a worker (a cut connection) or be gone (a
    // crash): its heartbeat tells which.
    const live = await takeOverAbandoned(tx, job.id, timing.attemptLeaseMs);
    if (live) return { kind: "busy", reason: `attempt ${live.attempt} of this job is still running on a worker` };
    if (job.stopRequested) {
      // A stop asked between two attempts (the last one ended "retry") is carried out here: no
      // executor is left to see it.
      if (job.status === "running") {
        await endJob(tx, job.id, stoppedOutcome(job.stopRequested));
        await addLog(tx, job.id, "system", `Job ${pastTense[job.stopRequested]} between attempts`);
      }
      return { kind: "skip", reason: `job ${pastTense[job.stopRequested]} before start` };
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
    const begun = started ?? job;
    startedLines(begun, d);
    return { kind: "run", job: begun };
  });
}

/** The attempt's line; for a first attempt, how long the job waited and how long the hand-off took. */
function startedLines(job: JobRow, d: AttemptKey) {
  const ids = { ...idsOf(job), hatchet_run_id: d.runId, attempt: d.attempt };
  log.info("attempt started", { ...ids, api_name: job.apiName });
  if (d.attempt !== 0 || !job.startedAt) return;
  metric("JobsStarted", 1, ids);
  // Both ends are Postgres clock readings, so the differences hold across machines.
  metric("QueueWait", job.startedAt.getTime() - job.createdAt.getTime(), ids);
  if (job.dispatchedAt) metric("HandOffTime", job.startedAt.getTime() - job.dispatchedAt.getTime(), ids);
}

/** How a stop request ends a running job. */
export function stoppedOutcome(stop: StopRequest): Extract<Outcome, { status: "canceled" | "paused" }> {
  return stop === "cancel"
    ? { status: "canceled", error: "Job was canceled by user" }
    : { status: "paused", error: "Job was interrupted by user" };
}

/** The job's columns once an attempt's outcome has ended it. */
const endedBy = (outcome: Exclude<Outcome, { status: "retry" }>) => ({
  status: outcome.status,
  result: outcome.status === "success" ? outcome.result : null,
  error: outcome.status === "success" ? null : outcome.error,
  completedAt: sql`now()`,
  updatedAt: sql`now()`,
  stopRequested: null,
});

async function endJob(tx: DbOrTx, jobId: string, outcome: Exclude<Outcome, { status: "retry" }>) {
  await tx.update(jobs).set(endedBy(outcome)).where(eq(jobs.id, jobId));
}

/**
 * Closes the job's open attempts whose heartbeat is older than the lease, as of their last
 * heartbeat (when their worker was last seen), and returns an open attempt that is still alive.
 */
async function takeOverAbandoned(tx: DbOrTx, jobId: string, leaseMs: number) {
  const lease = sql`now() - make_interval(secs => ${seconds(leaseMs)})`;
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
 * The running attempt's heartbeat (its worker calls this every `heartbeatMs`): keeps the attempt's
 * lease and answers what stop, if any, was asked of it. An attempt that is no longer the job's own
 * (taken over, or the job ended by resync, a stop between attempts, the relay) is told to cancel.
 */
export async function heartbeat(db: Db, key: AttemptKey): Promise<StopRequest | null> {
  const { rows } = await db.execute<{ alive: boolean; stop: StopRequest | null; status: JobStatus }>(sql`
    with beat as (
      update ${jobAttempts} set heartbeat_at = now()
      where job_id = ${key.jobId} and run_id = ${key.runId} and attempt = ${key.attempt} and finished_at is null
      returning 1)
    select exists (select 1 from beat) as alive, stop_requested as stop, status
    from ${jobs} where id = ${key.jobId}`);
  const [row] = rows;
  if (!row?.alive) return "cancel";
  if (row.status !== "running") return row.stop ?? "cancel";
  return row.stop;
}

/** How many attempts of the job's run started before this one. */
export async function startedAttempts(db: Db, key: AttemptKey): Promise<number> {
  const { rows } = await db.execute<{ n: number }>(sql`
    select count(*)::int as n from ${jobAttempts}
    where job_id = ${key.jobId} and run_id = ${key.runId} and attempt < ${key.attempt}`);
  return rows[0]?.n ?? 0;
}

/** The attempt's row while it is still open. */
const openAttempt = (key: AttemptKey) =>
  and(
    eq(jobAttempts.jobId, key.jobId),
    eq(jobAttempts.runId, key.runId),
    eq(jobAttempts.attempt, key.attempt),
    isNull(jobAttempts.finishedAt),
  );

/** The attempt outlived the operator's call and runs on without it (direct mode). */
export async function markDetached(db: Db, key: AttemptKey): Promise<void> {
  await db.update(jobAttempts).set({ detachedAt: sql`now()` }).where(openAttempt(key));
}

export interface AbandonedAttempt extends AttemptKey {
  tenantId: string;
  targetId: string;
  apiName: string;
}

/**
 * Detached attempts whose worker stopped (no heartbeat for the lease) while they still owned their
 * running job. Nobody would deliver them again: they are closed as abandoned here, and returned so
 * the caller retries the job in a new run or fails it.
 */
export async function closeAbandonedDetached(
  db: Db,
  timing: Pick<Timing, "attemptLeaseMs">,
): Promise<AbandonedAttempt[]> {
  const { rows } = await db.execute<{
    job_id: string;
    run_id: string;
    attempt: number;
    tenant_id: string;
    target_id: string;
    api_name: string;
  }>(sql`
    update ${jobAttempts} a
    set finished_at = greatest(a.started_at, a.heartbeat_at),
        outcome = jsonb_build_object('status', 'abandoned', 'error', 'no heartbeat from its worker since ' || a.heartbeat_at::text)
    from ${jobs} j
    where j.id = a.job_id and a.detached_at is not null and a.finished_at is null
      and a.heartbeat_at < now() - make_interval(secs => ${seconds(timing.attemptLeaseMs)})
      and j.status = 'running' and j.hatchet_run_id = a.run_id and j.attempt = a.attempt
    returning a.job_id, a.run_id, a.attempt, j.tenant_id, j.target_id, j.api_name`);
  return rows.map((r) => ({
    jobId: r.job_id,
    runId: r.run_id,
    attempt: r.attempt,
    tenantId: r.tenant_id,
    targetId: r.target_id,
    apiName: r.api_name,
  }));
}

/** The orchestrator cancelled the job's run: the running attempt's worker sees it as a cancel. */
export async function requestStop(db: Db, jobId: string, stop: StopRequest): Promise<void> {
  await db
    .update(jobs)
    .set({ stopRequested: stop })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "running")));
}

/**
 * Ends the attempt and, unless another attempt follows, the job; returns the stored outcome. One
 * statement (one round trip, atomic): close the attempt, end the job if this attempt still owns
 * it, and log the end only if it did.
 */
export async function finishAttempt(db: Db, job: JobRow, key: AttemptKey, outcome: Outcome): Promise<Outcome> {
  const closeAttempt = db.$with("close_attempt").as(
    db
      .update(jobAttempts)
      .set({ finishedAt: sql`now()`, outcome })
      // An attempt a later one took over stays closed as of its last heartbeat.
      .where(openAttempt(key)),
  );
  const ids = { ...idsOf(job), hatchet_run_id: key.runId, attempt: key.attempt };
  if (outcome.status === "retry") {
    await db
      .with(closeAttempt)
      .insert(jobLogs)
      .values({
        jobId: key.jobId,
        logType: "error",
        content: `Attempt ${key.attempt} failed, will retry: ${outcome.error}`,
      });
    log.warn("attempt failed; another follows", { ...ids, reason: outcome.error });
    return outcome;
  }
  const ended = db.$with("ended").as(
    db
      .update(jobs)
      .set(endedBy(outcome))
      // Only the attempt that owns the running job may end it.
      .where(
        and(
          eq(jobs.id, key.jobId),
          eq(jobs.status, "running"),
          eq(jobs.hatchetRunId, key.runId),
          eq(jobs.attempt, key.attempt),
        ),
      )
      .returning({ id: jobs.id }),
  );
  const suffix = outcome.status === "success" ? "" : ` and reason: ${outcome.error}`;
  const lines = [`Job completed with status: ${outcome.status}${suffix}`];
  if (outcome.status === "paused" || outcome.status === "error") {
    lines.push(`Target ${job.targetId} queue will be paused due to job ${outcome.status}`);
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
  const [endedJob] = await db.with(closeAttempt, ended, logged).select({ id: ended.id }).from(ended);
  if (endedJob) {
    const reason = outcome.status === "success" ? {} : { reason: outcome.error };
    log.info("job finished", { ...ids, status: outcome.status, ...reason });
    metric("JobsFinished", 1, { ...ids, status: outcome.status });
  } else {
    log.info("attempt ended after its job had moved on; the job is unchanged", { ...ids, status: outcome.status });
  }
  return outcome;
}

/** A log line of the job (the worker's executors write theirs through the job context). */
export async function addLog(db: DbOrTx, jobId: string, logType: string, content: unknown): Promise<void> {
  await db.insert(jobLogs).values({ jobId, logType, content });
}

/** An HTTP exchange an executor made, and the tokens it spent (added to the job's totals). */
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
