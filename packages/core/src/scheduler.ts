// The orchestrator as core sees it. Hatchet implements it (REST in the API functions, gRPC in
// the relay); core never imports Hatchet.

export interface JobRunInput {
  jobId: string;
  tenantId: string;
  targetId: string;
  apiName: string;
}

export interface Scheduler {
  /** Starts a run for the job; returns the orchestrator's run id. */
  submit(input: JobRunInput): Promise<string>;
  /** Cancels a run; a run that already ended is not an error. */
  cancel(runId: string): Promise<void>;
}
