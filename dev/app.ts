// switchyard's own processes on localhost: the API and the worker function served by the local
// HTTP adapter, and the relay. `npm run dev` runs them all in one process; tests start each role
// as its own process (see roles below) to kill and restart them.

import { join } from "node:path";
import { timingFromEnv } from "@switchyard/core";
import { closeSharedDatabase, createDatabase, migrateDatabase } from "@switchyard/db";
import { HatchetRest, hatchetSettingsFromEnv } from "@switchyard/hatchet";
import { HatchetBulkTrigger, hatchetClient } from "@switchyard/hatchet/sdk";
import { type Relay, startRelay } from "@switchyard/relay";
import { Workers } from "@switchyard/workers";
import { apiRoutes, workerFunction } from "../infra/routes.ts";
import { startLocalServer } from "./local-server.ts";

export const ROOT = join(import.meta.dirname, "..");
export type Role = "api" | "worker" | "relay";

export interface AppOptions {
  roles: Role[];
  apiPort?: number;
  workerPort?: number;
  /** Where the relay reaches the worker function; registered under the name `local`. */
  workerUrl?: string;
  slots?: number;
  log?: (line: string) => void;
}

export interface App {
  apiUrl?: string;
  workerUrl?: string;
  relay?: Relay;
  stop(): Promise<void>;
}

/** Reads DATABASE_URL, HATCHET_CLIENT_*, WEBHOOK_SIGNING_SECRET, SWITCHYARD_ADMIN_KEY from the environment. */
export async function startApp(opts: AppOptions): Promise<App> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is not set");
  const stops: Array<() => Promise<void>> = [];
  const app: App = {
    stop: async () => {
      for (const s of stops.reverse()) await s();
    },
  };
  // The relay's 100 slots, its dispatcher (32 hand-overs at once) and its LISTEN connection share this
  // pool; the API and worker handlers have their own (DATABASE_POOL_MAX).
  const database = createDatabase(databaseUrl, { max: 10 });
  stops.push(() => database.close());
  // The handlers served in this process share one pool; it closes with the app.
  stops.push(closeSharedDatabase);
  try {
    await migrateDatabase(database.db);
    if (opts.roles.includes("api")) {
      const api = await startLocalServer({
        routes: apiRoutes,
        root: ROOT,
        port: opts.apiPort ?? 3000,
        host: process.env.HOST,
        log: (l) => log(`[api] ${l}`),
      });
      stops.push(api.close);
      app.apiUrl = api.url;
    }
    if (opts.roles.includes("worker")) {
      const routes = workerFunction.paths.map((path) => ({ method: "POST", path, handler: workerFunction.handler }));
      const worker = await startLocalServer({
        routes,
        root: ROOT,
        port: opts.workerPort ?? 3001,
        // A Function URL allows up to 15 minutes.
        timeoutMs: 15 * 60_000,
        log: (l) => log(`[worker] ${l}`),
      });
      stops.push(worker.close);
      app.workerUrl = worker.url;
    }
    if (opts.roles.includes("relay")) {
      const workerUrl = opts.workerUrl ?? app.workerUrl;
      const secret = process.env.WEBHOOK_SIGNING_SECRET;
      // The worker served here (or given) is registered under the name `local`.
      if (workerUrl && secret) await Workers.upsert(database.db, { name: "local", url: workerUrl, secret });
      const settings = hatchetSettingsFromEnv();
      const relay = await startRelay({
        database,
        hatchet: hatchetClient(settings),
        timing: timingFromEnv(),
        orchestrator: new HatchetBulkTrigger({
          hatchet: hatchetClient(settings, { retries: false }),
          rest: new HatchetRest(settings),
        }),
        slots: opts.slots,
        log: (l) => log(`[relay] ${l}`),
      });
      stops.push(relay.stop);
      app.relay = relay;
    }
    return app;
  } catch (err) {
    await app.stop();
    throw err;
  }
}
