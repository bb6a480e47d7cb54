import { Jobs } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { JobPath } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", path: JobPath }, ({ deps, tenantId, path }) =>
  Jobs.logs(deps.db, tenantId, path.target_id, path.job_id),
);
