export { deliverEvent, type EventDelivery } from "./event-delivery.ts";
export {
  checkWebhookHost,
  checkWebhookUrl,
  isPublicAddress,
  type OutboundPolicy,
  outboundEnv,
  outboundPolicyFromEnv,
} from "./outbound.ts";
export * as Workers from "./registry.ts";
export * from "./signing.ts";
export { deliver, health, WorkerCallError } from "./worker-client.ts";
