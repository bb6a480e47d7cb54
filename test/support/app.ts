// A switchyard for one test file: its own database, its own Hatchet namespace, the API, the
// worker function and the relay started in this process (roles can be left out and started as
// separate processes with spawnRole). Real Postgres, real engine, real HTTP.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type Deps, Dispatch, defaultTiming, type Orchestrator, type Timing } from "@switchyard/core";
import { createDatabase, type Database, type Db } from "@switchyard/db";
import { type DeliveryMode, HatchetRest, hatchetSettingsFromEnv, removeOperators } from "@switchyard/hatchet";
import { inject } from "vitest";
import { type App, ROOT, type Role, startApp } from "../../dev/app.ts";
import { dropDatabase, ensureDatabase } from "../../dev/postgres.ts";
import { hatchetTestEnv } from "./hatchet.ts";

export interface TestApp {
  apiUrl: string;
  workerUrl: string;
  app: App;
  database: Database;
  env: Record<string, string>;
  adminKey: string;
  signingSecret: string;
  /** A new tenant and its key. */
  tenant(name?: string): Promise<{ id: string; key: string }>;
  /** fetch against the API with a tenant key. */
  api(
    key: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse>;
  stop(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // Tests read fields freely; responses are JSON.
  // biome-ignore lint/suspicious/noExplicitAny: assertions check the shape.
  body: any;
}

export interface TestAppOptions {
  /** The roles started in this process; by default every role of the delivery mode. */
  roles?: Role[];
  /** Direct (the engine's HTTP operator calls the worker, the default) or relay. */
  delivery?: DeliveryMode;
  logs?: string[];
  /** Timing rules for every process of this app (SWITCHYARD_TIMING). */
  timing?: Partial<Timing>;
  /** Per-tenant request limit (SWITCHYARD_RATE_LIMIT); by default one no test reaches. */
  rateLimit?: string;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const delivery = opts.delivery ?? "direct";
  const dbName = `sy_t_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const server = inject("postgresUrl");
  const databaseUrl = await ensureDatabase(server, dbName);
  const signingSecret = `whsec_${randomBytes(32).toString("base64")}`;
  const adminKey = `sya_${randomBytes(24).toString("base64url")}`;
  const env: Record<string, string> = {
    ...hatchetTestEnv(),
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_MAX: "5",
    WEBHOOK_SIGNING_SECRET: signingSecret,
    SWITCHYARD_ADMIN_KEY: adminKey,
    // The tests' webhook receivers listen on 127.0.0.1.
    SWITCHYARD_WEBHOOKS_ALLOW_LOCAL: "1",
    SWITCHYARD_DELIVERY: delivery,
    // Generated-input tests send thousands of requests a minute as one tenant.
    SWITCHYARD_RATE_LIMIT: opts.rateLimit ?? "1000000/60",
    // Each job logs a few info lines; thousands of jobs would bury what the tests print.
    POWERTOOLS_LOG_LEVEL: "WARN",
    POWERTOOLS_METRICS_DISABLED: "true",
    ...(opts.timing ? { SWITCHYARD_TIMING: JSON.stringify(opts.timing) } : {}),
  };
  Object.assign(process.env, env);
  const logs = opts.logs ?? [];
  const app = await startApp({
    roles: opts.roles,
    delivery,
    apiPort: 0,
    workerPort: 0,
    log: (line) => logs.push(line),
  });
  const database = createDatabase(databaseUrl, { max: 3 });
  const apiUrl = app.apiUrl ?? "";

  const api: TestApp["api"] = async (key, method, path, body, headers = {}) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        ...(key ? { "x-api-key": key } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };

  return {
    apiUrl,
    workerUrl: app.workerUrl ?? "",
    app,
    database,
    env,
    adminKey,
    signingSecret,
    api,
    async tenant(name = `tenant-${randomUUID().slice(0, 8)}`) {
      const res = await fetch(`${apiUrl}/api/admin/tenants/`, {
        method: "POST",
        headers: { "x-admin-key": adminKey, "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      const body = (await res.json()) as { id: string; api_key: string };
      if (res.status !== 201) throw new Error(`tenant create answered ${res.status}: ${JSON.stringify(body)}`);
      return { id: body.id, key: body.api_key };
    },
    async stop() {
      await app.stop();
      await database.close();
      await dropDatabase(server, dbName);
      // The engine is shared by every test file: the worker's operator goes with the file.
      if (delivery === "direct") {
        const settings = hatchetSettingsFromEnv(env);
        await removeOperators(new HatchetRest(settings), { name: "local", namespace: settings.namespace });
      }
    },
  };
}

/** Core's dependencies, to call its services directly from a test (the relay's NOTIFY host). */
export function coreDeps(db: Db, orchestrator: Orchestrator, overrides: Partial<Deps> = {}): Deps {
  return { db, orchestrator, host: Dispatch.relayHost, timing: defaultTiming, ...overrides };
}

export interface Proc {
  child: ChildProcess;
  output: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts one role as its own process (to kill it with SIGKILL and start it again). */
export function spawnRole(role: Role, env: Record<string, string>, args: string[] = []): Promise<Proc> {
  const main = join(ROOT, "dev", "main.ts");
  return spawnReady(["--import", "tsx", main, "--role", role, ...args], env, "[dev] ready:", role);
}

/** Starts a Node process with `args` and resolves once it prints `readyLine`. */
export async function spawnReady(
  args: string[],
  env: Record<string, string>,
  readyLine: string,
  name: string,
): Promise<Proc> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  let ready: (() => void) | undefined;
  const readyPromise = new Promise<void>((resolve, reject) => {
    ready = resolve;
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code} before ready: ${output.join("\n")}`)));
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      output.push(line);
      if (line.includes(readyLine)) ready?.();
    });
  }
  const timeout = setTimeout(() => child.kill("SIGKILL"), 60_000);
  await readyPromise.finally(() => clearTimeout(timeout));
  return {
    child,
    output,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    },
  };
}
