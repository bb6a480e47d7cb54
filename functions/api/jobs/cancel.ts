import { Jobs } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { JobPath } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", path: JobPath }, async ({ deps, tenantId, path }) => {
  const { message, job } = await Jobs.cancel(deps, tenantId, path.target_id, path.job_id);
  return { ...job, message };
});
