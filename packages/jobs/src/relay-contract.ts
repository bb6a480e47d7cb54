// The relay's contract with the worker (relay mode): a Standard Webhooks signed POST per call,
// `/health` answers the job types, `/deliver` runs one attempt and answers its outcome.
import type { DeliveryAnswer, RelayDelivery } from "@switchyard/core";
import type { Db } from "@switchyard/db";
import { z } from "zod";
import { type Parsed, parseJsonAs } from "./parse.ts";
import { type RunOptions, runAttempt } from "./runtime.ts";

const RelayDeliverySchema = z.object({
  job_id: z.uuid(),
  tenant_id: z.uuid(),
  target_id: z.uuid(),
  api_name: z.string().min(1),
  run_id: z.string().min(1),
  attempt: z.number().int().min(0),
  retries: z.number().int().min(0),
  timeout_seconds: z.number().positive(),
}) satisfies z.ZodType<RelayDelivery>;

export function parseRelayDelivery(raw: string): Parsed<RelayDelivery> {
  return parseJsonAs(raw, RelayDeliverySchema);
}

export function runRelayDelivery(db: Db, req: RelayDelivery, opts: RunOptions): Promise<DeliveryAnswer> {
  return runAttempt(
    db,
    {
      jobId: req.job_id,
      tenantId: req.tenant_id,
      apiName: req.api_name,
      runId: req.run_id,
      attempt: req.attempt,
      retries: req.retries,
    },
    opts,
  );
}
