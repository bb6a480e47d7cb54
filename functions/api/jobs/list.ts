import { Jobs } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { PageQuery, TargetPath } from "../_lib/schemas.ts";

export const handler = route(
  { auth: "tenant", path: TargetPath, query: PageQuery },
  ({ deps, tenantId, path, query }) => Jobs.listForTarget(deps.db, tenantId, path.target_id, query),
);
