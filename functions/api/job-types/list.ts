import { JobTypes } from "@switchyard/core";
import { route } from "../_lib/http.ts";

export const handler = route({ auth: "tenant" }, async ({ deps }) => ({ job_types: await JobTypes.catalog(deps.db) }));
