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
  /**
   * A response-streaming handler (Server-Sent Events). API Gateway buffers whole answers, so a
   * deployment serves it from a Function URL of its own (infra/api.ts); the local server streams it.
   */
  stream?: true;
}

const J = "/api/targets/{target_id}/jobs/{job_id}";

/** A route served by `functions/api/<file>.ts`'s `handler` export. */
const r = (method: ApiRoute["method"], path: string, file: string, auth: Auth): ApiRoute => ({
  method,
  path,
  handler: `functions/api/${file}.handler`,
  auth,
});

export const apiRoutes: readonly ApiRoute[] = [
  // legacy-use job routes
  r("GET", "/api/jobs/", "jobs/list-all", "tenant"),
  r("GET", "/api/targets/{target_id}/jobs/", "jobs/list", "tenant"),
  r("POST", "/api/targets/{target_id}/jobs/", "jobs/create", "tenant"),
  r("GET", J, "jobs/get", "tenant"),
  r("POST", `${J}/interrupt/`, "jobs/interrupt", "tenant"),
  r("POST", `${J}/cancel/`, "jobs/cancel", "tenant"),
  r("GET", `${J}/logs/`, "jobs/logs", "tenant"),
  { ...r("GET", `${J}/logs/stream`, "jobs/logs-stream", "tenant"), stream: true },
  r("GET", `${J}/http_exchanges/`, "jobs/http-exchanges", "tenant"),
  r("POST", `${J}/resolve/`, "jobs/resolve", "tenant"),
  r("POST", `${J}/resume/`, "jobs/resume", "tenant"),
  // queue (the seed's routes)
  r("GET", "/api/jobs/queue/status", "queue/status", "tenant"),
  r("POST", "/api/jobs/queue/resync", "queue/resync", "tenant"),
  r("GET", "/api/diagnostics", "diagnostics", "tenant"),
  // the job types jobs may be created of, with their parameters' JSON Schema
  r("GET", "/api/job-types/", "job-types/list", "tenant"),
  // completion webhooks: a tenant's endpoints and what was sent to them
  r("POST", "/api/webhooks/", "webhooks/create", "tenant"),
  r("GET", "/api/webhooks/", "webhooks/list", "tenant"),
  r("DELETE", "/api/webhooks/{webhook_id}", "webhooks/delete", "tenant"),
  r("GET", "/api/webhooks/{webhook_id}/deliveries/", "webhooks/deliveries", "tenant"),
  // targets (legacy-use's target routes)
  r("GET", "/api/targets/", "targets/list", "tenant"),
  r("POST", "/api/targets/", "targets/create", "tenant"),
  r("GET", "/api/targets/{target_id}", "targets/get", "tenant"),
  r("PUT", "/api/targets/{target_id}", "targets/update", "tenant"),
  r("DELETE", "/api/targets/{target_id}", "targets/delete", "tenant"),
  // administration: tenants, keys and webhook workers (admin key)
  r("POST", "/api/admin/tenants/", "admin/tenant-create", "admin"),
  r("GET", "/api/admin/tenants/", "admin/tenant-list", "admin"),
  r("POST", "/api/admin/tenants/{tenant_id}/keys/", "admin/key-create", "admin"),
  r("POST", "/api/admin/workers/", "admin/worker-create", "admin"),
  r("GET", "/api/admin/workers/", "admin/worker-list", "admin"),
  r("DELETE", "/api/admin/workers/{worker_id}", "admin/worker-delete", "admin"),
  // the contract
  r("GET", "/api/openapi.json", "openapi", "none"),
  // its reference page (Redoc, served by the API: a function of its own, its bundle holds Redoc)
  r("GET", "/api/docs", "docs", "none"),
  // the console: lanes and jobs of the tenant whose key is entered in the page
  r("GET", "/api/console", "console", "none"),
];

/** What answers a method and path no route has: API Gateway's `$default` route, and the local server. */
export const notFoundHandler = "functions/api/not-found.handler";

/**
 * The API's CORS policy, as API Gateway applies it (infra/api.ts) and the local server mimics it:
 * any origin (the API authenticates by key, not by cookie), the methods and request headers the
 * routes use, and the response headers a browser client may read.
 */
export const corsPolicy = {
  allowOrigins: ["*"],
  allowMethods: ["GET", "POST", "PUT", "DELETE"],
  allowHeaders: ["content-type", "x-api-key", "x-admin-key", "idempotency-key"],
  exposeHeaders: ["retry-after", "idempotent-replayed", "x-total-count"],
  maxAgeSeconds: 86_400,
} as const;

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
