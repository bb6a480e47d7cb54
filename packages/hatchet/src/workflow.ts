// The one Hatchet workflow every job runs as. Job types are dynamic (whatever registered workers
// serve), so they are not workflows of their own: the relay applies each type's timeout and
// retry count itself, inside the limits declared here.
export const JOB_WORKFLOW = "switchyard-job";

/** One run at a time per tenant and target, round robin across keys (CEL over the run input). */
export const CONCURRENCY_EXPRESSION = "input.tenantId + ':' + input.targetId";

/** Hatchet's hard ceiling per attempt: a Lambda cannot run longer than 15 minutes. */
export const MAX_EXECUTION = "16m";
/** The largest retry count a job type may ask for. */
export const MAX_RETRIES = 5;

/** The SDK lower-cases the namespace and joins it with `_` (its config loader does the same). */
export function namespacedWorkflow(namespace?: string): string {
  if (!namespace) return JOB_WORKFLOW;
  const ns = namespace.toLowerCase();
  return `${ns.endsWith("_") ? ns : `${ns}_`}${JOB_WORKFLOW}`;
}

/** The job task's action id, as the engine routes runs to workers (lowercase `<workflow>:<task>`). */
export function jobActionId(namespace?: string): string {
  return `${namespacedWorkflow(namespace)}:${JOB_WORKFLOW}`.toLowerCase();
}
