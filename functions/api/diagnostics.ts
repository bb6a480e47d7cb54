import { Diagnostics } from "@switchyard/core";
import { operatorPrefix } from "@switchyard/hatchet";
import { route } from "./_lib/http.ts";

export const handler = route({ auth: "tenant" }, ({ deps, tenantId }) =>
  Diagnostics.report(deps.db, tenantId, deps.hatchet, {
    mode: deps.delivery,
    operatorPrefix: operatorPrefix(process.env.HATCHET_CLIENT_NAMESPACE),
  }),
);
