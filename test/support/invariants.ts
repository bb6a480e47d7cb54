// The system's invariants, checked from what Postgres recorded (and, when given, what Hatchet
// says about the runs). Any test can call it after (or during) a workload:
//
//   const report = await checkInvariants(t.database.db, { tenantIds: [tenant.id], settled: true });
//   expect(report.violations).toEqual([]);
//
// Every violation is one line that starts with its kind in brackets, so tests can match on it:
//
// [state]   every accepted job is terminal (success, canceled) or visibly waiting or blocked:
//           - queued: waiting in Postgres (not handed over) or handed over with a run id. A job
//             waiting on an idle target (nothing in flight, nothing blocking, no older job waiting,
//             no dispatch error recorded) for longer than `graceMs` is stuck: nobody will submit it.
//             A hand-over without a run id is allowed for `graceMs` (the trigger call is in flight).
//           - running: an attempt of its current run is open (no finished_at), or the last one
//             ended with "retry" and the next is due.
//           - paused, error: carry a reason in `error`.
//           - pending: never answered by the API, so never valid.
//           With `settled: true`, queued and running are violations too (the workload is over).
// [overlap] no target had two attempts running at once: the [started_at, finished_at) intervals of
//           the attempts of one target do not intersect. An attempt without finished_at counts as
//           still running (an attempt abandoned by a crashed worker therefore overlaps whatever
//           ran next: the checker cannot know that the crashed process stopped).
// [fifo]    per target, jobs first start in `seq` order: ordering the jobs that ever started by
//           their first attempt's started_at gives increasing seq, and no job starts while an older
//           job of the target still waits unstarted. Only the first start of a job counts: a
//           resumed job (attempts from more than one run) runs again later, after jobs created
//           after it may have run, and that is allowed. `concurrentCreateMs` tolerates inversions
//           between jobs created that close together (concurrent creates commit in any order).
// [cancel]  nothing ran after its cancel was acknowledged: a job cancelled while queued (its log
//           says "Job canceled by user request (was queued)." or "Job removed from queue due to
//           interrupt request (was queued).") has no attempt that started after that log line.
// [hatchet] (with `hatchet`) a job that is running, or queued and handed over with a run id, has
//           a run that Hatchet reports QUEUED or RUNNING. Each finding is confirmed by reading the
//           job again, so a job that simply finished meanwhile is not reported. Two engine states
//           are transient: a run handed over less than `graceMs` ago may still be NOT_FOUND (the
//           engine registers it after answering the trigger), and a run whose last attempt ended
//           "retry" is reported FAILED until the retry starts (within the 30 s backoff + `graceMs`).
import { mapLimit } from "@switchyard/core";
import { type Db, jobAttempts, jobLogs, jobs, type Tx } from "@switchyard/db";
import { and, desc, eq, inArray, type SQL, sql } from "drizzle-orm";

export interface InvariantOptions {
  /** Only these tenants' jobs; every tenant when left out. */
  tenantIds?: string[];
  /** The workload is over: no job may be queued or running. */
  settled?: boolean;
  /** Checks running and handed-over jobs against their Hatchet runs. */
  hatchet?: { runState(runId: string): Promise<string> };
  /** How long a transient state may last before it counts as stuck (default 15 s). */
  graceMs?: number;
  /** Jobs of one target created within this many ms of each other may start in either order (default 0). */
  concurrentCreateMs?: number;
}

export interface InvariantStats {
  jobs: number;
  targets: number;
  attempts: number;
  byStatus: Record<string, number>;
  /** Jobs with attempts from more than one run (resumed). */
  resumed: number;
  /** Jobs cancelled (or interrupted) while queued. */
  canceledWhileQueued: number;
  /** Runs asked of Hatchet. */
  hatchetRunsChecked: number;
}

export interface InvariantReport {
  ok: boolean;
  violations: string[];
  stats: InvariantStats;
}

/** The job workflow's longest backoff between attempts (packages/relay: backoff maxSeconds 30). */
const RETRY_BACKOFF_MS = 30_000;

export const CANCELED_WHILE_QUEUED_LOGS = [
  "Job canceled by user request (was queued).",
  "Job removed from queue due to interrupt request (was queued).",
];

type JobRow = Pick<
  typeof jobs.$inferSelect,
  | "id"
  | "seq"
  | "tenantId"
  | "targetId"
  | "status"
  | "error"
  | "createdAt"
  | "updatedAt"
  | "dispatchedAt"
  | "hatchetRunId"
  | "dispatchError"
  | "attempt"
>;
type AttemptRow = Omit<typeof jobAttempts.$inferSelect, "heartbeatAt" | "detachedAt">;

export async function checkInvariants(db: Db, opts: InvariantOptions = {}): Promise<InvariantReport> {
  const graceMs = opts.graceMs ?? 15_000;
  const concurrentMs = opts.concurrentCreateMs ?? 0;
  const violations: string[] = [];
  if (opts.tenantIds?.length === 0) return { ok: true, violations, stats: emptyStats() };
  const inTenants = opts.tenantIds ? inArray(jobs.tenantId, opts.tenantIds) : undefined;

  // One consistent snapshot (and one clock: the database's, which wrote every timestamp compared).
  const snap = await db.transaction((tx) => readSnapshot(tx, inTenants), {
    isolationLevel: "repeatable read",
    accessMode: "read only",
  });
  const { now, jobRows, attemptRows } = snap;
  const attemptsByJob = groupBy(attemptRows, (a) => a.jobId);
  const jobsByTarget = groupBy(jobRows, (j) => j.targetId);
  const byStatus: Record<string, number> = {};
  for (const j of jobRows) byStatus[j.status] = (byStatus[j.status] ?? 0) + 1;

  // [state]
  for (const job of jobRows) {
    const problem = stateProblem(job, attemptsByJob.get(job.id) ?? [], jobsByTarget.get(job.targetId) ?? [], {
      now,
      graceMs,
      settled: opts.settled ?? false,
    });
    if (problem) violations.push(`[state] job ${job.id} (target ${job.targetId}): ${problem}`);
  }

  // [overlap]
  for (const a of attemptRows) {
    if (a.finishedAt && a.finishedAt < a.startedAt) {
      violations.push(
        `[overlap] attempt ${a.jobId}/${a.runId}/${a.attempt} finished (${a.finishedAt.toISOString()}) before it started (${a.startedAt.toISOString()})`,
      );
    }
  }
  for (const o of snap.overlaps) {
    const span = (start: Date, end: Date | null) =>
      `[${new Date(start).toISOString()}, ${end ? new Date(end).toISOString() : "still running"})`;
    violations.push(
      `[overlap] target ${o.target_id}: attempt ${o.a_job}/${o.a_run}/${o.a_attempt} ${span(o.a_start, o.a_end)} ` +
        `overlaps attempt ${o.b_job}/${o.b_run}/${o.b_attempt} ${span(o.b_start, o.b_end)}`,
    );
  }

  // [fifo]
  for (const [targetId, targetJobs] of jobsByTarget) {
    violations.push(...fifoProblems(targetId, targetJobs, attemptsByJob, concurrentMs));
  }

  // [cancel]
  const { cancelLogs } = snap;
  for (const log of cancelLogs) {
    for (const a of attemptsByJob.get(log.jobId) ?? []) {
      if (a.startedAt > log.timestamp) {
        violations.push(
          `[cancel] job ${log.jobId} was cancelled while queued at ${log.timestamp.toISOString()} ` +
            `but attempt ${a.runId}/${a.attempt} started at ${a.startedAt.toISOString()}`,
        );
      }
    }
  }

  // [hatchet]
  let hatchetRunsChecked = 0;
  if (opts.hatchet) {
    const hatchet = opts.hatchet;
    const inFlight = jobRows.filter(
      (j) => j.hatchetRunId && (j.status === "running" || (j.status === "queued" && j.dispatchedAt)),
    );
    hatchetRunsChecked = inFlight.length;
    const found = await mapLimit(inFlight, 8, async (job) => {
      const runId = job.hatchetRunId ?? "";
      const status = await hatchet.runState(runId).catch((err: Error) => `unreadable (${err.message})`);
      if (status === "QUEUED" || status === "RUNNING") return undefined;
      // A run triggered a moment ago may not be readable yet (the trigger answers before it is).
      const handedOver = job.dispatchedAt?.getTime() ?? 0;
      if (status === "NOT_FOUND" && now.getTime() - handedOver <= graceMs) return undefined;
      // Confirm: the job may have moved on between the two reads.
      const [again] = await db
        .select({ status: jobs.status, runId: jobs.hatchetRunId, attempt: jobs.attempt })
        .from(jobs)
        .where(eq(jobs.id, job.id));
      if (!again || again.status !== job.status || again.runId !== runId || again.attempt !== job.attempt) return;
      // Between a failed attempt and its retry the engine reports the run FAILED; the retry is
      // due within the workflow's backoff (at most 30 s).
      const [last] = await db
        .select({ finishedAt: jobAttempts.finishedAt, outcome: jobAttempts.outcome })
        .from(jobAttempts)
        .where(and(eq(jobAttempts.jobId, job.id), eq(jobAttempts.runId, runId)))
        .orderBy(desc(jobAttempts.attempt))
        .limit(1);
      const retryDue =
        (last?.outcome as { status?: string } | null)?.status === "retry" &&
        last?.finishedAt !== null &&
        last?.finishedAt !== undefined &&
        Date.now() - last.finishedAt.getTime() <= RETRY_BACKOFF_MS + graceMs;
      if (status === "FAILED" && retryDue) return;
      return `[hatchet] job ${job.id} is ${job.status} with run ${runId}, which Hatchet reports ${status}`;
    });
    violations.push(...found.filter((v): v is string => v !== undefined));
  }

  return {
    ok: violations.length === 0,
    violations,
    stats: {
      jobs: jobRows.length,
      targets: jobsByTarget.size,
      attempts: attemptRows.length,
      byStatus,
      resumed: [...attemptsByJob.values()].filter((as) => new Set(as.map((a) => a.runId)).size > 1).length,
      canceledWhileQueued: new Set(cancelLogs.map((l) => l.jobId)).size,
      hatchetRunsChecked,
    },
  };
}

async function readSnapshot(tx: Tx, inTenants: SQL | undefined) {
  const clock = await tx.execute<{ now: Date }>(sql`select now() as now`);
  const now = new Date(clock.rows[0]?.now ?? Date.now());
  const jobRows: JobRow[] = await tx
    .select({
      id: jobs.id,
      seq: jobs.seq,
      tenantId: jobs.tenantId,
      targetId: jobs.targetId,
      status: jobs.status,
      error: jobs.error,
      createdAt: jobs.createdAt,
      updatedAt: jobs.updatedAt,
      dispatchedAt: jobs.dispatchedAt,
      hatchetRunId: jobs.hatchetRunId,
      dispatchError: jobs.dispatchError,
      attempt: jobs.attempt,
    })
    .from(jobs)
    .where(inTenants)
    .orderBy(jobs.targetId, jobs.seq);
  const attemptRows: AttemptRow[] = await tx
    .select({
      jobId: jobAttempts.jobId,
      runId: jobAttempts.runId,
      attempt: jobAttempts.attempt,
      targetId: jobAttempts.targetId,
      startedAt: jobAttempts.startedAt,
      finishedAt: jobAttempts.finishedAt,
      outcome: jobAttempts.outcome,
    })
    .from(jobAttempts)
    .innerJoin(jobs, eq(jobs.id, jobAttempts.jobId))
    .where(inTenants)
    .orderBy(jobAttempts.startedAt);
  // Pairs of attempts of one target whose [started_at, finished_at) ranges intersect. An open
  // attempt has no upper bound; a finish before the start is reported on its own, not here.
  const overlaps = await tx.execute<{
    target_id: string;
    a_job: string;
    a_run: string;
    a_attempt: number;
    a_start: Date;
    a_end: Date | null;
    b_job: string;
    b_run: string;
    b_attempt: number;
    b_start: Date;
    b_end: Date | null;
  }>(sql`
    with scoped as (
      select a.*, tstzrange(a.started_at, case when a.finished_at is null then null
                                               else greatest(a.finished_at, a.started_at) end, '[)') as span
      from ${jobAttempts} a join ${jobs} on ${jobs.id} = a.job_id
      where ${inTenants ?? sql`true`}
    )
    select a.target_id,
           a.job_id as a_job, a.run_id as a_run, a.attempt as a_attempt, a.started_at as a_start, a.finished_at as a_end,
           b.job_id as b_job, b.run_id as b_run, b.attempt as b_attempt, b.started_at as b_start, b.finished_at as b_end
    from scoped a join scoped b
      on a.target_id = b.target_id
     and (a.started_at, a.job_id, a.run_id, a.attempt) < (b.started_at, b.job_id, b.run_id, b.attempt)
     and a.span && b.span
    order by a.target_id, a.started_at
    limit 1000`);
  const cancelLogs = await tx
    .select({ jobId: jobLogs.jobId, timestamp: jobLogs.timestamp })
    .from(jobLogs)
    .innerJoin(jobs, eq(jobs.id, jobLogs.jobId))
    .where(
      and(
        inTenants,
        sql`${jobLogs.content} in (${sql.join(
          CANCELED_WHILE_QUEUED_LOGS.map((line) => sql`to_jsonb(${line}::text)`),
          sql`, `,
        )})`,
      ),
    );
  return { now, jobRows, attemptRows, overlaps: overlaps.rows, cancelLogs };
}

function stateProblem(
  job: JobRow,
  attempts: AttemptRow[],
  targetJobs: JobRow[],
  ctx: { now: Date; graceMs: number; settled: boolean },
): string | undefined {
  const age = (d: Date) => ctx.now.getTime() - d.getTime();
  switch (job.status) {
    case "success":
    case "canceled":
      return undefined;
    case "paused":
    case "error":
      return job.error?.trim() ? undefined : `${job.status} without a reason (error is empty)`;
    case "pending":
      return "pending: the API never leaves a job in this state";
    case "queued": {
      if (ctx.settled) return "still queued after the workload settled";
      if (job.dispatchedAt) {
        if (job.hatchetRunId) return undefined;
        return age(job.dispatchedAt) > ctx.graceMs
          ? `handed over at ${job.dispatchedAt.toISOString()} but has no run id`
          : undefined;
      }
      if (job.dispatchError) return undefined; // visibly waiting for the orchestrator; the sweep retries
      const reason = targetJobs.some(
        (o) =>
          o.id !== job.id &&
          (o.status === "running" ||
            o.status === "paused" ||
            o.status === "error" ||
            (o.status === "queued" && (o.dispatchedAt !== null || o.seq < job.seq))),
      );
      if (reason || age(job.updatedAt) <= ctx.graceMs) return undefined;
      return `queued on an idle target since ${job.updatedAt.toISOString()}: nothing will hand it over`;
    }
    case "running": {
      if (ctx.settled) return "still running after the workload settled";
      const current = attempts.filter((a) => a.runId === job.hatchetRunId);
      if (current.some((a) => a.finishedAt === null)) return undefined;
      const last = current.at(-1);
      if (last && (last.outcome as { status?: string } | null)?.status === "retry") return undefined;
      return `running without an open attempt of its run ${job.hatchetRunId ?? "(none)"}`;
    }
    default:
      return `unknown status '${job.status as string}'`;
  }
}

function fifoProblems(
  targetId: string,
  targetJobs: JobRow[],
  attemptsByJob: Map<string, AttemptRow[]>,
  concurrentMs: number,
): string[] {
  const out: string[] = [];
  // Strict by default: two creates in the same millisecond are not concurrent (Date has ms
  // precision, so with `<=` every such pair would be excused, and a real inversion missed).
  const concurrent = (a: JobRow, b: JobRow) =>
    concurrentMs > 0 && Math.abs(a.createdAt.getTime() - b.createdAt.getTime()) <= concurrentMs;
  const started = targetJobs
    .map((job) => ({ job, first: attemptsByJob.get(job.id)?.[0]?.startedAt }))
    .filter((x): x is { job: JobRow; first: Date } => x.first !== undefined)
    .sort((a, b) => a.first.getTime() - b.first.getTime() || a.job.seq - b.job.seq);
  for (const [i, later] of started.entries()) {
    // One line per job that started late, naming the first younger job that went before it.
    const earlier = started.slice(0, i).find((e) => e.job.seq > later.job.seq && !concurrent(e.job, later.job));
    if (earlier) {
      out.push(
        `[fifo] target ${targetId}: job ${later.job.id} (seq ${later.job.seq}) first started at ` +
          `${later.first.toISOString()}, after job ${earlier.job.id} (seq ${earlier.job.seq}), created after it, ` +
          `started at ${earlier.first.toISOString()}`,
      );
    }
  }
  // An older job that never started, still waiting, while a younger one already ran.
  for (const waiting of targetJobs) {
    if (waiting.status !== "queued" || attemptsByJob.has(waiting.id)) continue;
    const jumped = started.find((s) => s.job.seq > waiting.seq && !concurrent(s.job, waiting));
    if (jumped) {
      out.push(
        `[fifo] target ${targetId}: job ${jumped.job.id} (seq ${jumped.job.seq}) started at ` +
          `${jumped.first.toISOString()} while the older job ${waiting.id} (seq ${waiting.seq}) still waits`,
      );
    }
  }
  return out;
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

function emptyStats(): InvariantStats {
  return {
    jobs: 0,
    targets: 0,
    attempts: 0,
    byStatus: {},
    resumed: 0,
    canceledWhileQueued: 0,
    hatchetRunsChecked: 0,
  };
}
