// switchyard's domain: the job lifecycle, dispatch, the queue, tenants and targets, job types and
// the typed errors. It knows nothing of Lambda, HTTP or Hatchet's SDK.
export * from "./config.ts";
export type * from "./contract.ts";
export type { Deps } from "./deps.ts";
export * as Diagnostics from "./diagnostics.ts";
export * from "./errors.ts";
export * as Dispatch from "./job/dispatch.ts";
export * as Lifecycle from "./job/lifecycle.ts";
export * as Jobs from "./job/service.ts";
export { iso, type JobView, jobView } from "./job/view.ts";
export * from "./job-type.ts";
export * as JobTypes from "./job-type-registry.ts";
export * from "./observe.ts";
export type { Orchestrator } from "./orchestrator.ts";
export * as Queue from "./queue.ts";
export * as Targets from "./target.ts";
export * as Tenants from "./tenant.ts";
export * from "./timing.ts";
export { mapLimit } from "./util.ts";
export * as Webhooks from "./webhooks.ts";
