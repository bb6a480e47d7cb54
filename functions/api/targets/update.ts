import { Targets } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { TargetPath, TargetUpdate } from "../_lib/schemas.ts";

export const handler = route(
  { auth: "tenant", path: TargetPath, body: TargetUpdate },
  ({ deps, tenantId, path, body }) => {
    const { name, type, ...extra } = body;
    return Targets.update(deps.db, tenantId, path.target_id, { name, type, extra });
  },
);
