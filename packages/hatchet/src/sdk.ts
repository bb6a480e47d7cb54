// Hatchet through its TypeScript SDK (gRPC): the relay's worker and bulk trigger, and the job
// task's declaration.
export { type Context, type HatchetClient, NonRetryableError } from "@hatchet-dev/typescript-sdk/v1/index.js";
export { type BulkTriggerOptions, HatchetBulkTrigger } from "./bulk-trigger.ts";
export { hatchetClient, RECONNECT_BACKOFF_MAX_MS, uncompressedChannel, useSwitchyardChannels } from "./client.ts";
export { jobTask, registerTasks, webhookTask } from "./task.ts";
