// The job state machine as pure functions: every transition a user or a worker can ask for is
// listed here, and anything not listed is an illegal transition (409 at the edge).
import type { JobStatus, StopRequest } from "@switchyard/db";
import { SwitchyardError } from "../errors.ts";

export type { JobStatus, StopRequest };

/** What users ask through the API. */
export type UserAction = "cancel" | "interrupt" | "resume" | "resolve";
/** What the execution path reports. */
export type WorkerEvent = "start" | "succeed" | "fail" | "stopped_by_cancel" | "stopped_by_interrupt" | "pause";

export interface Transition {
  to: JobStatus;
  /** Set when the job is running: the stop is delivered to the worker, which ends the job. */
  stop?: StopRequest;
}

type Table<A extends string> = Record<A, Partial<Record<JobStatus, Transition>>>;

const userTransitions: Table<UserAction> = {
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

const workerTransitions: Table<WorkerEvent> = {
  start: { queued: { to: "running" } },
  succeed: { running: { to: "success" } },
  fail: { running: { to: "error" } },
  pause: { running: { to: "paused" } },
  stopped_by_cancel: { running: { to: "canceled" } },
  stopped_by_interrupt: { running: { to: "paused" } },
};

export function applyUserAction(status: JobStatus, action: UserAction): Transition {
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

export function applyWorkerEvent(status: JobStatus, event: WorkerEvent): Transition | undefined {
  return workerTransitions[event][status];
}

export function allowedFrom(action: UserAction): JobStatus[] {
  return Object.keys(userTransitions[action]) as JobStatus[];
}

const pastTense: Record<UserAction, string> = {
  cancel: "canceled",
  interrupt: "interrupted",
  resume: "resumed",
  resolve: "resolved",
};

/** A paused or failed job holds its target until resumed, resolved or cancelled. */
export const isBlocking = (s: JobStatus) => s === "paused" || s === "error";
/** No further change can happen (paused and error can still be resumed or resolved). */
export const isFinal = (s: JobStatus) => s === "success" || s === "canceled";
/** The job has reached an end for its current run: completed_at is set. */
export const isSettled = (s: JobStatus) => isFinal(s) || isBlocking(s);
