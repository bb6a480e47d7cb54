// A real Hatchet engine without Docker: pinned binaries built with `go install` into a cache
// outside the checkout, started as `hatchet-lite` against its own Postgres database.
// Every variable here mirrors the hatchet-lite image (see docker-compose.yml, kept in step by
// test/unit/compose.test.ts).

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { DEFAULT_PORTS, engineEnv, HATCHET_TENANT_ID, type HatchetPorts } from "@switchyard/hatchet/engine";
import {
  ensureHatchetBinaries,
  ensureLocalOperatorEngine,
  HATCHET_VERSION,
  HatchetSetupError,
  LOCAL_OPERATOR_ENV,
  type Log,
} from "./hatchet-build.ts";
import { withClient } from "./postgres.ts";

// The builds live in hatchet-build.ts; these stay importable from here.
export {
  binDir,
  cacheRoot,
  ensureHatchetBinaries,
  ensureLocalOperatorEngine,
  HATCHET_BINARIES,
  HATCHET_MODULE,
  HATCHET_VERSION,
  HatchetSetupError,
  LOCAL_OPERATOR_ENV,
} from "./hatchet-build.ts";

const run = promisify(execFile);

// The engine's settings (version, ports, environment) are shared with infra/ and compose.
export { DEFAULT_PORTS, engineEnv, HATCHET_TENANT_ID, type HatchetPorts };

export interface HatchetEngine {
  token: string;
  tenantId: string;
  apiUrl: string;
  grpcAddress: string;
  /** Environment for an SDK client of this engine. */
  clientEnv: Record<string, string>;
  logFile: string;
  stop(): Promise<void>;
}

interface EngineOptions {
  databaseUrl: string;
  stateDir: string;
  ports?: HatchetPorts;
  log?: Log;
  /**
   * Runs the release build of hatchet-lite. By default local runs use the local-operator build
   * (ensureLocalOperatorEngine) with LOCAL_OPERATOR_ENV=1, whose HTTP operators may call http or
   * https (self-signed) endpoints on 127.0.0.1 and ::1 at any port, and only those: direct
   * delivery to a worker served on localhost.
   */
  release?: boolean;
}

/**
 * Migrates the engine's database, seeds keys and the tenant (`--overwrite=false` keeps existing
 * keys, so earlier tokens stay valid) and mints a token. Needs no running engine.
 */
async function prepareEngine(opts: EngineOptions) {
  const log = opts.log ?? (() => {});
  const ports = opts.ports ?? DEFAULT_PORTS;
  const bin = await ensureHatchetBinaries(log);
  const { stateDir } = opts;
  const configDir = join(stateDir, "config");
  const staticDir = join(stateDir, "static");
  const logDir = join(stateDir, "logs");
  await Promise.all([configDir, staticDir, logDir].map((d) => mkdir(d, { recursive: true })));
  // lite parses index.html from this folder at start and panics when it is missing.
  await writeFile(
    join(staticDir, "index.html"),
    "<!doctype html><title>Hatchet</title><p>The dashboard ships with the hatchet-lite image (docker compose). The REST API is under /api.</p>\n",
  );
  const env = { ...process.env, ...engineEnv({ databaseUrl: opts.databaseUrl, ports, staticDir }) };
  const step = async (name: string, args: string[]) => {
    const file = join(logDir, `${name}.log`);
    try {
      const { stdout, stderr } = await run(join(bin, name), args, { cwd: stateDir, env, maxBuffer: 16 << 20 });
      await writeFile(file, stderr);
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      await writeFile(file, e.stderr ?? e.message);
      throw new HatchetSetupError(
        `${name} ${args[0] ?? ""} failed (log: ${file}): ${lastLines(e.stderr ?? e.message)}`,
      );
    }
  };
  await step("hatchet-migrate", []);
  await step("hatchet-admin", [
    "quickstart",
    "--skip",
    "certs",
    "--generated-config-dir",
    configDir,
    "--overwrite=false",
  ]);
  const printed = await step("hatchet-admin", [
    "token",
    "create",
    "--config",
    configDir,
    "--name",
    "switchyard",
    "--tenant-id",
    HATCHET_TENANT_ID,
  ]);
  const token = printed.trim().split("\n").pop() ?? "";
  if (!token.startsWith("ey")) {
    throw new HatchetSetupError(`hatchet-admin token create printed no token (log: ${logDir})`);
  }
  // For other clients of this engine (a second terminal, the Hatchet CLI); the folder is git-ignored.
  await writeFile(join(stateDir, "token"), `${token}\n`, { mode: 0o600 });
  return { bin, env, ports, configDir, logDir, token };
}

/** Mints a client token for the engine whose state is in `stateDir`, running or not. */
export async function mintHatchetToken(opts: EngineOptions): Promise<string> {
  return (await prepareEngine(opts)).token;
}

export async function startHatchet(opts: EngineOptions): Promise<HatchetEngine> {
  const log = opts.log ?? (() => {});
  const { stateDir } = opts;
  await stopStale(stateDir);
  for (const [name, port] of Object.entries(opts.ports ?? DEFAULT_PORTS)) await assertPortFree(port, name);
  const build = opts.release ? "" : " (local-operator build)";
  log(`Hatchet ${HATCHET_VERSION}${build}: logs in ${join(stateDir, "logs")}`);
  const { bin, env, ports, configDir, logDir, token } = await prepareEngine(opts);
  await releaseDeadEngineState(opts.databaseUrl);
  const lite = opts.release ? join(bin, "hatchet-lite") : await ensureLocalOperatorEngine(log);
  const logFile = join(logDir, "hatchet-lite.log");
  const out = await open(logFile, "w");
  // Its own process group: a signal to ours (Ctrl-C, `kill -- -PGID`) reaches this process only,
  // which stops its clients before the engine, so they can deregister while it still answers.
  const child = spawn(lite, ["--config", configDir], {
    cwd: stateDir,
    env: opts.release ? env : { ...env, [LOCAL_OPERATOR_ENV]: "1" },
    stdio: ["ignore", out.fd, out.fd],
    detached: true,
  });
  await out.close();
  await writeFile(join(stateDir, "hatchet-lite.pid"), String(child.pid));
  // Should this process end without stopping it (an uncaught error), the engine goes with it.
  const orphanGuard = () => child.kill("SIGTERM");
  process.once("exit", orphanGuard);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      process.off("exit", orphanGuard);
      resolve(code);
    }),
  );

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(join(stateDir, "hatchet-lite.pid"), { force: true });
  };
  try {
    await waitReady(ports, child, exited, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  const apiUrl = `http://127.0.0.1:${ports.runtime}`;
  const grpcAddress = `127.0.0.1:${ports.grpc}`;
  return {
    token,
    tenantId: HATCHET_TENANT_ID,
    apiUrl,
    grpcAddress,
    clientEnv: {
      HATCHET_CLIENT_TOKEN: token,
      HATCHET_CLIENT_TLS_STRATEGY: "none",
      HATCHET_CLIENT_HOST_PORT: grpcAddress,
      HATCHET_CLIENT_API_URL: apiUrl,
    },
    logFile,
    stop,
  };
}

async function waitReady(
  ports: HatchetPorts,
  child: ChildProcess,
  exited: Promise<number | null>,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  let died = false;
  void exited.then(() => {
    died = true;
  });
  while (Date.now() < deadline) {
    if (died) {
      throw new HatchetSetupError(
        `hatchet-lite exited with code ${child.exitCode} before it was ready (log: ${logFile}):\n${lastLines(await readFile(logFile, "utf8"))}`,
      );
    }
    const ready =
      (await httpOk(`http://127.0.0.1:${ports.health}/ready`)) &&
      (await httpOk(`http://127.0.0.1:${ports.runtime}/api/ready`)) &&
      (await tcpOpen(ports.grpc));
    if (ready) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new HatchetSetupError(`hatchet-lite was not ready after 120 s (log: ${logFile})`);
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once("error", () => done(false));
    s.connect(port, "127.0.0.1", () => done(true));
  });
}

async function assertPortFree(port: number, name: string): Promise<void> {
  // SERVER_PORT binds every interface, so check the wildcard address.
  const free = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true)));
  });
  if (!free) {
    throw new HatchetSetupError(
      `port ${port} (Hatchet ${name}) is already in use: stop whatever holds it (another engine? \`npm run stack -- down\`) or choose other ports`,
    );
  }
}

/** Kills an engine a crashed run left behind in the same state folder. */
async function stopStale(stateDir: string): Promise<void> {
  const pidFile = join(stateDir, "hatchet-lite.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(await readFile(pidFile, "utf8"));
  try {
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
  await rm(pidFile, { force: true });
}

/**
 * Clears what a previous engine on this database left behind, so a restarted engine schedules at
 * once instead of after about a minute. hatchet-lite (v0.105.0) exits on SIGTERM without running
 * its shutdown code, so its scheduler partition keeps the tenant (a new engine moves it only after
 * its first minute), its leases and pgoutbox topic locks run on for 30 s, and its dispatcher row
 * stays (operators are re-claimed only once that row's heartbeat is 15 s old). Every engine
 * creates these rows anew at start, and the only references to them are ON DELETE SET NULL.
 * Safe only while no engine uses the database: the statement refuses when another session is
 * connected. Worker rows stay (runs on them must still be reassigned). docs/architecture.md has
 * the measurements; a deployment that does not own its engine cannot do this (docs/deploy.md).
 */
export async function releaseDeadEngineState(databaseUrl: string): Promise<void> {
  await withClient(databaseUrl, (c) =>
    c.query(`
      begin;
      do $$ begin
        if exists (select 1 from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()) then
          raise exception 'another session uses the Hatchet database; not clearing the previous engine''s state';
        end if;
      end $$;
      delete from "SchedulerPartition";
      delete from "ControllerPartition";
      delete from "TenantWorkerPartition";
      delete from "Lease";
      delete from "Dispatcher";
      update "Worker" set "isActive" = false where "isActive";
      update outbox.topics set exclusive_consumer_expires_at = now() - interval '1 second'
        where exclusive_consumer_id is not null;
      delete from outbox.consumer_sessions;
      delete from outbox.maintenance_leases;
      commit;`),
  );
}

/** Free ports chosen by the OS, for engines that must not clash with a dev stack (tests). */
export async function freePorts(): Promise<HatchetPorts> {
  const servers = await Promise.all(
    Array.from({ length: 5 }, () => {
      const srv = createServer();
      return new Promise<ReturnType<typeof createServer>>((resolve) => srv.listen(0, "127.0.0.1", () => resolve(srv)));
    }),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    return typeof addr === "object" && addr ? addr.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  const [api = 0, grpc = 0, health = 0, frontend = 0, runtime = 0] = ports;
  return { api, grpc, health, frontend, runtime };
}

function lastLines(text: string, n = 15): string {
  return text.trim().split("\n").slice(-n).join("\n");
}
