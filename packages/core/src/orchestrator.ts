// The orchestrator as core sees it. Hatchet implements it (REST in the API functions and the
// worker, gRPC bulk triggers in the relay); core never imports Hatchet.
import type { JobRunInput, RunState, WebhookRunInput } from "./contract.ts";

export interface Orchestrator {
  /** Starts a run for the job; returns the orchestrator's run id. */
  submit(input: JobRunInput): Promise<string>;
  /** Starts a run that delivers a webhook event; returns its run id. */
  submitWebhook(input: WebhookRunInput): Promise<string>;
  /** Cancels a run; a run that already ended is not an error. */
  cancel(runId: string): Promise<void>;
  /** The run's state, NOT_FOUND when the orchestrator has no such run. */
  runState(runId: string): Promise<RunState>;
  /** The worker the run was assigned to, if it was. */
  runWorker(runId: string): Promise<string | undefined>;
  /**
   * True when the run is assigned to a worker that no longer heartbeats: a worker that died, or the
   * operator worker of an engine that stopped. The engine sends such a run nowhere until it times
   * that worker out (Hatchet: 30 s). False when unknown.
   */
  heldByDeadWorker(runId: string): Promise<boolean>;
}
