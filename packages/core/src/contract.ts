// What crosses a process boundary: between the relay and a worker, between the engine's HTTP
// operator and a worker, and what the orchestrator reports about runs. API, relay and worker all
// import these types from here; each side validates what it receives with its own parser.

/** JSON Schema (draft 2020-12) and defaults of a job type, as a worker publishes it. */
export interface JobTypeInfo {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  defaults: { timeout_seconds: number; retries: number };
}

/** A worker's answer to a health call (the relay's and the engine operator's alike). */
export interface HealthResponse {
  name: string;
  version: string;
  job_types: JobTypeInfo[];
  /** Hatchet action ids this worker serves (`<workflow>:<task>`). */
  actions: string[];
}

/** How an attempt ended, as stored on it and answered for it. */
export type Outcome =
  | { status: "success"; result: unknown }
  /** The job failed; `retryable` says whether the failure itself was transient. */
  | { status: "error"; error: string; retryable: boolean }
  /** The attempt failed and another follows: the job stays running. */
  | { status: "retry"; error: string }
  | { status: "paused"; error: string }
  | { status: "canceled"; error: string };

/** A worker's answer to a delivery: the attempt's outcome, or why it ran nothing. */
export type DeliveryAnswer =
  | Outcome
  | { status: "skipped"; reason: string }
  /** An earlier delivery of the job still runs on a worker; deliver again once it has ended. */
  | { status: "busy"; reason: string };

/**
 * Direct mode: the worker's answer to an operator call that an attempt outlived. The attempt runs
 * on in the worker's invocation and ends the job (or retries it in a run of its own) by itself.
 */
export interface DetachedAnswer {
  status: "detached";
  job_id: string;
  attempt: number;
  reason: string;
}

/** One attempt of one job, as the relay delivers it to a worker (Standard Webhooks signed). */
export interface RelayDelivery {
  job_id: string;
  tenant_id: string;
  target_id: string;
  api_name: string;
  run_id: string;
  attempt: number;
  /** Attempts after the first that the job type allows; the worker knows whether this one is the last. */
  retries: number;
  timeout_seconds: number;
}

/** The input of every job run in the orchestrator. */
// A type alias (not an interface) so it satisfies the SDK's `Record<string, any>` input bound.
export type JobRunInput = {
  jobId: string;
  tenantId: string;
  targetId: string;
  apiName: string;
  /**
   * The attempt number of the run's first try: 0, unless the run retries an attempt that outlived
   * the engine operator's call (direct mode), whose retry is a run of its own.
   */
  attempt?: number;
};

/** The input of a webhook event's delivery run (the `switchyard-webhook` workflow). */
export type WebhookRunInput = {
  eventId: string;
  tenantId: string;
};

/** A run's state as the orchestrator reports it; NOT_FOUND when it has no such run. */
export type RunState = "QUEUED" | "RUNNING" | "COMPLETED" | "CANCELLED" | "FAILED" | "NOT_FOUND";
