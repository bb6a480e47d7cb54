import * as Workers from "@switchyard/relay/registry";
import { route } from "../_lib/http.ts";

export const handler = route({ auth: "admin" }, ({ deps }) => Workers.list(deps.db));
