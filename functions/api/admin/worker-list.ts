import { Workers } from "@switchyard/workers";
import { route } from "../_lib/http.ts";

export const handler = route({ auth: "admin" }, ({ deps }) => Workers.list(deps.db));
