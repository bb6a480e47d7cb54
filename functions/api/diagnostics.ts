import { Diagnostics } from "@switchyard/core";
import { route } from "./_lib/http.ts";

export const handler = route({ auth: "tenant" }, ({ deps, tenantId }) =>
  Diagnostics.report(deps.db, tenantId, deps.hatchet),
);
