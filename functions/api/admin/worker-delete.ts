import { Workers } from "@switchyard/workers";
import { route } from "../_lib/http.ts";
import { WorkerPath } from "../_lib/schemas.ts";

export const handler = route({ auth: "admin", path: WorkerPath }, ({ deps, path }) =>
  Workers.remove(deps.db, path.worker_id),
);
