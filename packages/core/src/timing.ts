// Every timing rule of the job lifecycle in one object: production defaults here, shorter values
// in tests (so a lease or a grace period is tested in milliseconds, not waited out in real time).
// Durations compared with database timestamps are evaluated by Postgres (`now()`), durations of
// one process's own by its clock; see `Clock`.
import { setting } from "./config.ts";

export interface Timing {
  /**
   * An open attempt without a heartbeat for this long is abandoned and the next delivery may take
   * it over. Its worker stops the executor after half of it without a heartbeat written, so a take
   * over never overlaps a live executor.
   */
  attemptLeaseMs: number;
  /** How often a running attempt writes its heartbeat and reads stop requests. */
  heartbeatMs: number;
  /** Kept back before an invocation's end to write the outcome. */
  deadlineMarginMs: number;
  /**
   * A hand-over that has no run id this long after its claim was lost (its dispatcher died between
   * the claim and the trigger's answer): the job goes back to waiting. Longer than a trigger may take.
   */
  lostHandOverMs: number;
  /** Hatchet may answer NOT_FOUND for a run it accepted this recently (its read side lags). */
  runNotFoundGraceMs: number;
  /** After an attempt that ended "retry", Hatchet reports the run FAILED until the retry starts. */
  retryGraceMs: number;
  /** How often a dispatch sweep runs where a process hosts one (relay; direct mode's health poll). */
  sweepMs: number;
  /**
   * A run handed over this long ago that never started while the relay had free slots is held by
   * the engine (seen after an engine restart): it is withdrawn and the job handed over again.
   * Checked every `sweepMs`, so such a lost hand-over is repaired within 30 s. A false alarm (a
   * run the engine was slow to assign) costs a cancelled run and a new one, never a second start.
   */
  heldRunMs: number;
  /**
   * A hand-over that has not started, that no delivery of this relay holds, and whose run the
   * engine reports running (assigned to a worker) on checks this far apart, was assigned to a
   * worker that never received it: an engine that died between the assignment and the send, whose
   * successor never sends it. It is released like a held run, without waiting for `heldRunMs`.
   * Direct mode, which keeps no state between sweeps: a hand-over unstarted this long whose run the
   * engine reports on a worker that no longer heartbeats is released at once.
   */
  assignedUnstartedMs: number;
  /**
   * While the engine does not answer, the relay asks it again this often (otherwise every
   * `sweepMs`), so it takes runs again within about this long of the engine's return.
   */
  engineRetryMs: number;
  /** How often the relay asks again for a delivery answered "busy". */
  busyRecheckMs: number;
  /**
   * Direct mode: how long the worker holds the engine operator's call before it answers and lets a
   * longer attempt run on past it. Engine v0.105.0 aborts its calls after 25 s.
   */
  operatorCallMs: number;
  /** How long an Idempotency-Key of a create answers the job it made. */
  idempotencyRetentionMs: number;
  /** How long a stopping relay waits for its running deliveries. */
  drainMs: number;
  /** How often the relay refreshes the workers' health and job types. */
  workerRefreshMs: number;
  /**
   * The longest pause between two deliveries of a webhook event: Hatchet's retry backoff doubles
   * from 2 s up to it (whole seconds), and its retry queue is polled every 1 to 30 s on top. Under
   * 1000 ms: no backoff, Hatchet requeues a failed delivery at once (for tests). Declared with the
   * webhook task, so it applies once the task is registered.
   */
  webhookBackoffMaxMs: number;
  /** How often a follower of a job's log (the SSE stream) reads new lines. */
  logFollowPollMs: number;
  /** A comment line on an idle log stream this often, so proxies keep the connection open. */
  logFollowHeartbeatMs: number;
}

export const defaultTiming: Timing = {
  attemptLeaseMs: 5000,
  heartbeatMs: 250,
  deadlineMarginMs: 3000,
  lostHandOverMs: 15_000,
  runNotFoundGraceMs: 30_000,
  retryGraceMs: 60_000,
  sweepMs: 2000,
  heldRunMs: 20_000,
  assignedUnstartedMs: 5000,
  engineRetryMs: 500,
  busyRecheckMs: 500,
  operatorCallMs: 20_000,
  idempotencyRetentionMs: 24 * 60 * 60_000,
  drainMs: 30_000,
  workerRefreshMs: 30_000,
  webhookBackoffMaxMs: 300_000,
  logFollowPollMs: 500,
  logFollowHeartbeatMs: 15_000,
};

/** The defaults with some rules replaced; unknown keys and non-positive values are refused. */
export function timing(overrides: Partial<Timing> = {}): Timing {
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaultTiming)) throw new Error(`unknown timing rule: ${key}`);
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new Error(`timing rule ${key} must be a positive number of milliseconds, not ${String(value)}`);
    }
  }
  return { ...defaultTiming, ...overrides };
}

/**
 * Reads `SWITCHYARD_TIMING`, a JSON object of rules to override (tests start processes with short
 * ones), on top of the defaults.
 */
export function timingFromEnv(env: NodeJS.ProcessEnv = process.env): Timing {
  return parseTiming(env.SWITCHYARD_TIMING);
}

function parseTiming(raw: string | undefined): Timing {
  if (!raw) return defaultTiming;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error("SWITCHYARD_TIMING must be a JSON object of millisecond values");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error("SWITCHYARD_TIMING must be a JSON object of millisecond values");
  }
  return timing(parsed as Partial<Timing>);
}

/** A process's own clock, for durations it measures itself; tests pass one they move. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Milliseconds as a Postgres interval expression's seconds argument. */
export const seconds = (ms: number) => ms / 1000;

/** SWITCHYARD_TIMING in a process's settings (config.ts). */
export const timingEnv = { SWITCHYARD_TIMING: setting(parseTiming) };
