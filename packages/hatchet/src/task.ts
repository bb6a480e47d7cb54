// The switchyard-job task as the SDK declares it: one run per job hand-over, one at a time per
// tenant and target, Hatchet's ceilings on timeout and retries. The relay runs it; in direct mode
// only its declaration is registered, and the engine's HTTP operator runs it.

import { workflowToProto } from "@hatchet-dev/typescript-sdk/edge/index.js";
import { ConcurrencyLimitStrategy, type Context, type HatchetClient } from "@hatchet-dev/typescript-sdk/v1/index.js";
import type { JobRunInput, Timing, WebhookRunInput } from "@switchyard/core";
import {
  CONCURRENCY_EXPRESSION,
  JOB_WORKFLOW,
  MAX_EXECUTION,
  MAX_RETRIES,
  WEBHOOK_RETRIES,
  WEBHOOK_WORKFLOW,
} from "./workflow.ts";

export function jobTask(
  hatchet: HatchetClient,
  fn: (input: JobRunInput, ctx: Context<JobRunInput>) => Promise<Record<string, never>>,
) {
  return hatchet.task<JobRunInput, Record<string, never>>({
    name: JOB_WORKFLOW,
    concurrency: {
      expression: CONCURRENCY_EXPRESSION,
      maxRuns: 1,
      limitStrategy: ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN,
    },
    executionTimeout: MAX_EXECUTION,
    retries: MAX_RETRIES,
    backoff: { factor: 2, maxSeconds: 30 },
    fn,
  });
}

/**
 * The switchyard-webhook task: one delivery of one event, retried with backoff (2 s doubling up to
 * `backoffMaxMs`; with the default 5 minutes, about 17 minutes over the retries) until the
 * endpoint answers 2xx. Under 1 s, no backoff: the engine requeues a failed delivery at once.
 */
export function webhookTask(
  hatchet: HatchetClient,
  backoffMaxMs: number,
  fn: (input: WebhookRunInput, ctx: Context<WebhookRunInput>) => Promise<Record<string, never>>,
) {
  return hatchet.task<WebhookRunInput, Record<string, never>>({
    name: WEBHOOK_WORKFLOW,
    executionTimeout: "1m",
    retries: WEBHOOK_RETRIES,
    backoff: backoffMaxMs < 1000 ? undefined : { factor: 2, maxSeconds: Math.round(backoffMaxMs / 1000) },
    fn,
  });
}

/**
 * Registers the tasks' declarations with the engine without running a worker (direct mode: the
 * engine's HTTP operator serves their runs). Safe to repeat; the engine keeps one version per change.
 */
export async function registerTasks(
  hatchet: HatchetClient,
  timing: Pick<Timing, "webhookBackoffMaxMs">,
): Promise<void> {
  const served = async (): Promise<never> => {
    throw new Error("switchyard's runs are served by the engine's HTTP operator, not by this process");
  };
  for (const task of [jobTask(hatchet, served), webhookTask(hatchet, timing.webhookBackoffMaxMs, served)]) {
    await hatchet.admin.putWorkflow(workflowToProto(task, { namespace: hatchet.config.namespace }));
  }
}
