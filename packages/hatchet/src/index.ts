export { type HatchetSettings, hatchetClient, hatchetSettingsFromEnv } from "./client.ts";
