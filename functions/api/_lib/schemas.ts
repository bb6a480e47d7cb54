// Request schemas of every route, keyed by route: handlers validate with them and
// GET /api/openapi.json is generated from them, so the contract cannot drift from the checks.
// zod/mini rather than zod: the same checks and messages (one core), but every API function
// imports these, and classic zod's namespace costs ~450 KB and ~55 ms of cold start per function.
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
