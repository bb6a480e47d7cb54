// switchyard's own processes on localhost: the API and the worker function served by the local
// HTTP adapter, and in relay mode the relay. `npm run dev` runs them all in one process; tests
// start each role as its own process (see roles below) to kill and restart them. In direct mode
// (SWITCHYARD_DELIVERY, default direct) the worker registers itself as the engine's HTTP operator.

import { join } from "node:path";
import { timingFromEnv } from "@switchyard/core";
import { closeSharedDatabase, createDatabase, migrateDatabase } from "@switchyard/db";
import {
  type DeliveryMode,
  deliveryFromEnv,
  ensureOperator,
  HatchetRest,
  type HatchetSettings,
  hatchetSettingsFromEnv,
} from "@switchyard/hatchet";
import { hatchetClient, registerTasks } from "@switchyard/hatchet/sdk";
import { type Relay, relayConfig, startRelayProcess } from "@switchyard/relay";
import { outboundPolicyFromEnv, Workers } from "@switchyard/workers";
import { apiSettings } from "../functions/api/_lib/settings.ts";
import { checkWorkerSettings } from "../functions/worker/settings.ts";
import { apiRoutes, corsPolicy, notFoundHandler, workerFunction } from "../infra/routes.ts";
import { startLocalServer } from "./local-server.ts";

export const ROOT = join(import.meta.dirname, "..");
export type Role = "api" | "worker" | "relay";

export interface AppOptions {
  /** The roles to run; by default the API, the worker, and in relay mode the relay. */
  roles?: Role[];
  delivery?: DeliveryMode;
  apiPort?: number;
  workerPort?: number;
  /** Where the engine or the relay reaches the worker function; registered under the name `local`. */
  workerUrl?: string;
  slots?: number;
  log?: (line: string) => void;
}

export interface App {
  delivery: DeliveryMode;
  roles: Role[];
  apiUrl?: string;
  workerUrl?: string;
  relay?: Relay;
  stop(): Promise<void>;
}

/** Reads DATABASE_URL, HATCHET_CLIENT_*, WEBHOOK_SIGNING_SECRET, SWITCHYARD_ADMIN_KEY from the environment. */
export async function startApp(opts: AppOptions): Promise<App> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const delivery = opts.delivery ?? deliveryFromEnv();
  const roles = opts.roles ?? (delivery === "relay" ? ["api", "worker", "relay"] : ["api", "worker"]);
  // Each role's settings, as its deployed function or container checks them, before anything starts.
  if (roles.includes("api")) apiSettings();
  if (roles.includes("worker")) checkWorkerSettings();
  if (roles.includes("relay")) relayConfig();
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is not set");
  const stops: Array<() => Promise<void>> = [];
  const app: App = {
    delivery,
    roles,
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
    if (roles.includes("api")) {
      const api = await startLocalServer({
        routes: apiRoutes,
        notFound: notFoundHandler,
        cors: corsPolicy,
        root: ROOT,
        port: opts.apiPort ?? 3000,
        host: process.env.HOST,
        log: (l) => log(`[api] ${l}`),
      });
      stops.push(api.close);
      app.apiUrl = api.url;
    }
    if (roles.includes("worker")) {
      const routes = workerFunction.paths.map((path) => ({ method: "POST", path, handler: workerFunction.handler }));
      let healthPolled = () => {};
      const polled = new Promise<void>((resolve) => {
        healthPolled = resolve;
      });
      const worker = await startLocalServer({
        routes,
        root: ROOT,
        port: opts.workerPort ?? 3001,
        host: process.env.HOST,
        // A Function URL allows up to 15 minutes.
        timeoutMs: 15 * 60_000,
        log: (l) => {
          // The engine polls every 5 s: its lines would drown the others.
          if (!l.startsWith("POST /operator/health 200")) log(`[worker] ${l}`);
        },
        onResponse: (_method, path, status) => {
          if (path === "/operator/health" && status === 200) healthPolled();
        },
      });
      stops.push(worker.close);
      app.workerUrl = worker.url;
      if (delivery === "direct") {
        await registerDirect(database.db, opts.workerUrl ?? worker.url, hatchetSettingsFromEnv());
        // Ready once the engine's operator has learned what the worker serves (its first health
        // poll, 5 to 10 s after the engine starts or the operator is created; engine constants).
        await waitFor(polled, 60_000, () => log("[worker] the engine has not polled the worker's health in 60 s"));
      }
    }
    if (roles.includes("relay")) {
      const workerUrl = opts.workerUrl ?? app.workerUrl;
      const secret = process.env.WEBHOOK_SIGNING_SECRET;
      // The worker served here (or given) is registered under the name `local`.
      if (workerUrl && secret) await Workers.upsert(database.db, { name: "local", url: workerUrl, secret });
      const relay = await startRelayProcess({
        database,
        settings: hatchetSettingsFromEnv(),
        timing: timingFromEnv(),
        webhookPolicy: outboundPolicyFromEnv(),
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

/**
 * Direct mode's registration of the worker served here, as a deploy does it: switchyard's registry
 * (its job types), the job task's declaration, and the engine's HTTP operator for its URL.
 */
async function registerDirect(db: Parameters<typeof Workers.upsert>[0], url: string, settings: HatchetSettings) {
  const secret = process.env.WEBHOOK_SIGNING_SECRET;
  if (!secret) throw new Error("WEBHOOK_SIGNING_SECRET is not set");
  await Workers.upsert(db, { name: "local", url, secret });
  await registerTasks(hatchetClient(settings), timingFromEnv());
  await ensureOperator(new HatchetRest(settings), { name: "local", url, secret, namespace: settings.namespace });
}

async function waitFor(promise: Promise<void>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      onTimeout();
      resolve();
    }, ms);
  });
  await Promise.race([promise, late]);
  clearTimeout(timer);
}
