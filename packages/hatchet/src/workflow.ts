// switchyard's Hatchet workflows. Every job runs as one workflow: job types are dynamic (whatever
// registered workers serve), so they are not workflows of their own, and the worker applies each
// type's timeout and retry count itself, inside the limits declared here. Webhook events are
// delivered by a second one.
export const JOB_WORKFLOW = "switchyard-job";
/** Delivers one completion-webhook event; retried with backoff until the endpoint answers 2xx. */
export const WEBHOOK_WORKFLOW = "switchyard-webhook";

/**
 * One run at a time per job (CEL over the run input). Postgres already gives a target one job at
 * a time (a job is handed over only when the one before it has ended), so the engine's key fences
 * what Postgres cannot see: two runs of the same job (a hand-over repeated after a lost claim or a
 * held run). A key per target would also tie a target's next run to the engine's record of the
 * previous one, and after an engine restart that record can lag the job by the engine's 30 s
 * worker-heartbeat timeout, or by the 16 min execution timeout when the completion was lost on its
 * way to the engine; the job itself had ended. The key keeps the target in it, so the dashboard's
 * keys still read by target. It also keeps retries on the concurrency manager's path, which wakes
 * the queue (docs/architecture.md).
 */
export const CONCURRENCY_EXPRESSION = "input.tenantId + ':' + input.targetId + ':' + input.jobId";

/** The key legacy per-target concurrency used; the benchmark's plain-Hatchet path keeps it. */
export const TARGET_CONCURRENCY_EXPRESSION = "input.tenantId + ':' + input.targetId";

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
