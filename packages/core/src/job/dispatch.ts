// Dispatch: hands a target's next job (rule.ts) to the orchestrator. The rule and the hand-over
// live here once; what wakes them is a host around it:
// - the relay (relay mode) LISTENs for the NOTIFY that transitions send on commit, and sweeps;
// - in direct mode, the API dispatches right after its change commits, the worker when an
//   attempt ends, and the worker's health call (polled by the engine every 5 s) sweeps;
// - resync sweeps on demand.
// The sweep is also the repair: a hand-over whose dispatcher died before the trigger answered
// goes back to waiting after `lostHandOverMs`, and the next pass hands it over again.
import { type Db, dispatchSweeps } from "@switchyard/db";
import { type SQL, sql } from "drizzle-orm";
import { log as observe } from "../observe.ts";
import type { Orchestrator } from "../orchestrator.ts";
import type { Timing } from "../timing.ts";
import { dispatchPending } from "../webhooks.ts";
import {
  handOver,
  handOverFailed,
  recordRun,
  staleHandOvers,
  type Wake,
  withdraw,
  withdrawLostHandOvers,
} from "./lifecycle.ts";
import { readyTargets } from "./rule.ts";

export interface DispatchDeps {
  db: Db;
  orchestrator: Orchestrator;
}

export type DispatchOutcome =
  | { dispatched: true; jobId: string; runId: string }
  /** Something of the target is in flight or blocks it, nothing waits, or the target is gone. */
  | { dispatched: false; reason: "not ready" }
  | { dispatched: false; reason: "unreachable"; jobId: string; error: string };

export async function dispatchTarget(deps: DispatchDeps, targetId: string): Promise<DispatchOutcome> {
  const job = await handOver(deps.db, targetId);
  if (!job) return { dispatched: false, reason: "not ready" };
  // The network call happens outside the lock; a failure puts the job back to waiting with the
  // reason on the row, and the next dispatch (a sweep, resync, any action) tries again.
  try {
    const runId = await deps.orchestrator.submit({
      jobId: job.id,
      tenantId: job.tenantId,
      targetId: job.targetId,
      apiName: job.apiName,
    });
    await recordRun(deps.db, job.id, runId);
    return { dispatched: true, jobId: job.id, runId };
  } catch (err) {
    const error = `could not reach the orchestrator: ${(err as Error).message}`;
    await handOverFailed(deps.db, job.id, error);
    return { dispatched: false, reason: "unreachable", jobId: job.id, error };
  }
}

export interface SweepResult {
  /** Lost hand-overs put back to waiting. */
  withdrawn: Array<{ jobId: string; targetId: string }>;
  /** Targets that were ready, each handed to `dispatch`. */
  ready: string[];
}

/**
 * One pass of the self-healing sweep: lost hand-overs back to waiting, then every ready target
 * (of one tenant, or all) given to `dispatch` (the host's own queue, or dispatchTarget).
 */
export async function sweep(
  db: Db,
  timing: Pick<Timing, "lostHandOverMs">,
  dispatch: (targetId: string) => Promise<unknown>,
  opts: { tenantId?: string; limit?: number } = {},
): Promise<SweepResult> {
  const withdrawn = await withdrawLostHandOvers(db, timing, opts.tenantId);
  const ready = await readyTargets(db, opts);
  await Promise.all(ready.map(dispatch));
  return { withdrawn, ready };
}

/** A job handed over whose run has not started, and how long ago it was handed over. */
export type HandOver = Awaited<ReturnType<typeof staleHandOvers>>[number];

/**
 * Releases runs the engine holds without starting them: each job is withdrawn first (so a run that
 * starts after all finds the job no longer its own), its run cancelled (until the engine drops it,
 * it keeps a worker slot and the job's concurrency slot), and its target dispatched again.
 */
export async function releaseRuns(
  deps: DispatchDeps,
  held: HandOver[],
  why: (runId: string) => string,
  dispatch: (targetId: string) => Promise<unknown>,
  log: (msg: string) => void,
): Promise<number> {
  let released = 0;
  for (const job of held) {
    const runId = job.hatchetRunId ?? "";
    if (!(await withdraw(deps.db, job.id, runId, why(runId)))) continue;
    await deps.orchestrator
      .cancel(runId)
      .catch((err: Error) => log(`cancel of held run ${runId} failed: ${err.message}`));
    void dispatch(job.targetId);
    released++;
  }
  if (released) log(`released ${released} run(s) the engine held without starting`);
  return released;
}

/** How many waiting hand-overs one pass of `releaseDeadAssignments` asks the orchestrator about. */
const DEAD_ASSIGNMENT_CHECKS = 20;

/**
 * Direct mode's release of runs an engine restart lost: a hand-over that has waited `olderThanMs`
 * unstarted, whose run the engine reports running on a worker that no longer heartbeats (the
 * operator worker of the engine that stopped), is released instead of waiting for the engine to
 * time that worker out. A false alarm costs a cancelled run and a new one, never a second start.
 */
export async function releaseDeadAssignments(
  deps: DispatchDeps,
  olderThanMs: number,
  dispatch: (targetId: string) => Promise<unknown>,
  log: (msg: string) => void,
): Promise<number> {
  const dead: HandOver[] = [];
  for (const job of (await staleHandOvers(deps.db, olderThanMs)).slice(0, DEAD_ASSIGNMENT_CHECKS)) {
    const runId = job.hatchetRunId ?? "";
    if ((await deps.orchestrator.runState(runId).catch(() => undefined)) !== "RUNNING") continue;
    if (await deps.orchestrator.heldByDeadWorker(runId).catch(() => false)) dead.push(job);
  }
  return releaseRuns(
    deps,
    dead,
    (runId) => `Hatchet assigned run ${runId} to a worker that stopped heartbeating, which never received it`,
    dispatch,
    log,
  );
}

/**
 * Takes the turn to sweep for `host` unless that host swept less than `everyMs` ago, and records
 * the time when it takes it: one statement, so concurrent callers get at most one turn.
 */
export async function takeSweepTurn(db: Db, host: string, everyMs: number): Promise<boolean> {
  const { rows } = await db.execute(sql`
    insert into ${dispatchSweeps} (host, swept_at) values (${host}, now())
    on conflict (host) do update set swept_at = now()
    where ${dispatchSweeps.sweptAt} <= now() - make_interval(secs => ${everyMs / 1000})
    returning 1`);
  return rows.length > 0;
}

/** Milliseconds since any host last swept, or null when none ever did. */
export async function lastSweepAge(db: Db): Promise<number | null> {
  const { rows } = await db.execute<{ age: number | null }>(
    sql`select extract(epoch from now() - max(swept_at))::float * 1000 as age from ${dispatchSweeps}`,
  );
  return rows[0]?.age ?? null;
}

/** The channel the relay LISTENs on; a notification carries a target id whose turn may have come. */
export const DISPATCH_CHANNEL = "switchyard_dispatch";

/** The relay's wake-up: a NOTIFY, which Postgres delivers when the transaction commits (none on rollback). */
export const notifyRelay: Wake = (targetId: string): SQL => sql`pg_notify(${DISPATCH_CHANNEL}, ${targetId})`;

/**
 * How a process that changes jobs lets dispatch know a target's next job may go: inside its
 * transaction (`wake`), after the commit (`afterCommit`), or both.
 */
export interface DispatchHost {
  wake: Wake;
  afterCommit(targetId: string): Promise<void>;
  /** After a change that may have written webhook events (a job ended by a user's action). */
  afterEvents(): Promise<void>;
}

/** Relay mode: the relay is told by NOTIFY, and its sweep sends webhook events. */
export const relayHost: DispatchHost = { wake: notifyRelay, afterCommit: async () => {}, afterEvents: async () => {} };

/**
 * Direct mode: no process listens, so the process that made the change dispatches itself. A
 * failure is logged, not thrown: the change is committed, and the sweep hands the job over later.
 */
export function inlineHost(
  deps: DispatchDeps & { timing: Pick<Timing, "lostHandOverMs"> },
  log: (msg: string) => void = (msg) => observe.warn(msg),
): DispatchHost {
  return {
    wake: null,
    afterCommit: async (targetId) => {
      await dispatchTarget(deps, targetId).catch((err: Error) =>
        log(`dispatch of target ${targetId} failed: ${err.message}`),
      );
    },
    afterEvents: async () => {
      await dispatchPending(deps.db, deps.orchestrator, deps.timing).catch((err: Error) =>
        log(`webhook dispatch failed: ${err.message}`),
      );
    },
  };
}

export { readyTargets } from "./rule.ts";
