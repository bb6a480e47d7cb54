import { Workers } from "@switchyard/workers";
import { route } from "../_lib/http.ts";
import { WorkerCreate } from "../_lib/schemas.ts";

// Registration calls the worker's health endpoint to learn its job types; nothing is stored if it fails.
export const handler = route({ auth: "admin", body: WorkerCreate }, async ({ deps, body }) => ({
  status: 201,
  body: await Workers.register(deps.db, body),
}));
