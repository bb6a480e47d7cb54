// The API's route table as plain data: SST builds API Gateway routes from it, the local server
// serves it, and the tests check both against the handler files. No SST globals here.
//
// Paths keep legacy-use's served paths (prefix /api, its trailing slashes) so its clients work
// unchanged; see docs/api.md.

export type Auth = "tenant" | "admin" | "none";

export interface ApiRoute {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** API Gateway v2 path: `{name}` is one segment. */
  path: string;
  /** `file.export`, relative to the repository root (SST's handler format). */
  handler: string;
  auth: Auth;
}

const J = "/api/targets/{target_id}/jobs/{job_id}";

export const apiRoutes = [
  // legacy-use job routes
  { method: "GET", path: "/api/jobs/", handler: "functions/api/jobs/list-all.handler", auth: "tenant" },
  { method: "GET", path: "/api/targets/{target_id}/jobs/", handler: "functions/api/jobs/list.handler", auth: "tenant" },
  {
    method: "POST",
    path: "/api/targets/{target_id}/jobs/",
    handler: "functions/api/jobs/create.handler",
    auth: "tenant",
  },
  { method: "GET", path: J, handler: "functions/api/jobs/get.handler", auth: "tenant" },
  { method: "POST", path: `${J}/interrupt/`, handler: "functions/api/jobs/interrupt.handler", auth: "tenant" },
  { method: "POST", path: `${J}/cancel/`, handler: "functions/api/jobs/cancel.handler", auth: "tenant" },
  { method: "GET", path: `${J}/logs/`, handler: "functions/api/jobs/logs.handler", auth: "tenant" },
  { method: "GET", path: `${J}/http_exchanges/`, handler: "functions/api/jobs/http-exchanges.handler", auth: "tenant" },
  { method: "POST", path: `${J}/resolve/`, handler: "functions/api/jobs/resolve.handler", auth: "tenant" },
  { method: "POST", path: `${J}/resume/`, handler: "functions/api/jobs/resume.handler", auth: "tenant" },
  // queue (the seed's routes)
  { method: "GET", path: "/api/jobs/queue/status", handler: "functions/api/queue/status.handler", auth: "tenant" },
  { method: "POST", path: "/api/jobs/queue/resync", handler: "functions/api/queue/resync.handler", auth: "tenant" },
  { method: "GET", path: "/api/diagnostics", handler: "functions/api/diagnostics.handler", auth: "tenant" },
  // targets (legacy-use's target routes)
  { method: "GET", path: "/api/targets/", handler: "functions/api/targets/list.handler", auth: "tenant" },
  { method: "POST", path: "/api/targets/", handler: "functions/api/targets/create.handler", auth: "tenant" },
  { method: "GET", path: "/api/targets/{target_id}", handler: "functions/api/targets/get.handler", auth: "tenant" },
  { method: "PUT", path: "/api/targets/{target_id}", handler: "functions/api/targets/update.handler", auth: "tenant" },
  {
    method: "DELETE",
    path: "/api/targets/{target_id}",
    handler: "functions/api/targets/delete.handler",
    auth: "tenant",
  },
  // administration: tenants, keys and webhook workers (admin key)
  { method: "POST", path: "/api/admin/tenants/", handler: "functions/api/admin/tenant-create.handler", auth: "admin" },
  { method: "GET", path: "/api/admin/tenants/", handler: "functions/api/admin/tenant-list.handler", auth: "admin" },
  {
    method: "POST",
    path: "/api/admin/tenants/{tenant_id}/keys/",
    handler: "functions/api/admin/key-create.handler",
    auth: "admin",
  },
  { method: "POST", path: "/api/admin/workers/", handler: "functions/api/admin/worker-create.handler", auth: "admin" },
  { method: "GET", path: "/api/admin/workers/", handler: "functions/api/admin/worker-list.handler", auth: "admin" },
  {
    method: "DELETE",
    path: "/api/admin/workers/{worker_id}",
    handler: "functions/api/admin/worker-delete.handler",
    auth: "admin",
  },
  // the contract
  { method: "GET", path: "/api/openapi.json", handler: "functions/api/openapi.handler", auth: "none" },
] as const satisfies readonly ApiRoute[];

/**
 * The webhook worker function: one Lambda behind a Function URL (response streaming). The engine's
 * HTTP operator calls /operator/* (direct mode), the relay /health and /deliver (relay mode).
 */
export const workerFunction = {
  handler: "functions/worker/handler.handler",
  paths: ["/operator/health", "/operator/run", "/health", "/deliver"],
} as const;

export function routeKey(r: Pick<ApiRoute, "method" | "path">): string {
  return `${r.method} ${r.path}`;
}
