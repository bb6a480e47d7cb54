import { Targets } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { ListTargetsQuery } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", query: ListTargetsQuery }, ({ deps, tenantId, query }) =>
  Targets.list(deps.db, tenantId, { includeArchived: query.include_archived }),
);
