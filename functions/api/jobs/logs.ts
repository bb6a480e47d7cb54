import { Jobs } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { JobPath, LogsQuery } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", path: JobPath, query: LogsQuery }, ({ deps, tenantId, path, query }) =>
  Jobs.logs(deps.db, tenantId, path.target_id, path.job_id, query),
);
