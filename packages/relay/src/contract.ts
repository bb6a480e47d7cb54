// The HTTP contract between the relay and a webhook worker. It follows Hatchet's HTTP operator
// (a signed POST per call; health answers the actions it serves) so the worker could one day be
// called by the engine directly.
export interface JobTypeInfo {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the parameters. */
  parameters: Record<string, unknown>;
  defaults: { timeout_seconds: number; retries: number };
}

export interface HealthResponse {
  name: string;
  version: string;
  job_types: JobTypeInfo[];
  /** Hatchet-style action ids, `switchyard-job:<type>`. */
  actions: string[];
}

export interface DeliveryRequest {
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

export type DeliveryResponse =
  | { status: "success"; result: unknown }
  | { status: "error"; error: string; retryable: boolean }
  | { status: "retry"; error: string }
  | { status: "paused" | "canceled"; error: string }
  | { status: "skipped"; reason: string }
  /** An earlier delivery of the job still runs on a worker; deliver again once it has ended. */
  | { status: "busy"; reason: string };
