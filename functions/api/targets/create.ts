import { Targets } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { TargetCreate } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", body: TargetCreate }, async ({ deps, tenantId, body }) => {
  const { name, type, ...extra } = body;
  return { status: 201, body: await Targets.create(deps.db, tenantId, { name, type, extra }) };
});
