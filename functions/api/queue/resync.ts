import { Queue } from "@switchyard/core";
import { route } from "../_lib/http.ts";

export const handler = route({ auth: "tenant" }, ({ deps, tenantId }) => Queue.resync(deps, tenantId));
