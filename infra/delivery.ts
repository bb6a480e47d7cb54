// How runs reach the worker function: the one setting that picks the delivery mode of a stage
// (`SWITCHYARD_DELIVERY=relay npx sst deploy`; docs/deploy.md says when to pick which).
// - "direct" (the default): the Hatchet engine's HTTP operator calls the worker's Function URL.
//   No process of switchyard's own runs all the time.
// - "relay": switchyard's relay, a Fargate service, takes runs from the engine over gRPC and calls
//   the worker. For engines that cannot reach the worker (a private network).

export type DeliveryMode = "direct" | "relay";

const mode = process.env.SWITCHYARD_DELIVERY ?? "direct";
if (mode !== "direct" && mode !== "relay") {
  throw new Error(`SWITCHYARD_DELIVERY must be direct or relay, not "${mode}"`);
}

export const delivery: DeliveryMode = mode;
