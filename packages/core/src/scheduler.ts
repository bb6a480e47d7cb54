// The orchestrator as core sees it. Hatchet implements it (REST in the API functions, gRPC in
// the relay); core never imports Hatchet.

// A type alias (not an interface) so it satisfies the SDK's `Record<string, any>` input bound.
export type JobRunInput = {
  jobId: string;
  tenantId: string;
  targetId: string;
  apiName: string;
};

export interface Scheduler {
  /** Starts a run for the job; returns the orchestrator's run id. */
  submit(input: JobRunInput): Promise<string>;
  /** Cancels a run; a run that already ended is not an error. */
  cancel(runId: string): Promise<void>;
}
