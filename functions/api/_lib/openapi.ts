// OpenAPI 3.1 generated from the route table and the zod schemas the handlers validate with. One
// table entry per route says what the route's handler does (operationId, tag, request schemas,
// answer, success status, its own errors, a real answer as example); what every route of a kind
// can answer (auth, body rules, validation, outages) is derived from the route, so a client
// generated from the document (packages/client) knows every status it may see.
import { Lifecycle } from "@switchyard/core";
import * as z from "zod/mini";
import { type ApiRoute, apiRoutes, routeKey } from "../../../infra/routes.ts";
import { statusFor } from "./errors.ts";
import { MAX_BODY_BYTES } from "./http.ts";
import * as S from "./schemas.ts";
import { type AnswerName, type ApiErrorCode, answerSchemas, type SchemaMeta } from "./schemas.ts";

type Tag = "Jobs" | "Queue" | "Job types" | "Webhooks" | "Targets" | "Admin" | "Contract";

const TAGS: Record<Tag, string> = {
  Jobs: "A target's jobs: create, read, and the actions of the job lifecycle (cancel, interrupt, resume, resolve).",
  Queue: "The tenant's queue as a whole, reconciliation with Hatchet, and health.",
  "Job types": "What jobs may be created of: the job types the registered workers publish.",
  Webhooks:
    "Completion webhooks: switchyard POSTs `job.succeeded`, `job.failed`, `job.canceled` and `job.paused` events, signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with backoff until the endpoint answers 2xx.",
  Targets: "Targets are lanes: at most one running job at a time, oldest first.",
  Admin: "Tenants, their API keys and webhook workers (X-Admin-Key).",
  Contract: "This document, its reference page, and the console.",
};

interface ErrorBody {
  detail: string;
  errors?: unknown;
}

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  path?: z.ZodMiniObject;
  query?: z.ZodMiniObject;
  /** Request headers the handler reads (lower-case names, as the handler sees them). */
  headers?: z.ZodMiniObject;
  body?: z.ZodMiniType;
  bodyExample?: unknown;
  /** 201 for creates of targets, tenants, keys and workers; 200 otherwise (job create too, as in legacy-use). */
  status?: 201;
  /** A named answer schema, `[name]` for an array of it, "html" (the docs page) or "events" (SSE). */
  answer: AnswerName | [AnswerName] | "html" | "events";
  answerHeaders?: Record<string, { description: string; schema: object }>;
  /** Errors of the request itself; those of auth, body rules, validation and outages are derived. */
  errors?: ApiErrorCode[];
  /** A real answer (docs/api.md's examples come from the integration tests). */
  example: unknown;
  /** Real errors of this route, where the generic example of the code would mislead. */
  errorExamples?: Partial<Record<ApiErrorCode, ErrorBody>>;
  /** Served by a plain handler instead of the JSON edge (route()): no body rules, no error answers. */
  page?: boolean;
}

// ---- real answers, from docs/api.md (the integration tests' output) -------------------------

const TARGET = "eafcbea1-b67f-4289-ac7c-3526b7698bee";
const JOB = "6cddceac-a5d6-431a-bcf4-93b7324f3ebe";
const RUNNING = "49e24508-243d-4952-abcf-a01caa1bc702";
const TENANT = "9b18ee0a-09b2-4612-b163-f8c6ab0f62af";
const WORKER = "f2f68bdd-0399-426a-9f59-b03a7763028c";
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

const doneJob = {
  id: JOB,
  target_id: TARGET,
  session_id: null,
  api_name: "echo",
  api_definition_version_id: null,
  parameters: { hello: "world" },
  status: "success",
  result: { hello: "world" },
  error: null,
  created_at: "2026-11-28T17:19:39.135+00:00",
  updated_at: "2026-11-28T17:19:39.315+00:00",
  started_at: "2026-11-28T17:19:39.300+00:00",
  completed_at: "2026-11-28T17:19:39.315+00:00",
  duration_seconds: 0.18,
  total_input_tokens: 0,
  total_output_tokens: 0,
  api_exchanges: [],
  attempt: 0,
  hatchet_run_id: "6572b0be-9866-474d-a436-cc7e9b1b584d",
  stop_requested: null,
  dispatch_error: null,
};
const queuedJob = {
  ...doneJob,
  status: "queued",
  result: null,
  updated_at: doneJob.created_at,
  started_at: null,
  completed_at: null,
  duration_seconds: 0.002,
  hatchet_run_id: null,
};
const runningJob = {
  ...doneJob,
  id: RUNNING,
  api_name: "sleep",
  parameters: { ms: 600000 },
  status: "running",
  result: null,
  created_at: "2026-11-28T17:19:39.650+00:00",
  updated_at: "2026-11-28T17:19:39.901+00:00",
  started_at: "2026-11-28T17:19:39.789+00:00",
  completed_at: null,
  duration_seconds: 0.251,
  hatchet_run_id: "7d4421b5-a2df-4197-acaa-15e28eb21160",
};
const pausedJob = {
  ...runningJob,
  status: "paused",
  error: "Job was interrupted by user",
  updated_at: "2026-11-28T17:19:40.057+00:00",
  completed_at: "2026-11-28T17:19:40.057+00:00",
  duration_seconds: 0.407,
};
const target = {
  host: "10.0.0.9",
  width: 1280,
  password: "x",
  vnc_port: 5900,
  id: TARGET,
  name: "vm-1",
  type: "vnc",
  metadata: { host: "10.0.0.9", width: 1280, password: "x", vnc_port: 5900 },
  is_archived: false,
  created_at: "2026-11-28T17:19:39.027+00:00",
  updated_at: "2026-11-28T17:19:39.066+00:00",
  queue_status: "running",
  blocking_jobs: [],
  has_blocking_jobs: false,
  blocking_jobs_count: 0,
  queued_jobs_count: 0,
  running_jobs_count: 0,
};
const sleepType = {
  name: "sleep",
  description: "Waits `ms` milliseconds, stopping early when the job is cancelled or interrupted.",
  parameters: {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    properties: { ms: { type: "integer", minimum: 0, maximum: 900000 } },
    required: ["ms"],
    additionalProperties: false,
  },
  defaults: { timeout_seconds: 900, retries: 0 },
};
const worker = {
  id: WORKER,
  name: "lambda-eu",
  url: "https://abc.lambda-url.eu-central-1.on.aws",
  healthy: true,
  last_checked_at: "2026-11-28T17:19:38.999+00:00",
  last_error: null,
  created_at: "2026-11-28T17:19:38.998+00:00",
  job_types: [sleepType],
};
const WEBHOOK = "3f0c1d52-8f4e-4c1b-9a57-0d9a3be6c2a1";
const webhook = {
  id: WEBHOOK,
  url: "https://hooks.example.com/switchyard",
  events: ["job.succeeded", "job.failed"],
  description: "billing",
  created_at: "2026-11-28T17:19:38.950+00:00",
};
const tenant = { id: TENANT, name: "acme", created_at: "2026-11-28T17:19:38.892+00:00" };
const illegal = (action: Lifecycle.UserAction, status: string, pastTense: string): ErrorBody => ({
  detail: `Job in status '${status}' cannot be ${pastTense}`,
  errors: { status, action, allowed_from: Lifecycle.allowedFrom(action) },
});

// ---- the table: one entry per route of infra/routes.ts ---------------------------------------

const J = "/api/targets/{target_id}/jobs/{job_id}";
const jobAction = (errors: ApiErrorCode[] = []): ApiErrorCode[] => ["target.not_found", "job.not_found", ...errors];

const operations: Record<string, Operation> = {
  "GET /api/jobs/": {
    operationId: "listJobs",
    summary: "List the tenant's jobs",
    description: "Newest first. Filters combine with AND; `total_count` ignores `limit` and `offset`.",
    tag: "Jobs",
    query: S.ListAllJobsQuery,
    answer: "JobPage",
    answerHeaders: {
      "X-Total-Count": { description: "The same number as `total_count`.", schema: { type: "integer", minimum: 0 } },
    },
    example: { total_count: 2, jobs: [doneJob] },
  },
  "GET /api/targets/{target_id}/jobs/": {
    operationId: "listTargetJobs",
    summary: "List a target's jobs",
    description: "Newest first, as a bare array (legacy-use's shape). Archived targets still list their jobs.",
    tag: "Jobs",
    path: S.TargetPath,
    query: S.PageQuery,
    answer: ["Job"],
    errors: ["target.not_found"],
    example: [doneJob],
  },
  "POST /api/targets/{target_id}/jobs/": {
    operationId: "createJob",
    summary: "Create a job",
    description:
      "Inserts the job as `queued` and hands it to Hatchet at once if its target is free; the answer is the job as committed (`200`, as in legacy-use). `parameters` are validated against the job type's JSON Schema (`GET /api/job-types/`). With an `Idempotency-Key`, a retried create answers the first create's job with `Idempotent-Replayed: true`.",
    tag: "Jobs",
    path: S.TargetPath,
    headers: S.IdempotencyKey,
    body: S.JobCreate,
    bodyExample: { api_name: "echo", parameters: { hello: "world" } },
    answer: "Job",
    answerHeaders: {
      "Idempotent-Replayed": {
        description: "`true` when an earlier create with the same Idempotency-Key and request made this job.",
        schema: { type: "string", enum: ["true"] },
      },
    },
    errors: [
      "target.not_found",
      "target.archived",
      "idempotency.key_reused",
      "job.unknown_type",
      "job.invalid_parameters",
    ],
    example: queuedJob,
  },
  [`GET ${J}`]: {
    operationId: "getJob",
    summary: "Get a job",
    description: "Reading writes nothing. A job of another target answers `404 job.not_found`.",
    tag: "Jobs",
    path: S.JobPath,
    answer: "Job",
    errors: jobAction(),
    example: doneJob,
  },
  [`POST ${J}/interrupt/`]: {
    operationId: "interruptJob",
    summary: "Interrupt a job",
    description:
      "legacy-use's stop. A running job is stopped and ends `paused` (it blocks its target until resumed, resolved or canceled); a waiting job is canceled. The answer is the job after the change, plus `message`.",
    tag: "Jobs",
    path: S.JobPath,
    answer: "JobWithMessage",
    errors: jobAction(["job.illegal_transition"]),
    errorExamples: { "job.illegal_transition": illegal("interrupt", "paused", "interrupted") },
    example: { ...runningJob, stop_requested: "interrupt", message: `Job ${RUNNING} interrupt requested.` },
  },
  [`POST ${J}/cancel/`]: {
    operationId: "cancelJob",
    summary: "Cancel a job",
    description:
      "A waiting, paused or failed job is canceled at once (which unblocks its target); a running job is stopped, then canceled. The answer is the job after the change, plus `message`.",
    tag: "Jobs",
    path: S.JobPath,
    answer: "JobWithMessage",
    errors: jobAction(["job.illegal_transition"]),
    errorExamples: { "job.illegal_transition": illegal("cancel", "success", "canceled") },
    example: {
      ...queuedJob,
      status: "canceled",
      completed_at: "2026-11-28T17:19:40.114+00:00",
      message: `Job ${JOB} canceled successfully.`,
    },
  },
  [`GET ${J}/logs/`]: {
    operationId: "getJobLogs",
    summary: "A job's logs",
    description: "Every log line of the job, oldest first; with `after`, only the newer lines.",
    tag: "Jobs",
    path: S.JobPath,
    query: S.LogsQuery,
    answer: ["LogEntry"],
    errors: jobAction(),
    example: [
      {
        id: 1,
        job_id: JOB,
        timestamp: "2026-11-28T17:19:39.135+00:00",
        log_type: "system",
        content: "Job added to queue",
      },
      {
        id: 2,
        job_id: JOB,
        timestamp: "2026-11-28T17:19:39.300+00:00",
        log_type: "system",
        content: "Queue picked up job",
      },
      {
        id: 3,
        job_id: JOB,
        timestamp: "2026-11-28T17:19:39.315+00:00",
        log_type: "system",
        content: "Job completed with status: success",
      },
    ],
  },
  [`GET ${J}/logs/stream`]: {
    operationId: "streamJobLogs",
    summary: "Follow a job's logs (Server-Sent Events)",
    description:
      "The job's log lines as they are written, until the job ends (`success`, `error`, `canceled`) or pauses. `after` or the `Last-Event-ID` header skips the lines already seen. Browsers' EventSource cannot send headers: pass the key as `api_key`. Deployed, this route is served by its own streaming Function URL (the `logStream` output of the deploy), at the same path; see docs/deploy.md.",
    tag: "Jobs",
    path: S.JobPath,
    query: S.LogsQuery,
    answer: "events",
    errors: jobAction(),
    example: `retry: 1000\n\nid: 1\nevent: log\ndata: {"id":1,"job_id":"${JOB}","timestamp":"2026-11-28T17:19:39.135+00:00","log_type":"system","content":"Job added to queue"}\n\nevent: end\ndata: {"status":"success"}\n\n`,
  },
  [`GET ${J}/http_exchanges/`]: {
    operationId: "getJobHttpExchanges",
    summary: "A job's HTTP exchanges",
    description: "The HTTP exchanges the job type recorded, oldest first, credentials redacted.",
    tag: "Jobs",
    path: S.JobPath,
    answer: ["HttpExchange"],
    errors: jobAction(),
    example: [
      {
        id: 1,
        job_id: JOB,
        timestamp: "2026-11-28T17:19:39.557+00:00",
        log_type: "http_exchange",
        attempt: 0,
        content: {
          request: { url: "http://127.0.0.1:34007/ping", method: "GET", headers: { authorization: "[redacted]" } },
          response: { body: "pong", status: 200, headers: { "content-type": "text/plain" } },
          durationMs: 5,
        },
      },
    ],
  },
  [`POST ${J}/resolve/`]: {
    operationId: "resolveJob",
    summary: "Resolve a paused or failed job",
    description:
      "Marks a `paused` or `error` job `success` by hand: the body becomes `result` verbatim, `error` is cleared, and the target's next job starts.",
    tag: "Jobs",
    path: S.JobPath,
    body: S.ResolveBody,
    bodyExample: { invoice_total: "42.00" },
    answer: "Job",
    errors: jobAction(["job.illegal_transition"]),
    errorExamples: { "job.illegal_transition": illegal("resolve", "queued", "resolved") },
    example: { ...pausedJob, status: "success", result: { invoice_total: "42.00" }, error: null },
  },
  [`POST ${J}/resume/`]: {
    operationId: "resumeJob",
    summary: "Resume a paused or failed job",
    description:
      "The job goes back to `queued` (clearing `error`, `result`, `completed_at`, `hatchet_run_id`) and runs again as its target's next job.",
    tag: "Jobs",
    path: S.JobPath,
    answer: "JobWithMessage",
    errors: jobAction(["job.illegal_transition"]),
    errorExamples: { "job.illegal_transition": illegal("resume", "success", "resumed") },
    example: {
      ...pausedJob,
      status: "queued",
      error: null,
      completed_at: null,
      hatchet_run_id: null,
      message: `Job ${RUNNING} resumed.`,
    },
  },
  "GET /api/jobs/queue/status": {
    operationId: "getQueueStatus",
    summary: "Queue status per target",
    description: "Computed from Postgres, per non-archived target, plus whether Hatchet answers (`hatchet.reachable`).",
    tag: "Queue",
    answer: "QueueStatus",
    example: {
      queue_size: 0,
      queued_in_db: 0,
      running_jobs_count: 1,
      running_job: RUNNING,
      is_processor_running: true,
      last_sweep_seconds_ago: 1.93,
      queue_type: "hatchet",
      blocked_targets: 0,
      targets: [
        {
          target_id: TARGET,
          name: "vm-1",
          queued: 0,
          dispatched: 0,
          running: 1,
          blocked: false,
          blocking_jobs_count: 0,
          oldest_queued_seconds: null,
        },
      ],
      hatchet: { reachable: true, queues: {} },
    },
  },
  "POST /api/jobs/queue/resync": {
    operationId: "resyncQueue",
    summary: "Reconcile Postgres with Hatchet",
    description:
      "Checks each in-flight job of the tenant against its Hatchet run, repairs disagreements, then hands over what waits.",
    tag: "Queue",
    answer: "Resync",
    errors: ["orchestrator.unavailable"],
    example: { message: "Postgres and Hatchet agree", checked_jobs: 0, repairs: [] },
  },
  "GET /api/diagnostics": {
    operationId: "getDiagnostics",
    summary: "Health of Postgres, Hatchet, what delivers runs, and the webhook workers",
    description: "Each probe is reported on its own; a failed probe reads `{ok: false, error}`.",
    tag: "Queue",
    answer: "Diagnostics",
    example: {
      postgres: { ok: true, version: "15.20 (Debian 15.20-0+deb12u1)", latency_ms: 3 },
      hatchet: { ok: true, version: "v0.105.0", latency_ms: 3 },
      delivery: {
        mode: "direct",
        ok: true,
        active_workers: 1,
        last_heartbeat_at: "2026-12-04T17:19:38.934+00:00",
        last_sweep_seconds_ago: 2.4,
      },
      webhook_workers: [
        { name: "local", healthy: true, last_checked_at: "2026-11-28T17:19:38.652+00:00", last_error: null },
      ],
      lag: { oldest_waiting_job_seconds: null, oldest_handed_over_job_seconds: null },
      versions: { node: "v20.20.2" },
    },
  },
  "GET /api/job-types/": {
    operationId: "listJobTypes",
    summary: "The job types jobs may be created of, with their parameters' JSON Schema",
    tag: "Job types",
    answer: "JobTypes",
    example: { job_types: [sleepType] },
  },
  "GET /api/targets/": {
    operationId: "listTargets",
    summary: "List targets",
    description: "Oldest first; archived targets only with `include_archived`.",
    tag: "Targets",
    query: S.ListTargetsQuery,
    answer: ["Target"],
    example: [target],
  },
  "POST /api/targets/": {
    operationId: "createTarget",
    summary: "Create a target",
    description:
      "`name` and `type` are the target's own; any other field is kept in `metadata` and echoed at the top level (legacy-use's connection settings).",
    tag: "Targets",
    body: S.TargetCreate,
    bodyExample: { name: "vm-1", type: "vnc", host: "10.0.0.9", vnc_port: 5900, password: "x", width: 1280 },
    status: 201,
    answer: "Target",
    example: { ...target, updated_at: target.created_at },
  },
  "GET /api/targets/{target_id}": {
    operationId: "getTarget",
    summary: "Get a target",
    tag: "Targets",
    path: S.TargetPath,
    answer: "Target",
    errors: ["target.not_found"],
    example: {
      ...target,
      queue_status: "paused",
      blocking_jobs: [pausedJob],
      has_blocking_jobs: true,
      blocking_jobs_count: 1,
    },
  },
  "PUT /api/targets/{target_id}": {
    operationId: "updateTarget",
    summary: "Update a target",
    description: "`name` and `type` replace the current values; any other field is merged into `metadata`.",
    tag: "Targets",
    path: S.TargetPath,
    body: S.TargetUpdate,
    bodyExample: { name: "vm-1", width: 1280 },
    answer: "Target",
    errors: ["target.not_found"],
    example: target,
  },
  "DELETE /api/targets/{target_id}": {
    operationId: "deleteTarget",
    summary: "Archive a target",
    description:
      "The target and its jobs stay readable; refused with `409 target.busy` while it has pending, queued or running jobs.",
    tag: "Targets",
    path: S.TargetPath,
    answer: "Message",
    errors: ["target.not_found", "target.busy"],
    example: { message: `Target ${TARGET} archived successfully` },
  },
  "POST /api/webhooks/": {
    operationId: "createWebhook",
    summary: "Add a webhook endpoint",
    description:
      "The URL must be https and resolve to public addresses only (it is checked again at every delivery). The answer holds the signing secret: the only time it is shown.",
    tag: "Webhooks",
    body: S.WebhookCreate,
    bodyExample: { url: webhook.url, events: webhook.events, description: webhook.description },
    status: 201,
    answer: "WebhookCreated",
    errors: ["webhook.invalid_url"],
    errorExamples: {
      "webhook.invalid_url": { detail: "Webhook url refused: its host resolves to a private or reserved address" },
    },
    example: { ...webhook, secret: "whsec_h6Q2d1m0cJqk3rY8v4yN5tZs9wE7uB1a" },
  },
  "GET /api/webhooks/": {
    operationId: "listWebhooks",
    summary: "List webhook endpoints",
    description: "Oldest first, without secrets.",
    tag: "Webhooks",
    answer: ["Webhook"],
    example: [webhook],
  },
  "DELETE /api/webhooks/{webhook_id}": {
    operationId: "deleteWebhook",
    summary: "Delete a webhook endpoint",
    description: "Deliveries still pending for it are dropped.",
    tag: "Webhooks",
    path: S.WebhookPath,
    answer: "Message",
    errors: ["webhook.not_found"],
    example: { message: `Webhook ${WEBHOOK} deleted` },
  },
  "GET /api/webhooks/{webhook_id}/deliveries/": {
    operationId: "listWebhookDeliveries",
    summary: "What was sent to an endpoint",
    description: "Its events, newest first, each with every delivery attempt and the endpoint's answer.",
    tag: "Webhooks",
    path: S.WebhookPath,
    query: S.PageQuery,
    answer: ["WebhookDelivery"],
    errors: ["webhook.not_found"],
    example: [
      {
        id: "0b5e7f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        type: "job.succeeded",
        job_id: JOB,
        created_at: doneJob.completed_at,
        status: "delivered",
        delivered_at: "2026-11-28T17:19:39.402+00:00",
        attempts: [{ attempt: 0, at: "2026-11-28T17:19:39.402+00:00", status_code: 204, error: null, duration_ms: 12 }],
      },
    ],
  },
  "POST /api/admin/tenants/": {
    operationId: "createTenant",
    summary: "Create a tenant and its first API key",
    description: "The answer holds the tenant's first API key: the only time it is shown.",
    tag: "Admin",
    body: S.TenantCreate,
    bodyExample: { name: "acme" },
    status: 201,
    answer: "TenantCreated",
    errors: ["tenant.name_taken"],
    example: { ...tenant, api_key: "sy_8NphOTW8mNShW8si7g1LZYd6_w9KINXoyHYluVrTKG4" },
  },
  "GET /api/admin/tenants/": {
    operationId: "listTenants",
    summary: "List tenants",
    description: "Oldest first, without keys.",
    tag: "Admin",
    answer: ["Tenant"],
    example: [tenant],
  },
  "POST /api/admin/tenants/{tenant_id}/keys/": {
    operationId: "createTenantKey",
    summary: "Create another API key",
    description: "Every key of a tenant acts as that tenant; this answer is the only time the key is shown.",
    tag: "Admin",
    path: S.TenantPath,
    status: 201,
    answer: "TenantKey",
    errors: ["tenant.not_found"],
    example: { tenant_id: TENANT, api_key: "sy_kZmBt_njr7V_30soirrS2eu9qPzDuvdWxz8dIAV23ss" },
  },
  "POST /api/admin/workers/": {
    operationId: "createWorker",
    summary: "Register a webhook worker",
    description:
      "Makes a signed health call to `<url>/health` and stores the job types the worker publishes; nothing is stored if it fails. The secret is never answered.",
    tag: "Admin",
    body: S.WorkerCreate,
    bodyExample: {
      name: "lambda-eu",
      url: "https://abc.lambda-url.eu-central-1.on.aws",
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    },
    status: 201,
    answer: "Worker",
    errors: ["worker.name_taken", "worker.unreachable"],
    example: worker,
  },
  "GET /api/admin/workers/": {
    operationId: "listWorkers",
    summary: "List webhook workers",
    description: "Oldest first.",
    tag: "Admin",
    answer: ["Worker"],
    example: [worker],
  },
  "DELETE /api/admin/workers/{worker_id}": {
    operationId: "deleteWorker",
    summary: "Delete a webhook worker",
    description:
      "Deletes the worker and its job types; in direct mode its HTTP operators in Hatchet go first (`503 orchestrator.unavailable` while Hatchet cannot be reached, and nothing changes).",
    tag: "Admin",
    path: S.WorkerPath,
    answer: "Message",
    errors: ["worker.not_found", "orchestrator.unavailable"],
    example: { message: `Worker ${WORKER} deleted` },
  },
  "GET /api/openapi.json": {
    operationId: "getOpenApiDocument",
    summary: "This document",
    tag: "Contract",
    answer: "OpenApiDocument",
    example: { openapi: "3.1.0", info: { title: "switchyard", version: "1.0.0" }, paths: {} },
  },
  "GET /api/console": {
    operationId: "getConsole",
    summary: "The console",
    description:
      "A page that shows a tenant's targets as lanes (running, blocking, waiting) and their jobs with live logs, HTTP exchanges and the job actions. It calls only this API, with the key entered in the page.",
    tag: "Contract",
    answer: "html",
    page: true,
    example: "<!doctype html>…",
  },
  "GET /api/docs": {
    operationId: "getDocs",
    summary: "The API reference page",
    description: "This document rendered by Redoc, served by the API itself (no CDN).",
    tag: "Contract",
    answer: "html",
    page: true,
    example: "<!doctype html>…",
  },
};

// ---- errors: what each code means, its status, and a real example -----------------------------

// Codes core adds later fall back to their name until they are described here.
const MEANING: Partial<Record<ApiErrorCode, string>> = {
  "auth.missing_key": "no key",
  "auth.invalid_key": "the key is unknown or revoked",
  "auth.admin_required": "no admin key is configured on this deployment",
  "request.invalid": "a path parameter, query parameter, header or body does not match the route's schema",
  "request.malformed_json": "the body is not valid JSON",
  "request.unsupported_media_type": "the body is not `application/json`, or the route takes no body",
  "request.too_large": `the body is over ${MAX_BODY_BYTES} bytes`,
  "route.not_found": "no route has this method and path (a wrong trailing slash, or an API older than this document)",
  "tenant.not_found": "unknown tenant",
  "tenant.name_taken": "the name is in use",
  "tenant.rate_limited":
    "the tenant sent more requests than its limit allows in the current window (`SWITCHYARD_RATE_LIMIT`, 1200 per 60 s by default); nothing was done, retry after Retry-After",
  "target.not_found": "unknown target, or another tenant's",
  "target.busy": "the target has pending, queued or running jobs",
  "target.archived": "the target is archived and takes no new jobs",
  "job.not_found": "unknown job, or one of another tenant or target",
  "job.unknown_type": "no registered worker serves the `api_name`",
  "job.invalid_parameters": "`parameters` do not match the job type's JSON Schema",
  "job.illegal_transition": "the action is not allowed from the job's status",
  "idempotency.key_reused": "the Idempotency-Key was used for another request within 24 hours",
  "worker.not_found": "unknown worker",
  "worker.unreachable": "the worker did not answer its signed health call",
  "worker.name_taken": "the name is in use",
  "webhook.not_found": "unknown webhook endpoint, or another tenant's",
  "webhook.invalid_url": "the URL is not https, or resolves to a private, loopback or reserved address",
  "database.unavailable": "switchyard's Postgres cannot be reached; nothing was written, retry after Retry-After",
  "orchestrator.unavailable": "Hatchet cannot be reached or answers 5xx; nothing was changed, retry after Retry-After",
  internal: "a bug",
};

function statusOf(code: ApiErrorCode): number {
  if (code === "database.unavailable" || code === "orchestrator.unavailable") return 503;
  if (code === "internal") return 500;
  return statusFor(code);
}

/** Formats a failed parse as the JSON edge does (http.ts): one {loc, msg} per issue. */
function invalidAnswer(where: string, schema: z.ZodMiniType, input: unknown): ErrorBody | undefined {
  const r = schema.safeParse(input);
  if (r.success) return undefined;
  const errors = r.error.issues.map((i) => ({ loc: [where, ...i.path.map(String)], msg: i.message }));
  return { detail: `${errors[0]?.loc.join(".")}: ${errors[0]?.msg}`, errors };
}

/** The route's own schema refusing a bad request: the example can only be what the schema says. */
function invalidExample(op: Operation): ErrorBody {
  const firstQuery = op.query && Object.keys(op.query.shape)[0];
  const tries: [string, z.ZodMiniType | undefined, unknown][] = [
    ["path", op.path, op.path && Object.fromEntries(Object.keys(op.path.shape).map((k) => [k, "abc"]))],
    ["body", op.body, {}],
    ["body", op.body, []],
    ["query", op.query, firstQuery && { [firstQuery]: "-1" }],
    ["headers", op.headers, { "idempotency-key": "not printable ascii: é" }],
  ];
  for (const [where, schema, input] of tries) {
    const answer = schema && invalidAnswer(where, schema, input);
    if (answer) return answer;
  }
  return { detail: "body: a JSON object is required" };
}

function errorExample(code: ApiErrorCode, route: ApiRoute, op: Operation): ErrorBody {
  const own = op.errorExamples?.[code];
  if (own) return own;
  const admin = route.auth === "admin";
  switch (code) {
    case "auth.missing_key":
      return { detail: admin ? "Admin key is missing" : "API key is missing" };
    case "auth.invalid_key":
      return { detail: admin ? "Invalid admin key" : "Invalid API Key" };
    case "auth.admin_required":
      return { detail: "Admin routes are disabled: no admin key is configured" };
    case "request.invalid":
      return invalidExample(op);
    case "request.malformed_json":
      return {
        detail: "Request body is not valid JSON, nests too deep, or uses a reserved key (__proto__, constructor)",
      };
    case "request.unsupported_media_type":
      return {
        detail: op.body
          ? "Request body must be JSON (Content-Type: application/json)"
          : "This route takes no request body",
      };
    case "request.too_large":
      return { detail: `Request body exceeds ${MAX_BODY_BYTES} bytes` };
    case "route.not_found": {
      // The same route with its trailing slash toggled, which no route has.
      const ids: Record<string, string> = {
        target_id: TARGET,
        job_id: JOB,
        tenant_id: TENANT,
        worker_id: WORKER,
        webhook_id: WEBHOOK,
      };
      const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? UNKNOWN);
      const wrong = path.endsWith("/") ? path.slice(0, -1) : `${path}/`;
      return { detail: `No route for ${route.method} ${wrong}; the routes are in /api/openapi.json` };
    }
    case "tenant.not_found":
    case "target.not_found":
    case "job.not_found":
    case "worker.not_found":
    case "webhook.not_found": {
      const what = code.slice(0, code.indexOf("."));
      return { detail: `${what[0]?.toUpperCase()}${what.slice(1)} not found: ${UNKNOWN}` };
    }
    case "tenant.name_taken":
      return { detail: "A tenant named 'acme' already exists" };
    case "tenant.rate_limited":
      return { detail: "Rate limit of 1200 requests per 60 s exceeded; retry after 17 s" };
    case "worker.name_taken":
      return { detail: "A worker named 'lambda-eu' is already registered" };
    case "target.busy":
      return { detail: "Target has 1 queued or running jobs; cancel them first" };
    case "target.archived":
      return { detail: `Target ${TARGET} is archived and takes no new jobs` };
    case "job.unknown_type":
      return { detail: "API definition 'nope' not found: no registered worker serves it" };
    case "job.invalid_parameters":
      return {
        detail: "Invalid parameters for 'sleep': /ms must be >= 0",
        errors: [{ path: "/ms", message: "must be >= 0" }],
      };
    case "job.illegal_transition":
      return illegal("interrupt", "paused", "interrupted");
    case "idempotency.key_reused":
      return { detail: "This Idempotency-Key was used for a different request; use a new key for a new job" };
    case "worker.unreachable":
      return {
        detail:
          'The worker did not answer its health call: worker answered 401: {"detail":"request refused: signature mismatch","code":"auth.invalid_signature"}',
      };
    case "database.unavailable":
      return { detail: "The database cannot be reached; try again shortly" };
    case "orchestrator.unavailable":
      return { detail: "Hatchet cannot be reached; try again shortly" };
    case "internal":
      return { detail: "Internal Server Error" };
    default:
      return { detail: MEANING[code] ?? code };
  }
}

/** Every code the route can answer: its own, and those of its auth, body and schemas. */
export function errorCodes(route: ApiRoute, op: Operation = operationOf(route)): ApiErrorCode[] {
  if (op.page) return ["route.not_found"];
  const codes = new Set<ApiErrorCode>(["route.not_found", "internal"]);
  const add = (...c: ApiErrorCode[]) => {
    for (const x of c) codes.add(x);
  };
  if (route.auth === "tenant")
    add("auth.missing_key", "auth.invalid_key", "tenant.rate_limited", "database.unavailable");
  if (route.auth === "admin")
    add("auth.missing_key", "auth.invalid_key", "auth.admin_required", "database.unavailable");
  if (op.body) add("request.too_large", "request.unsupported_media_type", "request.malformed_json", "request.invalid");
  else add("request.unsupported_media_type");
  if (op.path || op.query || op.headers) add("request.invalid");
  add(...(op.errors ?? []));
  return [...codes];
}

// ---- the document -------------------------------------------------------------------------------

const ERROR_REF = "#/components/schemas/Error";
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Leaner JSON Schema for people and generators: the format says what zod's long patterns say. */
function tidy({ jsonSchema }: { jsonSchema: Record<string, unknown> }) {
  if (jsonSchema.format === "uuid" || jsonSchema.format === "date-time") delete jsonSchema.pattern;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
}

function jsonSchema(t: z.ZodMiniType, io: "input" | "output") {
  const { $schema: _, ...rest } = z.toJSONSchema(t, { io, target: "draft-2020-12", override: tidy }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** `idempotency-key` → `Idempotency-Key`: header names are case-insensitive, documents use this spelling. */
const headerName = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

const PARAMETER_NOTES: Record<string, string> = {
  "query.limit": "Page size, 1 to 1000.",
  "query.offset": "Jobs to skip, 0 to 1,000,000.",
  "query.status": "Only jobs in this status (any case).",
  "query.target_id": "Only jobs of this target.",
  "query.api_name": "Only jobs of this job type.",
  "query.after": "The id of the last log line the client has: only newer lines are answered.",
  "query.include_archived": "Also list archived targets.",
  "header.idempotency-key":
    "1 to 255 printable ASCII characters (e.g. a UUID the client made). Within 24 hours, a create with the same key and request answers the first create's job; the same key with another request answers `422 idempotency.key_reused`.",
};

function parameters(where: "path" | "query" | "header", obj?: z.ZodMiniObject) {
  if (!obj) return [];
  return Object.entries(obj.shape).map(([name, t]) => {
    const note = PARAMETER_NOTES[`${where}.${name}`];
    return {
      name: where === "header" ? headerName(name) : name,
      in: where,
      required: where === "path" || !(t as z.ZodMiniType).safeParse(undefined).success,
      ...(note ? { description: note } : {}),
      schema: jsonSchema(t as z.ZodMiniType, "input"),
    };
  });
}

function operationOf(route: ApiRoute): Operation {
  const op = operations[routeKey(route)];
  if (!op) throw new Error(`no OpenAPI operation for ${routeKey(route)}`);
  return op;
}

function errorResponses(route: ApiRoute, op: Operation) {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of errorCodes(route, op))
    byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
  const out: Record<string, unknown> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: codes.map((c) => `- \`${c}\`${MEANING[c] ? `: ${MEANING[c]}` : ""}`).join("\n"),
      ...(status === 503 || status === 429
        ? {
            headers: {
              "Retry-After": {
                description: "Seconds to wait before sending the request again.",
                schema: { type: "integer", minimum: 0 },
              },
            },
          }
        : {}),
      content: {
        "application/json": {
          // The codes this route can answer with this status, on top of the shared shape.
          schema: { allOf: [{ $ref: ERROR_REF }, { properties: { code: { enum: codes } } }] },
          examples: Object.fromEntries(
            codes.map((c) => {
              const { detail, errors } = errorExample(c, route, op);
              return [c, { summary: c, value: { detail, code: c, ...(errors === undefined ? {} : { errors }) } }];
            }),
          ),
        },
      },
    };
  }
  return out;
}

function successResponse(op: Operation) {
  if (op.answer === "events") {
    return {
      description:
        "Server-Sent Events: `log` (id: the line's id; data: a LogEntry as JSON), then `end` (data: `{\"status\": …}`) once the job stops running. A stream cut short (the function's time limit) is resumed by reconnecting with `Last-Event-ID`, which EventSource does by itself.",
      content: { "text/event-stream": { schema: { type: "string" }, example: op.example } },
    };
  }
  if (op.answer === "html") {
    return {
      description: "The reference page (HTML with Redoc inlined); gzip-encoded when the client accepts it.",
      content: { "text/html": { schema: { type: "string" }, example: op.example } },
    };
  }
  const schema = Array.isArray(op.answer) ? { type: "array", items: ref(op.answer[0]) } : ref(op.answer);
  return {
    description: op.status === 201 ? "Created" : "OK",
    ...(op.answerHeaders ? { headers: op.answerHeaders } : {}),
    content: { "application/json": { schema, example: op.example } },
  };
}

const SECURITY = {
  tenant: [{ apiKey: [] }, { apiKeyQuery: [] }],
  admin: [{ adminKey: [] }],
  none: [],
};

export function openApiDocument() {
  const { registry } = answerSchemas(z.registry<SchemaMeta>());
  const answers = z.toJSONSchema(registry, {
    metadata: registry,
    target: "draft-2020-12",
    io: "output",
    uri: (id) => `#/components/schemas/${id}`,
    override: tidy,
  }).schemas;
  const schemas = Object.fromEntries(
    Object.entries(answers).map(([name, { $schema: _s, $id: _i, ...schema }]) => [name, schema]),
  );

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of apiRoutes) {
    const op = operationOf(route);
    paths[route.path] ??= {};
    const ops = paths[route.path] as Record<string, unknown>;
    ops[route.method.toLowerCase()] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      security: SECURITY[route.auth],
      parameters: [
        ...parameters("path", op.path),
        ...parameters("query", op.query),
        ...parameters("header", op.headers),
      ],
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: {
                "application/json": {
                  schema: jsonSchema(op.body, "input"),
                  ...(op.bodyExample === undefined ? {} : { example: op.bodyExample }),
                },
              },
            },
          }
        : {}),
      responses: { [String(op.status ?? 200)]: successResponse(op), ...errorResponses(route, op) },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "switchyard",
      version: "1.0.0",
      description:
        "Jobs queued per target, run on Hatchet. legacy-use's job API (paths, fields, trailing slashes), with its queue's quirks fixed.\n\nTenant routes take an API key (`X-API-Key` header, or the `api_key` query parameter); `/api/admin/**` takes the admin key (`X-Admin-Key`). Every error is JSON `{detail, code, errors?}`: match on `code`. A `503` or `429` did nothing: send the request again after `Retry-After` seconds. Each tenant has a request limit (`429 tenant.rate_limited`).",
    },
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "A tenant's API key (sy_…)." },
        apiKeyQuery: {
          type: "apiKey",
          in: "query",
          name: "api_key",
          description: "The same key as a query parameter; the header wins when both are sent.",
        },
        adminKey: { type: "apiKey", in: "header", name: "X-Admin-Key", description: "The deployment's admin key." },
      },
      schemas,
    },
  };
}

/** The table's entries, for tests: every route of the table has one, and nothing else does. */
export const operationKeys = () => Object.keys(operations);
