export * from "./contract.ts";
export * as Workers from "./registry.ts";
export { type Relay, type RelayOptions, startRelay } from "./relay.ts";
export * from "./signing.ts";
export { deliver, health, WorkerCallError } from "./worker-client.ts";
