export { type BulkTriggerOptions, HatchetBulkTrigger } from "./bulk-trigger.ts";
export { hatchetClient } from "./client.ts";
export { HatchetRest, HatchetRestError, type RunStatus } from "./rest.ts";
export { type HatchetSettings, hatchetSettingsFromEnv } from "./settings.ts";
export * from "./workflow.ts";
