import { Jobs } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { JobCreate, TargetPath } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", path: TargetPath, body: JobCreate }, ({ deps, tenantId, path, body }) =>
  Jobs.create(deps, tenantId, path.target_id, body),
);
