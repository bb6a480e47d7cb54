import { Tenants } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { TenantPath } from "../_lib/schemas.ts";

export const handler = route({ auth: "admin", path: TenantPath }, async ({ deps, path }) => ({
  status: 201,
  body: await Tenants.createKey(deps.db, path.tenant_id),
}));
