// A whole switchyard for the benchmark, as test/setup/global.ts and test/support/app.ts build one
// for the tests, but without the test runner: Postgres (a private server, see postgres.ts), a private Hatchet
// engine on free ports with its own database, and on that one engine two deployments of the
// product side by side, one per delivery mode, each with a switchyard database and a Hatchet
// namespace of its own (so neither mode's dispatch ever sees the other's jobs):
// - relay mode: the API, the worker function and the relay;
// - direct mode: the API and the worker function only; the worker registers itself as the
//   engine's HTTP operator, which then calls it for every run.
// Each role runs in a process of its own, as deployed (`npm run dev -- --role api` and so on).
// Everything listens on 127.0.0.1 and every part registers its own cleanup, run in reverse order
// at the end or on failure.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { DeliveryMode } from "@switchyard/hatchet";
import pg from "pg";
import type { Role } from "../../dev/app.ts";
import { freePorts, type HatchetEngine, type HatchetPorts, startHatchet } from "../../dev/hatchet.ts";
import { dropDatabase, ensureDatabase, type PostgresServer, resolvePostgres } from "../../dev/postgres.ts";
import { STATE_DIR } from "../../dev/stack.ts";
import { type PostgresInfo, startPrivatePostgres } from "./postgres.ts";
import { mapLimit, sleep } from "./stats.ts";

export const ROOT = join(import.meta.dirname, "..", "..");

export const MODES = ["relay", "direct"] as const satisfies readonly DeliveryMode[];

type Cleanup = { name: string; fn: () => Promise<void> };

/** Cleanups run once, newest first, each bounded in time; failures are logged, not thrown. */
export class Cleanups {
  private readonly list: Cleanup[] = [];
  private running: Promise<void> | undefined;
  constructor(private readonly log: (m: string) => void) {}
  add(name: string, fn: () => Promise<void>) {
    this.list.push({ name, fn });
  }
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const c of this.list.reverse()) {
        const timeout = sleep(20_000).then(() => {
          throw new Error("timed out after 20 s");
        });
        try {
          await Promise.race([c.fn(), timeout]);
        } catch (err) {
          this.log(`cleanup ${c.name} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}

/** One request line the local HTTP adapter logs: `[api] POST /path 200 12ms`. */
export interface ServedRequest {
  at: number;
  role: "api" | "worker";
  method: string;
  path: string;
  status: number;
  ms: number;
}

export interface AppProcess {
  apiUrl: string;
  workerUrl: string;
  children: ChildProcess[];
  /** The process that runs each role (one pid for all of them with BENCH_SINGLE_PROCESS=1; no relay in direct mode). */
  pids: Record<Role, number | undefined>;
  requests: ServedRequest[];
  /** Lines that are not request logs (relay warnings, errors). */
  otherLines: string[];
}

/** The shared part: Postgres and the one engine both deployments use. */
export interface Engine {
  postgres: PostgresServer;
  postgresInfo: PostgresInfo;
  /** The running engine; replaced in place by restartEngine. */
  engine: HatchetEngine;
  enginePid?: number;
  hatchetDbName: string;
  hatchetDbUrl: string;
  /** Where and how it runs, to start it again the same way. */
  stateDir: string;
  ports: HatchetPorts;
}

/** One deployment of switchyard in one delivery mode, on the shared engine. */
export interface Stack extends Engine {
  delivery: DeliveryMode;
  /** The Hatchet client environment of the product processes (engine, namespace). */
  hatchetEnv: Record<string, string>;
  namespace: string;
  appDbUrl: string;
  appDbName: string;
  app: AppProcess;
  /** The environment the product processes run with (also what the in-process handlers need). */
  appEnv: Record<string, string>;
  /** The benchmark's own connection to this deployment's database, for timestamps and checks. */
  pool: pg.Pool;
  adminKey: string;
  tenant: { id: string; key: string };
  api(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: ApiBody }>;
  targets(count: number, prefix: string): Promise<string[]>;
}

export type Stacks = Record<DeliveryMode, Stack> & { engine: Engine };

// biome-ignore lint/suspicious/noExplicitAny: API answers are JSON read field by field.
export type ApiBody = any;

export interface StackOptions {
  /** DATABASE_POOL_MAX of each product process (its handlers' pool, as in `npm run dev`). */
  poolMax: number;
  log: (m: string) => void;
  cleanups: Cleanups;
}

/** Postgres, the engine, then both deployments at once (each starts its processes one after the other). */
export async function startStacks(opts: StackOptions): Promise<Stacks> {
  const engine = await startEngine(opts);
  const [relay, direct] = await Promise.all(MODES.map((mode) => startDeployment(engine, mode, opts)));
  if (!relay || !direct) throw new Error("a deployment did not start");
  return { engine, relay, direct };
}

async function startEngine(opts: StackOptions): Promise<Engine> {
  const { log, cleanups } = opts;
  const own = process.env.BENCH_POSTGRES === "shared" ? undefined : await startPrivatePostgres(log);
  const postgres = own?.server ?? (await resolvePostgres({ stateDir: STATE_DIR, log }));
  const postgresInfo: PostgresInfo = own?.info ?? { server: "shared" };
  cleanups.add("postgres", () => postgres.stop());
  const hatchetDbName = `sy_bench_hatchet_${suffix()}`;
  const hatchetDbUrl = await ensureDatabase(postgres.url, hatchetDbName, { timezone: "UTC" });
  cleanups.add("drop engine database", () => dropDatabase(postgres.url, hatchetDbName));
  const stateDir = await mkdtemp(join(tmpdir(), "switchyard-bench-hatchet-"));
  cleanups.add("engine state folder", () => rm(stateDir, { recursive: true, force: true }));
  const started = Date.now();
  const ports = await freePorts();
  // startHatchet runs the local-operator build by default: its HTTP operators may call 127.0.0.1,
  // which direct mode needs (the engine calls the worker served here).
  const engine = await startHatchet({ databaseUrl: hatchetDbUrl, stateDir, ports, log });
  const shared: Engine = {
    postgres,
    postgresInfo,
    engine,
    enginePid: await pidIn(stateDir),
    hatchetDbName,
    hatchetDbUrl,
    stateDir,
    ports,
  };
  // The engine of the moment: restartEngine replaces it.
  cleanups.add("engine", () => shared.engine.stop());
  log(`engine ready in ${((Date.now() - started) / 1000).toFixed(1)} s (logs: ${engine.logFile})`);
  return shared;
}

const pidIn = async (stateDir: string) =>
  Number(await readFile(join(stateDir, "hatchet-lite.pid"), "utf8").catch(() => "0")) || undefined;

/** Whether the engine's process still runs (Node reaps its child, so a dead one is gone). */
export function engineAlive(e: Engine): boolean {
  if (!e.enginePid) return true;
  try {
    process.kill(e.enginePid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface EngineCrash {
  /** The first lines of what the engine wrote when it died (a Go panic or fatal error, and where). */
  summary: string;
  /** A copy of its log, kept after the run (the restart truncates the original). */
  logCopy: string;
}

/**
 * After the engine died: keeps its log, then starts it again on the same database, state folder
 * and ports, as the fault tests do, so the product's clients reconnect and the old token holds.
 */
export async function restartEngine(e: Engine, log: (m: string) => void): Promise<EngineCrash> {
  const text = await readFile(e.engine.logFile, "utf8").catch(() => "");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colour codes.
  const lines = text.replace(/\u001b\[[0-9;]*m/g, "").split("\n");
  const at = lines.findIndex((l) => /^(fatal error|panic):/.test(l));
  // The error, then the first frame in Hatchet's own code: where it happened.
  const frame = lines.slice(at + 1).find((l) => l.includes("hatchet-dev/hatchet/") && !l.includes("(...)"));
  const summary =
    at === -1
      ? `no fatal error in its log; last line: ${lines.filter(Boolean).slice(-1)[0]?.slice(0, 200) ?? "–"}`
      : [lines[at], frame?.trim()].filter(Boolean).join(" in ");
  const logCopy = join(tmpdir(), `switchyard-bench-engine-crash-${Date.now()}.log`);
  await copyFile(e.engine.logFile, logCopy).catch(() => {});
  await e.engine.stop().catch(() => {});
  const started = Date.now();
  e.engine = await startHatchet({ databaseUrl: e.hatchetDbUrl, stateDir: e.stateDir, ports: e.ports, log });
  e.enginePid = await pidIn(e.stateDir);
  log(`engine restarted in ${((Date.now() - started) / 1000).toFixed(1)} s (the dead one's log: ${logCopy})`);
  return { summary, logCopy };
}

/** Set while the engine is down mid-scenario: every wait of the scenario then ends at once with it. */
let interrupted: Error | undefined;
export const interruptWaits = (why: Error | undefined) => {
  interrupted = why;
};
export const waitsInterrupted = () => interrupted;

const suffix = () => `${process.pid}_${randomUUID().replaceAll("-", "").slice(0, 6)}`;

async function startDeployment(shared: Engine, delivery: DeliveryMode, opts: StackOptions): Promise<Stack> {
  const { log, cleanups } = opts;
  const appDbName = `sy_bench_${delivery}_${suffix()}`;
  const appDbUrl = await ensureDatabase(shared.postgres.url, appDbName);
  cleanups.add(`drop switchyard database (${delivery})`, () => dropDatabase(shared.postgres.url, appDbName));

  const namespace = `bench${delivery}${randomUUID().slice(0, 8)}`;
  const hatchetEnv = {
    ...shared.engine.clientEnv,
    HATCHET_CLIENT_NAMESPACE: namespace,
    HATCHET_CLIENT_LOG_LEVEL: "ERROR",
  };
  const adminKey = `sya_${randomBytes(24).toString("base64url")}`;
  const appEnv: Record<string, string> = {
    ...hatchetEnv,
    DATABASE_URL: appDbUrl,
    DATABASE_POOL_MAX: String(opts.poolMax),
    WEBHOOK_SIGNING_SECRET: `whsec_${randomBytes(32).toString("base64")}`,
    SWITCHYARD_ADMIN_KEY: adminKey,
    // Explicit, so that neither the product's default nor the caller's environment picks the mode.
    SWITCHYARD_DELIVERY: delivery,
    // Counted (its upsert is part of every request measured) but never reached by the scale runs.
    SWITCHYARD_RATE_LIMIT: "1000000/60",
  };
  const app = await startAppProcess(delivery, appEnv, log);
  cleanups.add(`product processes (${delivery})`, async () => void (await Promise.all(app.children.map(stopChild))));

  const pool = new pg.Pool({ connectionString: appDbUrl, max: 4 });
  pool.on("error", () => {});
  cleanups.add(`bench pool (${delivery})`, () => pool.end());

  const api: Stack["api"] = async (method, path, body, key) => {
    const res = await fetch(`${app.apiUrl}${path}`, {
      method,
      headers: {
        ...(key === undefined ? {} : { "x-api-key": key }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as ApiBody) : undefined };
  };
  const created = await fetch(`${app.apiUrl}/api/admin/tenants/`, {
    method: "POST",
    headers: { "x-admin-key": adminKey, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench" }),
  });
  const tenantBody = (await created.json()) as { id: string; api_key: string };
  if (created.status !== 201) throw new Error(`tenant create answered ${created.status}`);
  const tenant = { id: tenantBody.id, key: tenantBody.api_key };

  const keyed: Stack["api"] = (method, path, body, key = tenant.key) => api(method, path, body, key);
  return {
    ...shared,
    delivery,
    hatchetEnv,
    namespace,
    appDbUrl,
    appDbName,
    app,
    appEnv,
    pool,
    adminKey,
    tenant,
    api: keyed,
    async targets(count, prefix) {
      return mapLimit(
        Array.from({ length: count }, (_, i) => i),
        8,
        async (i) => {
          const r = await keyed("POST", "/api/targets/", { name: `${prefix}-${i}` });
          if (r.status !== 201) throw new Error(`target create answered ${r.status}: ${JSON.stringify(r.body)}`);
          return r.body.id as string;
        },
      );
    },
  };
}

const REQUEST_LINE = /^\[(api|worker)\] (\w+) (\S+) (\d{3}) (\d+)ms$/;

/**
 * The product's processes of one deployment. By default each role runs in a process of its own,
 * as deployed (API and worker are separate Lambda functions, the relay a container);
 * BENCH_SINGLE_PROCESS=1 runs a deployment's roles in one process the way `npm run dev` does, to
 * compare the two layouts.
 */
async function startAppProcess(
  delivery: DeliveryMode,
  env: Record<string, string>,
  log: (m: string) => void,
): Promise<AppProcess> {
  const requests: ServedRequest[] = [];
  const otherLines: string[] = [];
  const roles: Role[] = delivery === "relay" ? ["api", "worker", "relay"] : ["api", "worker"];
  if (process.env.BENCH_SINGLE_PROCESS === "1") {
    const all = await startRoles(roles, [], env, requests, otherLines);
    log(`product process (${delivery} mode) ${all.child.pid}: API ${all.apiUrl}, worker ${all.workerUrl}`);
    const pid = all.child.pid;
    const pids = { api: pid, worker: pid, relay: delivery === "relay" ? pid : undefined };
    return {
      apiUrl: all.apiUrl ?? "",
      workerUrl: all.workerUrl ?? "",
      children: [all.child],
      pids,
      requests,
      otherLines,
    };
  }
  // One after the other: each process migrates the database at start, and migrations take no
  // lock. In direct mode the worker is ready once the engine has polled its health (5-10 s).
  const worker = await startRoles(["worker"], [], env, requests, otherLines);
  const children = [worker.child];
  try {
    const api = await startRoles(["api"], [], env, requests, otherLines);
    children.push(api.child);
    if (!worker.workerUrl || !api.apiUrl) throw new Error("the worker or API process printed no URL");
    let relayPid: number | undefined;
    if (delivery === "relay") {
      const relay = await startRoles(["relay"], ["--worker-url", worker.workerUrl], env, requests, otherLines);
      children.push(relay.child);
      relayPid = relay.child.pid;
    }
    log(
      `product processes (${delivery} mode): API ${api.child.pid} (${api.apiUrl}), worker ${worker.child.pid} (${worker.workerUrl})${relayPid ? `, relay ${relayPid}` : ", no relay"}`,
    );
    const pids = { api: api.child.pid, worker: worker.child.pid, relay: relayPid };
    return { apiUrl: api.apiUrl, workerUrl: worker.workerUrl, children, pids, requests, otherLines };
  } catch (err) {
    await Promise.all(children.map(stopChild));
    throw err;
  }
}

/** Starts `dev/main.ts` with the given roles and waits for its ready line. */
async function startRoles(
  roles: Role[],
  args: string[],
  env: Record<string, string>,
  requests: ServedRequest[],
  otherLines: string[],
): Promise<{ child: ChildProcess; apiUrl?: string; workerUrl?: string }> {
  // BENCH_PROFILE_DIR writes a CPU profile of each product process there (to find where its time goes).
  const profile = process.env.BENCH_PROFILE_DIR;
  const child = spawn(
    process.execPath,
    [
      ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
      "--import",
      "tsx",
      join(ROOT, "dev", "main.ts"),
      ...roles.flatMap((r) => ["--role", r]),
      ...["--api-port", "0", "--worker-port", "0"],
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const mine: string[] = [];
  let onReady: ((line: string) => void) | undefined;
  const ready = new Promise<string>((resolve, reject) => {
    onReady = resolve;
    child.once("exit", (code) =>
      reject(
        new Error(
          `product process (${roles.join(", ")}) exited with ${code} before ready:\n${mine.slice(-20).join("\n")}`,
        ),
      ),
    );
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      const m = REQUEST_LINE.exec(line);
      if (m) {
        requests.push({
          at: Date.now(),
          role: m[1] as "api" | "worker",
          method: m[2] ?? "",
          path: m[3] ?? "",
          status: Number(m[4]),
          ms: Number(m[5]),
        });
        return;
      }
      if (mine.length < 20) mine.push(line);
      if (otherLines.length < 2000) otherLines.push(line);
      if (line.includes("[dev] ready:")) onReady?.(line);
    });
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  let line: string;
  try {
    line = await ready;
  } catch (err) {
    await stopChild(child);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const apiUrl = /API (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
  const workerUrl = /worker (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
  return { child, apiUrl, workerUrl };
}

/** SIGTERM (the process drains and exits), SIGKILL after 10 s. Only this child, by its pid. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Polls until `fn` returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  label: string,
  fn: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (interrupted) throw interrupted;
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(opts.intervalMs);
  }
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${label}`);
}

/** Epoch milliseconds of timestamp columns, as floats (Postgres keeps microseconds). */
export const epochMs = (column: string) => `extract(epoch from ${column}) * 1000`;
