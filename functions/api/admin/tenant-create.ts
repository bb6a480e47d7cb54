import { Tenants } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { TenantCreate } from "../_lib/schemas.ts";

// The key is in this answer only; switchyard keeps its hash.
export const handler = route({ auth: "admin", body: TenantCreate }, async ({ deps, body }) => ({
  status: 201,
  body: await Tenants.createTenant(deps.db, body.name),
}));
