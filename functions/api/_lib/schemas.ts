// Request schemas of every route, keyed by route: handlers validate with them and
// GET /api/openapi.json is generated from them, so the contract cannot drift from the checks.
import { z } from "zod";

const uuid = (name: string) => z.uuid({ error: `${name} must be a UUID` });
const JOB_STATUS = z.enum(["pending", "queued", "running", "paused", "success", "error", "canceled"]);
const page = {
  limit: z.coerce.number().int().min(1).max(1000).default(10),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
};

export const TargetPath = z.object({ target_id: uuid("target_id") });
export const JobPath = z.object({ target_id: uuid("target_id"), job_id: uuid("job_id") });
export const TenantPath = z.object({ tenant_id: uuid("tenant_id") });
export const WorkerPath = z.object({ worker_id: uuid("worker_id") });

export const ListAllJobsQuery = z.object({
  ...page,
  status: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(JOB_STATUS)
    .optional(),
  target_id: uuid("target_id").optional(),
  api_name: z.string().min(1).max(200).optional(),
});
export const PageQuery = z.object(page);
export const ListTargetsQuery = z.object({
  include_archived: z
    .enum(["true", "false", "1", "0"])
    .transform((v) => v === "true" || v === "1")
    .default(false),
});

export const JobCreate = z.object({
  api_name: z.string().min(1).max(200),
  parameters: z.record(z.string(), z.unknown()).default({}),
  /** Accepted for legacy-use clients and ignored: a new job is always queued. */
  status: JOB_STATUS.optional(),
});
export const ResolveBody = z.record(z.string(), z.unknown());

const targetFields = {
  name: z.string().trim().min(1).max(200),
  type: z.string().trim().min(1).max(100).optional(),
};
/** Unknown fields are kept as the target's metadata (legacy-use sends its connection settings). */
export const TargetCreate = z.looseObject(targetFields);
export const TargetUpdate = z.looseObject({ name: targetFields.name.optional(), type: targetFields.type });

export const TenantCreate = z.object({ name: z.string().trim().min(1).max(100) });
export const WorkerCreate = z.object({
  name: z.string().trim().min(1).max(100),
  url: z.url({ protocol: /^https?$/, error: "url must be an http(s) URL" }),
  secret: z.string().min(1).max(500),
});
