// Hatchet without its SDK: settings, the job workflow's names and the REST client. API functions
// and the worker import only this; the SDK (gRPC, a much larger bundle) is in ./sdk.

export {
  ensureOperator,
  type OperatorWorker,
  operatorEndpoints,
  operatorPrefix,
  removeOperators,
} from "./operators.ts";
export type { HttpOperator, HttpOperatorSpec } from "./rest.ts";
export { HatchetRest, HatchetRestError } from "./rest.ts";
export {
  type DeliveryMode,
  deliveryEnv,
  deliveryFromEnv,
  type HatchetSettings,
  hatchetEnv,
  hatchetSettingsFromEnv,
} from "./settings.ts";
export * from "./workflow.ts";
