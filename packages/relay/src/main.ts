// The relay's own process (relay mode): what its container runs, bundled by `npm run bundle`
// (scripts/bundle.ts) into one file. Configuration comes from the environment, checked at once;
// migrations are the Migrator function's job, not the relay's. SIGTERM drains running deliveries.
import { pathToFileURL } from "node:url";
import { databaseEnv, loadConfig, logEnv, log as observe, type Timing, timingEnv } from "@switchyard/core";
import { createDatabase, type Database } from "@switchyard/db";
import { HatchetRest, type HatchetSettings, hatchetEnv, hatchetSettingsFromEnv } from "@switchyard/hatchet";
import { HatchetBulkTrigger, hatchetClient } from "@switchyard/hatchet/sdk";
import { type OutboundPolicy, outboundEnv, outboundPolicyFromEnv } from "@switchyard/workers";
import { type Relay, startRelay } from "./relay.ts";

export interface RelayProcessOptions {
  database: Database;
  settings: HatchetSettings;
  timing: Timing;
  webhookPolicy?: OutboundPolicy;
  slots?: number;
  log?: (msg: string) => void;
}

/** The relay with its Hatchet clients: the SDK worker, and one-attempt bulk triggers. */
export function startRelayProcess(opts: RelayProcessOptions): Promise<Relay> {
  const rest = new HatchetRest(opts.settings);
  return startRelay({
    database: opts.database,
    hatchet: hatchetClient(opts.settings),
    orchestrator: new HatchetBulkTrigger({ hatchet: hatchetClient(opts.settings, { retries: false }), rest }),
    probe: () => rest.version(),
    timing: opts.timing,
    webhookPolicy: opts.webhookPolicy,
    slots: opts.slots,
    log: opts.log,
  });
}

/** The relay's settings: one schema, checked before anything starts. */
export const relayEnv = {
  ...databaseEnv(10),
  ...hatchetEnv,
  ...timingEnv,
  ...outboundEnv,
  ...logEnv,
};

/** Reads every setting first, so a misconfigured relay stops with one message listing what is wrong. */
export function relayConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = loadConfig("relay", relayEnv, env);
  return {
    databaseUrl: c.DATABASE_URL,
    poolMax: c.DATABASE_POOL_MAX,
    settings: hatchetSettingsFromEnv(env),
    timing: c.SWITCHYARD_TIMING,
    // Local runs (the tests) may send webhooks to http:// and local addresses; deployments never.
    webhookPolicy: outboundPolicyFromEnv(env),
  };
}

async function main() {
  const config = relayConfig();
  const database = createDatabase(config.databaseUrl, { max: config.poolMax });
  const { settings, timing, webhookPolicy } = config;
  const relay = await startRelayProcess({ database, settings, timing, webhookPolicy });
  observe.info("relay ready", { role: "relay" });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    observe.info(`${signal}: draining`, { role: "relay" });
    await relay.stop().catch((err: Error) => observe.warn(`stop: ${err.message}`, { role: "relay" }));
    await database.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: unknown) => {
    observe.error("the relay stopped", err, { role: "relay" });
    process.exit(1);
  });
}
