import { Queue } from "@switchyard/core";
import { route } from "../_lib/http.ts";

export const handler = route({ auth: "tenant" }, async ({ deps, tenantId }) => {
  const [queue, hatchet] = await Promise.all([
    Queue.status(deps.db, tenantId, deps.timing),
    deps
      .hatchet()
      .queueMetrics()
      .then((queues) => ({ reachable: true, queues }))
      .catch((err: Error) => ({ reachable: false, error: err.message })),
  ]);
  return { ...queue, hatchet };
});
