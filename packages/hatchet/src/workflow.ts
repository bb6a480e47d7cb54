// switchyard's Hatchet workflows. Every job runs as one workflow: job types are dynamic (whatever
// registered workers serve), so they are not workflows of their own, and the worker applies each
// type's timeout and retry count itself, inside the limits declared here. Webhook events are
// delivered by a second one.
export const JOB_WORKFLOW = "switchyard-job";
/** Delivers one completion-webhook event; retried with backoff until the endpoint answers 2xx. */
export const WEBHOOK_WORKFLOW = "switchyard-webhook";

/** One run at a time per tenant and target, round robin across keys (CEL over the run input). */
export const CONCURRENCY_EXPRESSION = "input.tenantId + ':' + input.targetId";

/** Hatchet's hard ceiling per attempt: a Lambda cannot run longer than 15 minutes. */
export const MAX_EXECUTION = "16m";
/** The largest retry count a job type may ask for. */
export const MAX_RETRIES = 5;
/** Deliveries of one webhook event after the first. */
export const WEBHOOK_RETRIES = 8;

/** The SDK lower-cases the namespace and joins it with `_` (its config loader does the same). */
export function namespacedWorkflow(namespace?: string, workflow = JOB_WORKFLOW): string {
  if (!namespace) return workflow;
  const ns = namespace.toLowerCase();
  return `${ns.endsWith("_") ? ns : `${ns}_`}${workflow}`;
}

/** A task's action id, as the engine routes runs to workers (lowercase `<workflow>:<task>`). */
export function actionId(namespace?: string, workflow = JOB_WORKFLOW): string {
  return `${namespacedWorkflow(namespace, workflow)}:${workflow}`.toLowerCase();
}

/** The job task's action id. */
export const jobActionId = (namespace?: string) => actionId(namespace, JOB_WORKFLOW);
/** The webhook task's action id. */
export const webhookActionId = (namespace?: string) => actionId(namespace, WEBHOOK_WORKFLOW);
