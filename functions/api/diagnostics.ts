import { Diagnostics } from "@switchyard/core";
import { route } from "./_lib/http.ts";

export const handler = route({ auth: "tenant" }, ({ deps }) => Diagnostics.report(deps.db, deps.hatchet));
