// OpenAPI 3.1 generated from the route table and the zod schemas the handlers validate with.
import * as z from "zod/mini";
import { apiRoutes, routeKey } from "../../../infra/routes.ts";
import * as S from "./schemas.ts";

type Spec = { summary: string; path?: z.ZodMiniObject; query?: z.ZodMiniObject; body?: z.ZodMiniType };

const specs: Record<string, Spec> = {
  "GET /api/jobs/": { summary: "List the tenant's jobs", query: S.ListAllJobsQuery },
  "GET /api/targets/{target_id}/jobs/": { summary: "List a target's jobs", path: S.TargetPath, query: S.PageQuery },
  "POST /api/targets/{target_id}/jobs/": { summary: "Create a job", path: S.TargetPath, body: S.JobCreate },
  "GET /api/targets/{target_id}/jobs/{job_id}": { summary: "Get a job", path: S.JobPath },
  "POST /api/targets/{target_id}/jobs/{job_id}/interrupt/": { summary: "Interrupt a job", path: S.JobPath },
  "POST /api/targets/{target_id}/jobs/{job_id}/cancel/": { summary: "Cancel a job", path: S.JobPath },
  "GET /api/targets/{target_id}/jobs/{job_id}/logs/": { summary: "A job's logs", path: S.JobPath, query: S.LogsQuery },
  "GET /api/targets/{target_id}/jobs/{job_id}/http_exchanges/": { summary: "A job's HTTP exchanges", path: S.JobPath },
  "POST /api/targets/{target_id}/jobs/{job_id}/resolve/": {
    summary: "Resolve a paused or failed job",
    path: S.JobPath,
    body: S.ResolveBody,
  },
  "POST /api/targets/{target_id}/jobs/{job_id}/resume/": { summary: "Resume a paused or failed job", path: S.JobPath },
  "GET /api/jobs/queue/status": { summary: "Queue status per target" },
  "POST /api/jobs/queue/resync": { summary: "Reconcile Postgres with Hatchet" },
  "GET /api/diagnostics": { summary: "Health of Postgres, Hatchet, what delivers runs, and the webhook workers" },
  "GET /api/job-types/": { summary: "The job types jobs may be created of, with their parameters' JSON Schema" },
  "GET /api/targets/": { summary: "List targets", query: S.ListTargetsQuery },
  "POST /api/targets/": { summary: "Create a target", body: S.TargetCreate },
  "GET /api/targets/{target_id}": { summary: "Get a target", path: S.TargetPath },
  "PUT /api/targets/{target_id}": { summary: "Update a target", path: S.TargetPath, body: S.TargetUpdate },
  "DELETE /api/targets/{target_id}": { summary: "Archive a target", path: S.TargetPath },
  "POST /api/admin/tenants/": { summary: "Create a tenant and its first API key", body: S.TenantCreate },
  "GET /api/admin/tenants/": { summary: "List tenants" },
  "POST /api/admin/tenants/{tenant_id}/keys/": { summary: "Create another API key", path: S.TenantPath },
  "POST /api/admin/workers/": { summary: "Register a webhook worker", body: S.WorkerCreate },
  "GET /api/admin/workers/": { summary: "List webhook workers" },
  "DELETE /api/admin/workers/{worker_id}": { summary: "Delete a webhook worker", path: S.WorkerPath },
  "GET /api/openapi.json": { summary: "This document" },
};

const schema = (t: z.ZodMiniType) => z.toJSONSchema(t, { io: "input", target: "draft-2020-12" });

function parameters(where: "path" | "query", obj?: z.ZodMiniObject) {
  if (!obj) return [];
  return Object.entries(obj.shape).map(([name, t]) => ({
    name,
    in: where,
    required: where === "path" || !(t as z.ZodMiniType).safeParse(undefined).success,
    schema: schema(t as z.ZodMiniType),
  }));
}

const error = { $ref: "#/components/schemas/Error" };

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of apiRoutes) {
    const spec = specs[routeKey(r)];
    if (!spec) throw new Error(`no OpenAPI spec for ${routeKey(r)}`);
    paths[r.path] ??= {};
    const ops = paths[r.path] as Record<string, unknown>;
    ops[r.method.toLowerCase()] = {
      summary: spec.summary,
      security:
        r.auth === "tenant" ? [{ apiKey: [] }, { apiKeyQuery: [] }] : r.auth === "admin" ? [{ adminKey: [] }] : [],
      parameters: [...parameters("path", spec.path), ...parameters("query", spec.query)],
      ...(spec.body
        ? { requestBody: { required: true, content: { "application/json": { schema: schema(spec.body) } } } }
        : {}),
      responses: {
        "200": { description: "OK", content: { "application/json": {} } },
        ...Object.fromEntries(
          ["400", "401", "404", "409", "413", "415", "422"].map((s) => [
            s,
            { description: "Error", content: { "application/json": { schema: error } } },
          ]),
        ),
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "switchyard", version: "1.0.0", description: "Jobs queued per target, run on Hatchet." },
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
        apiKeyQuery: { type: "apiKey", in: "query", name: "api_key" },
        adminKey: { type: "apiKey", in: "header", name: "X-Admin-Key" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["detail", "code"],
          properties: { detail: { type: "string" }, code: { type: "string" }, errors: {} },
        },
      },
    },
  };
}
