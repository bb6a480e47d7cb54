import { Jobs } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { ListAllJobsQuery } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", query: ListAllJobsQuery }, async ({ deps, tenantId, query }) => {
  const page = await Jobs.listAll(deps.db, tenantId, query);
  return { body: page, headers: { "x-total-count": String(page.total_count) } };
});
