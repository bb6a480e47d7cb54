import { Targets } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { TargetPath } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", path: TargetPath }, ({ deps, tenantId, path }) =>
  Targets.remove(deps.db, tenantId, path.target_id),
);
