import { Jobs } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { JobPath, ResolveBody } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", path: JobPath, body: ResolveBody }, ({ deps, tenantId, path, body }) =>
  Jobs.resolve(deps, tenantId, path.target_id, path.job_id, body),
);
