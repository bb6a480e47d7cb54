import { removeOperators } from "@switchyard/hatchet";
import { Workers } from "@switchyard/workers";
import { route } from "../_lib/http.ts";
import { WorkerPath } from "../_lib/schemas.ts";

// In direct mode the worker's HTTP operators go first: while Hatchet cannot be reached the route
// answers 503 and the worker stays registered, rather than left called by an operator nobody sees.
export const handler = route({ auth: "admin", path: WorkerPath }, async ({ deps, path }) => {
  const worker = await Workers.get(deps.db, path.worker_id);
  if (deps.delivery === "direct") {
    await removeOperators(deps.hatchet(), { name: worker.name, namespace: process.env.HATCHET_CLIENT_NAMESPACE });
  }
  return Workers.remove(deps.db, path.worker_id);
});
