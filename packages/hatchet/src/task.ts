// The switchyard-job task as the SDK declares it: one run per job hand-over, one at a time per
// tenant and target, Hatchet's ceilings on timeout and retries. The relay runs it; in direct mode
// only its declaration is registered, and the engine's HTTP operator runs it.

import { workflowToProto } from "@hatchet-dev/typescript-sdk/edge/index.js";
import { ConcurrencyLimitStrategy, type Context, type HatchetClient } from "@hatchet-dev/typescript-sdk/v1/index.js";
import type { JobRunInput } from "@switchyard/core";
import { CONCURRENCY_EXPRESSION, JOB_WORKFLOW, MAX_EXECUTION, MAX_RETRIES } from "./workflow.ts";

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
 * Registers the job task's declaration with the engine without running a worker (direct mode: the
 * engine's HTTP operator serves its runs). Safe to repeat; the engine keeps one version per change.
 */
export async function registerJobTask(hatchet: HatchetClient): Promise<void> {
  const task = jobTask(hatchet, async () => {
    throw new Error("switchyard-job runs are served by the engine's HTTP operator, not by this process");
  });
  await hatchet.admin.putWorkflow(workflowToProto(task, { namespace: hatchet.config.namespace }));
}
