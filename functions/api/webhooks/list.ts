import { Webhooks } from "@switchyard/core";
import { route } from "../_lib/http.ts";

export const handler = route({ auth: "tenant" }, ({ deps, tenantId }) => Webhooks.listEndpoints(deps.db, tenantId));
