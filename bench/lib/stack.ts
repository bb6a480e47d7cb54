// A whole switchyard for the benchmark, as test/setup/global.ts and test/support/app.ts build one
// for the tests, but without the test runner: Postgres (resolved as in dev), a private Hatchet
// engine on free ports with its own database, a switchyard database of its own, and the product's
// processes (API, worker function and relay), each role in a process of its own as deployed
// (`npm run dev -- --role api` and so on). Everything listens on 127.0.0.1 and every
// part registers its own cleanup, run in reverse order at the end or on failure.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import type { Role } from "../../dev/app.ts";
import { freePorts, type HatchetEngine, startHatchet } from "../../dev/hatchet.ts";
import { dropDatabase, ensureDatabase, type PostgresServer, resolvePostgres } from "../../dev/postgres.ts";
import { STATE_DIR } from "../../dev/stack.ts";
import { mapLimit, sleep } from "./stats.ts";

export const ROOT = join(import.meta.dirname, "..", "..");

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
  /** The process that runs each role (one pid for all three with BENCH_SINGLE_PROCESS=1). */
  pids: Record<Role, number | undefined>;
  requests: ServedRequest[];
  /** Lines that are not request logs (relay warnings, errors). */
  otherLines: string[];
}

export interface Stack {
  postgres: PostgresServer;
  engine: HatchetEngine;
  enginePid?: number;
  /** The Hatchet client environment of the product processes (engine, namespace). */
  hatchetEnv: Record<string, string>;
  namespace: string;
  appDbUrl: string;
  appDbName: string;
  hatchetDbName: string;
  hatchetDbUrl: string;
  app: AppProcess;
  appEnv: Record<string, string>;
  /** The benchmark's own connection to the switchyard database, for timestamps and checks. */
  pool: pg.Pool;
  adminKey: string;
  tenant: { id: string; key: string };
  api(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: ApiBody }>;
  targets(count: number, prefix: string): Promise<string[]>;
}

// biome-ignore lint/suspicious/noExplicitAny: API answers are JSON read field by field.
export type ApiBody = any;

export interface StackOptions {
  /** DATABASE_POOL_MAX of the product process (its API and worker share one pool, as in `npm run dev`). */
  poolMax: number;
  log: (m: string) => void;
  cleanups: Cleanups;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const { log, cleanups } = opts;
  const postgres = await resolvePostgres({ stateDir: STATE_DIR, log });
  cleanups.add("postgres", () => postgres.stop());
  const suffix = `${process.pid}_${randomUUID().replaceAll("-", "").slice(0, 6)}`;

  const hatchetDbName = `sy_bench_hatchet_${suffix}`;
  const hatchetDbUrl = await ensureDatabase(postgres.url, hatchetDbName, { timezone: "UTC" });
  cleanups.add("drop engine database", () => dropDatabase(postgres.url, hatchetDbName));
  const stateDir = await mkdtemp(join(tmpdir(), "switchyard-bench-hatchet-"));
  cleanups.add("engine state folder", () => rm(stateDir, { recursive: true, force: true }));
  const started = Date.now();
  const engine = await startHatchet({ databaseUrl: hatchetDbUrl, stateDir, ports: await freePorts(), log });
  cleanups.add("engine", () => engine.stop());
  const enginePid = Number(await readFile(join(stateDir, "hatchet-lite.pid"), "utf8").catch(() => "0")) || undefined;
  log(`engine ready in ${((Date.now() - started) / 1000).toFixed(1)} s (logs: ${engine.logFile})`);

  const appDbName = `sy_bench_app_${suffix}`;
  const appDbUrl = await ensureDatabase(postgres.url, appDbName);
  cleanups.add("drop switchyard database", () => dropDatabase(postgres.url, appDbName));

  const namespace = `bench${randomUUID().slice(0, 8)}`;
  const hatchetEnv = { ...engine.clientEnv, HATCHET_CLIENT_NAMESPACE: namespace, HATCHET_CLIENT_LOG_LEVEL: "ERROR" };
  const adminKey = `sya_${randomBytes(24).toString("base64url")}`;
  const appEnv: Record<string, string> = {
    ...hatchetEnv,
    DATABASE_URL: appDbUrl,
    DATABASE_POOL_MAX: String(opts.poolMax),
    WEBHOOK_SIGNING_SECRET: `whsec_${randomBytes(32).toString("base64")}`,
    SWITCHYARD_ADMIN_KEY: adminKey,
  };
  const app = await startAppProcess(appEnv, log);
  cleanups.add("product processes", async () => void (await Promise.all(app.children.map(stopChild))));

  const pool = new pg.Pool({ connectionString: appDbUrl, max: 4 });
  pool.on("error", () => {});
  cleanups.add("bench pool", () => pool.end());

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
    postgres,
    engine,
    enginePid,
    hatchetEnv,
    namespace,
    appDbUrl,
    appDbName,
    hatchetDbName,
    hatchetDbUrl,
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
 * The product's processes. By default each role runs in a process of its own, as deployed (API
 * and worker are separate Lambda functions, the relay a container); BENCH_SINGLE_PROCESS=1 runs
 * them in one process the way `npm run dev` does, to compare the two layouts.
 */
async function startAppProcess(env: Record<string, string>, log: (m: string) => void): Promise<AppProcess> {
  const requests: ServedRequest[] = [];
  const otherLines: string[] = [];
  if (process.env.BENCH_SINGLE_PROCESS === "1") {
    const all = await startRoles(["api", "worker", "relay"], [], env, requests, otherLines);
    log(`product process ${all.child.pid}: API ${all.apiUrl}, worker ${all.workerUrl}, relay`);
    const pids = { api: all.child.pid, worker: all.child.pid, relay: all.child.pid };
    return {
      apiUrl: all.apiUrl ?? "",
      workerUrl: all.workerUrl ?? "",
      children: [all.child],
      pids,
      requests,
      otherLines,
    };
  }
  // One after the other: each process migrates the database at start, and migrations take no lock.
  const worker = await startRoles(["worker"], [], env, requests, otherLines);
  const children = [worker.child];
  try {
    const api = await startRoles(["api"], [], env, requests, otherLines);
    children.push(api.child);
    if (!worker.workerUrl || !api.apiUrl) throw new Error("the worker or API process printed no URL");
    const relay = await startRoles(["relay"], ["--worker-url", worker.workerUrl], env, requests, otherLines);
    children.push(relay.child);
    log(
      `product processes: API ${api.child.pid} (${api.apiUrl}), worker ${worker.child.pid} (${worker.workerUrl}), relay ${relay.child.pid}`,
    );
    const pids = { api: api.child.pid, worker: worker.child.pid, relay: relay.child.pid };
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
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(opts.intervalMs);
  }
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${label}`);
}

/** Epoch milliseconds of timestamp columns, as floats (Postgres keeps microseconds). */
export const epochMs = (column: string) => `extract(epoch from ${column}) * 1000`;
