export * as Workers from "./registry.ts";
export * from "./signing.ts";
export { deliver, health, WorkerCallError } from "./worker-client.ts";
