// Request schemas of every route, keyed by route: handlers validate with them and
// GET /api/openapi.json is generated from them, so the contract cannot drift from the checks.
// zod/mini rather than zod: the same checks and messages (one core), but every API function
// imports these, and classic zod's namespace costs ~450 KB and ~55 ms of cold start per function.
import { ErrorCodes } from "@switchyard/core";
import * as z from "zod/mini";

const uuid = (name: string) => z.uuid({ error: `${name} must be a UUID` });
const text = (min: number, max: number) => z.string().check(z.trim(), z.minLength(min), z.maxLength(max));
const JOB_STATUS = z.enum(["pending", "queued", "running", "paused", "success", "error", "canceled"]);
const page = {
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 10),
  offset: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(1_000_000)), 0),
};

export const TargetPath = z.object({ target_id: uuid("target_id") });
export const JobPath = z.object({ target_id: uuid("target_id"), job_id: uuid("job_id") });
export const TenantPath = z.object({ tenant_id: uuid("tenant_id") });
export const WorkerPath = z.object({ worker_id: uuid("worker_id") });
export const WebhookPath = z.object({ webhook_id: uuid("webhook_id") });

export const ListAllJobsQuery = z.object({
  ...page,
  status: z.optional(z.pipe(z.string().check(z.toLowerCase()), JOB_STATUS)),
  target_id: z.optional(uuid("target_id")),
  api_name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
});
export const PageQuery = z.object(page);
/** `after`: the id of the last log line the client has; only newer lines are answered. */
export const LogsQuery = z.object({
  after: z.optional(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER))),
});
export const ListTargetsQuery = z.object({
  include_archived: z._default(
    z.pipe(
      z.enum(["true", "false", "1", "0"]),
      z.transform((v) => v === "true" || v === "1"),
    ),
    false,
  ),
});

export const JobCreate = z.object({
  api_name: z.string().check(z.minLength(1), z.maxLength(200)),
  parameters: z._default(z.record(z.string(), z.unknown()), {}),
  /** Accepted for legacy-use clients and ignored: a new job is always queued. */
  status: z.optional(JOB_STATUS),
});
export const ResolveBody = z.record(z.string(), z.unknown());
/** The Idempotency-Key header of a create: 1 to 255 printable ASCII characters. */
export const IdempotencyKey = z.object({
  "idempotency-key": z.optional(
    z
      .string()
      .check(z.regex(/^[\x21-\x7e]{1,255}$/, { error: "Idempotency-Key must be 1 to 255 printable ASCII characters" })),
  ),
});

/** Unknown fields are kept as the target's metadata (legacy-use sends its connection settings). */
export const TargetCreate = z.looseObject({ name: text(1, 200), type: z.optional(text(1, 100)) });
export const TargetUpdate = z.looseObject({ name: z.optional(text(1, 200)), type: z.optional(text(1, 100)) });

export const TenantCreate = z.object({ name: text(1, 100) });
export const WorkerCreate = z.object({
  name: text(1, 100),
  url: z.url({ protocol: /^https?$/, error: "url must be an http(s) URL" }),
  secret: z.string().check(z.minLength(1), z.maxLength(500)),
});
const WEBHOOK_EVENT = z.enum(["job.succeeded", "job.failed", "job.canceled", "job.paused"]);
/** The URL's reachability (https, public address) is checked by the handler: a schema cannot resolve names. */
export const WebhookCreate = z.object({
  url: z.url({ protocol: /^https?$/, error: "url must be an http(s) URL" }).check(z.maxLength(2000)),
  events: z.array(WEBHOOK_EVENT).check(z.minLength(1), z.maxLength(4)),
  description: z.optional(z.string().check(z.maxLength(500))),
});

// ---------------------------------------------------------------------------------------------
// Answers, for the OpenAPI document (functions/api/_lib/openapi.ts) and so for the generated client.
// Handlers do not validate what they answer; test/integration/openapi-answers.test.ts checks real
// answers against these. They are built by a function, not at import: every handler imports this
// file, and esbuild keeps top-level schema calls it cannot prove pure in every handler's bundle.

/** Every `code` an error answer can carry: core's codes, the outages (503) and a bug (500). */
export const API_ERROR_CODES = [...ErrorCodes, "database.unavailable", "orchestrator.unavailable", "internal"] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** What the document's generator may know of a schema: its component name, a description. */
export interface SchemaMeta {
  id?: string;
  description?: string;
}

/**
 * The answers' schemas, with their descriptions in `registry`; the named ones (what the routes
 * answer) carry an `id`, which becomes their name under `components.schemas`.
 */
export function answerSchemas(registry: z.core.$ZodRegistry<SchemaMeta> = z.registry<SchemaMeta>()) {
  const about = <T extends z.ZodMiniType>(description: string, t: T): T => {
    registry.add(t, { description });
    return t;
  };
  // Fresh schemas per field: a registry holds one description per schema object.
  const id = () => z.uuid();
  const timestamp = () => z.iso.datetime({ offset: true, precision: 3 });
  const int = () => z.int().check(z.minimum(0));
  const seconds = () => z.nullable(z.number().check(z.minimum(0)));
  const object = () => z.record(z.string(), z.unknown());

  const Job = z.object({
    id: id(),
    target_id: id(),
    // Typed string | null, not null: openapi-fetch's answer types drop fields whose type is only null.
    session_id: about("Always null: switchyard has no sessions (kept for legacy-use clients).", z.nullable(z.string())),
    api_name: about("The job type.", z.string()),
    api_definition_version_id: about("Always null: switchyard has no API definitions.", z.nullable(z.string())),
    parameters: about("As created, after the job type's schema accepted them.", object()),
    status: JOB_STATUS,
    result: about("The job type's return value, or the body given to resolve; else null.", z.unknown()),
    error: about("Why the job failed, paused or was canceled while running.", z.nullable(z.string())),
    created_at: timestamp(),
    updated_at: timestamp(),
    started_at: about("When the job's current run first began; cleared by resume.", z.nullable(timestamp())),
    completed_at: about(
      "When the job settled (success, error, paused, canceled); cleared by resume.",
      z.nullable(timestamp()),
    ),
    duration_seconds: about(
      "completed_at − created_at, or now − created_at while the job is not settled.",
      z.number().check(z.minimum(0)),
    ),
    total_input_tokens: int(),
    total_output_tokens: int(),
    api_exchanges: about("Always []: the exchanges are at …/http_exchanges/.", z.array(z.unknown())),
    attempt: about("The attempt that last started (0 is the first).", int()),
    hatchet_run_id: about(
      "The Hatchet run the job was handed to; null while it waits in Postgres.",
      z.nullable(z.string()),
    ),
    stop_requested: about("Set while a running job is being stopped.", z.nullable(z.enum(["cancel", "interrupt"]))),
    dispatch_error: about("Why the last hand-over to Hatchet failed; it is retried.", z.nullable(z.string())),
  });
  const JobWithMessage = z.extend(Job, { message: z.string() });
  const JobPage = z.object({
    total_count: about("Every job that matches the filters, whatever limit and offset.", int()),
    jobs: z.array(Job),
  });
  const LogEntry = z.object({
    id: about("Increasing: pass the last one as ?after= to read only newer lines.", int()),
    job_id: id(),
    timestamp: timestamp(),
    log_type: about("system (the queue's own lines), message, tool_use, error or progress.", z.string()),
    content: about("A string, or an object the job type logged.", z.unknown()),
  });
  const headers = () => z.record(z.string(), z.string());
  const HttpExchange = z.object({
    id: int(),
    job_id: id(),
    timestamp: timestamp(),
    log_type: z.literal("http_exchange"),
    attempt: int(),
    content: about(
      "The job type's record; a failed request has error and no response. Credentials are redacted.",
      z.looseObject({
        request: z.looseObject({
          method: z.string(),
          url: z.string(),
          headers: z.optional(headers()),
          body: z.optional(z.string()),
        }),
        response: z.optional(
          z.looseObject({ status: z.int(), headers: z.optional(headers()), body: z.optional(z.string()) }),
        ),
        error: z.optional(z.string()),
        durationMs: z.number(),
      }),
    ),
  });
  const Target = about(
    "Fields other than its own (host, vnc_port, …) are kept in metadata and echoed at the top level.",
    z.looseObject({
      id: id(),
      name: z.string(),
      type: z.string(),
      metadata: object(),
      is_archived: z.boolean(),
      created_at: timestamp(),
      updated_at: timestamp(),
      queue_status: about("paused while a job of the target is paused or error.", z.enum(["paused", "running"])),
      blocking_jobs: about("The paused and error jobs, newest first, at most 100.", z.array(Job)),
      has_blocking_jobs: z.boolean(),
      blocking_jobs_count: int(),
      queued_jobs_count: int(),
      running_jobs_count: int(),
    }),
  );
  const Message = z.object({ message: z.string() });
  const QueueStatus = z.object({
    queue_size: about("Jobs waiting their turn in Postgres (queued, not yet handed over).", int()),
    queued_in_db: about("Every queued job, including those handed over and not started.", int()),
    running_jobs_count: int(),
    running_job: about("The id of one running job.", z.nullable(z.uuid())),
    is_processor_running: about("Whether a dispatch host swept within the last few sweep periods.", z.boolean()),
    last_sweep_seconds_ago: seconds(),
    queue_type: z.literal("hatchet"),
    blocked_targets: int(),
    targets: z.array(
      z.object({
        target_id: id(),
        name: z.string(),
        queued: int(),
        dispatched: about("Queued jobs already handed to Hatchet but not yet started.", int()),
        running: int(),
        blocked: about("The target has a paused or error job.", z.boolean()),
        blocking_jobs_count: int(),
        oldest_queued_seconds: seconds(),
      }),
    ),
    hatchet: z.union([
      z.object({ reachable: z.literal(true), queues: z.record(z.string(), z.number()) }),
      z.object({ reachable: z.literal(false), error: z.string() }),
    ]),
  });
  const Resync = z.object({
    message: z.string(),
    checked_jobs: int(),
    repairs: z.array(
      z.object({
        job_id: id(),
        target_id: id(),
        action: z.enum(["redispatched", "failed", "dispatched"]),
        reason: z.string(),
      }),
    ),
  });
  const probe = () =>
    z.union([
      z.object({ ok: z.literal(true), version: z.string(), latency_ms: int() }),
      z.object({ ok: z.literal(false), error: z.string() }),
    ]);
  const mode = () => z.enum(["direct", "relay"]);
  const Diagnostics = z.object({
    postgres: probe(),
    hatchet: probe(),
    delivery: about(
      "What delivers runs (the engine's HTTP operators, or the relays), as Hatchet sees it.",
      z.union([
        z.object({
          mode: mode(),
          ok: z.boolean(),
          active_workers: int(),
          last_heartbeat_at: z.nullable(timestamp()),
          last_sweep_seconds_ago: seconds(),
        }),
        z.object({ mode: mode(), ok: z.literal(false), error: z.string() }),
      ]),
    ),
    webhook_workers: z.array(
      z.object({
        name: z.string(),
        healthy: z.boolean(),
        last_checked_at: z.nullable(timestamp()),
        last_error: z.nullable(z.string()),
      }),
    ),
    lag: about(
      "The caller's tenant: jobs not yet handed over, and handed over but not started.",
      z.object({ oldest_waiting_job_seconds: seconds(), oldest_handed_over_job_seconds: seconds() }),
    ),
    versions: z.object({ node: z.string() }),
  });
  const JobType = z.object({
    name: z.string(),
    description: z.string(),
    parameters: about("The JSON Schema (draft 2020-12) a job's parameters must match.", object()),
    defaults: z.object({
      timeout_seconds: about("The limit of one attempt.", int()),
      retries: about("Attempts after the first for retryable failures.", int()),
    }),
  });
  const JobTypes = z.object({ job_types: z.array(JobType) });
  const Tenant = z.object({ id: id(), name: z.string(), created_at: timestamp() });
  const apiKey = () => about("Shown once: switchyard keeps only its hash.", z.string());
  const TenantCreated = z.extend(Tenant, { api_key: apiKey() });
  const TenantKey = z.object({ tenant_id: id(), api_key: apiKey() });
  const Worker = z.object({
    id: id(),
    name: z.string(),
    url: z.string(),
    healthy: z.boolean(),
    last_checked_at: z.nullable(timestamp()),
    last_error: z.nullable(z.string()),
    created_at: timestamp(),
    job_types: about("The job types the worker published in its health answer.", z.array(JobType)),
  });
  const Webhook = z.object({
    id: id(),
    url: z.string(),
    events: about("The events the endpoint is sent.", z.array(WEBHOOK_EVENT)),
    description: z.string(),
    created_at: timestamp(),
  });
  const WebhookCreated = z.extend(Webhook, {
    secret: about(
      "Standard Webhooks signing secret (`whsec_…`): shown once, verify `webhook-signature` with it.",
      z.string(),
    ),
  });
  const WebhookDelivery = z.object({
    id: about("The event's id, also sent as the `webhook-id` header: the receiver's deduplication key.", id()),
    type: WEBHOOK_EVENT,
    job_id: id(),
    created_at: timestamp(),
    status: about("delivered: a 2xx answer; failed: every retry refused.", z.enum(["pending", "delivered", "failed"])),
    delivered_at: z.nullable(timestamp()),
    attempts: z.array(
      z.object({
        attempt: int(),
        at: timestamp(),
        status_code: about("The endpoint's HTTP status; null when no answer came.", z.nullable(z.int())),
        error: z.nullable(z.string()),
        duration_ms: int(),
      }),
    ),
  });
  const OpenApiDocument = about("An OpenAPI 3.1 document.", z.looseObject({ openapi: z.string() }));
  const ApiError = z.object({
    detail: about("For people; never contains secrets.", z.string()),
    code: about("Stable: match on it, not on detail.", z.enum(API_ERROR_CODES)),
    errors: about(
      "request.invalid: one {loc, msg} per problem; job.invalid_parameters: one {path, message} per problem; job.illegal_transition: {status, action, allowed_from}.",
      z.optional(
        z.union([
          z.array(z.object({ loc: z.array(z.string()), msg: z.string() })),
          z.array(z.object({ path: z.string(), message: z.string() })),
          z.object({ status: JOB_STATUS, action: z.string(), allowed_from: z.array(JOB_STATUS) }),
        ]),
      ),
    ),
  });

  const schemas = {
    Job,
    JobWithMessage,
    JobPage,
    LogEntry,
    HttpExchange,
    Target,
    Message,
    QueueStatus,
    Resync,
    Diagnostics,
    JobType,
    JobTypes,
    Tenant,
    TenantCreated,
    TenantKey,
    Worker,
    Webhook,
    WebhookCreated,
    WebhookDelivery,
    OpenApiDocument,
    Error: ApiError,
  };
  for (const [name, schema] of Object.entries(schemas)) registry.add(schema, { ...registry.get(schema), id: name });
  return { registry, schemas };
}
export type AnswerName = keyof ReturnType<typeof answerSchemas>["schemas"];
