import { Jobs } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { IdempotencyKey, JobCreate, TargetPath } from "../_lib/schemas.ts";

// Idempotency-Key (IETF draft): a retried create with the same key and body answers the same job.
export const handler = route(
  { auth: "tenant", path: TargetPath, body: JobCreate, headers: IdempotencyKey },
  async ({ deps, tenantId, path, body, headers }) => {
    const { job, replayed } = await Jobs.create(deps, tenantId, path.target_id, body, headers["idempotency-key"]);
    return { body: job, headers: replayed ? { "idempotent-replayed": "true" } : {} };
  },
);
