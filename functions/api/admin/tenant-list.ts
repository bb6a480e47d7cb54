import { Tenants } from "@switchyard/core";
import { route } from "../_lib/http.ts";

export const handler = route({ auth: "admin" }, ({ deps }) => Tenants.listTenants(deps.db));
