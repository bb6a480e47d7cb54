// The worker function's settings: one schema, checked on its first request, so a misconfigured
// deployment answers with one logged error that lists every missing or bad variable.
import { databaseEnv, loadConfig, logEnv, required, timingEnv } from "@switchyard/core";
import { type DeliveryMode, deliveryEnv, deliveryFromEnv, hatchetEnv } from "@switchyard/hatchet";
import { outboundEnv } from "@switchyard/workers";

/** Hatchet is needed only in direct mode, where the worker hands over the target's next job itself. */
export const workerEnv = (delivery: DeliveryMode) => ({
  ...databaseEnv(1),
  ...deliveryEnv,
  ...timingEnv,
  ...outboundEnv,
  ...logEnv,
  ...(delivery === "direct" ? hatchetEnv : {}),
  WEBHOOK_SIGNING_SECRET: required("WEBHOOK_SIGNING_SECRET", "the secret the engine and the relay sign with"),
});

let checked = false;

/** Checks the worker's settings once per process; throws a ConfigError listing every problem. */
export function checkWorkerSettings(env: NodeJS.ProcessEnv = process.env): void {
  if (checked) return;
  let delivery: DeliveryMode = "direct";
  try {
    delivery = deliveryFromEnv(env);
  } catch {
    // A wrong SWITCHYARD_DELIVERY is one of the problems the check below lists.
  }
  loadConfig("worker", workerEnv(delivery), env);
  checked = true;
}
