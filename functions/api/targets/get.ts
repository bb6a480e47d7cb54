import { Targets } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { TargetPath } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", path: TargetPath }, ({ deps, tenantId, path }) =>
  Targets.get(deps.db, tenantId, path.target_id),
);
