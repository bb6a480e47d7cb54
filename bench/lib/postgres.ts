// The benchmark's own Postgres server. Two deployments of switchyard and the engine hold up to ~90
// connections at peak, and the shared server on 127.0.0.1:5432 allows 100 for everyone on the
// machine (a test run's engine alone keeps ~22 open), so a run beside other people's tests failed
// with "too many clients". This starts a private server from the machine's own Postgres binaries
// (the version the shared server runs, so figures stay comparable) in a temporary folder on a free
// port, with the shared server's settings that bear on speed (autovacuum off, 128 MB of shared
// buffers, fsync on) and room for 300 connections, and removes it at the end.
// BENCH_POSTGRES=shared resolves Postgres as `npm run dev` does instead (DATABASE_URL, :5432, embedded).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import type { PostgresServer } from "../../dev/postgres.ts";
import { sleep } from "./stats.ts";

const run = promisify(execFile);

/** What the report says about the server the run used. */
export interface PostgresInfo {
  server: "private" | "shared";
  binDir?: string;
  settings?: Record<string, string>;
  /** The private server's postmaster: its backends are this run's, other Postgres processes are not. */
  postmasterPid?: number;
}

const SETTINGS = {
  max_connections: "300",
  autovacuum: "off",
  shared_buffers: "128MB",
  fsync: "on",
  timezone: "UTC",
  listen_addresses: "127.0.0.1",
};

/** The newest /usr/lib/postgresql/<version>/bin with initdb and postgres, if any. */
async function systemBinDir(): Promise<string | undefined> {
  const base = "/usr/lib/postgresql";
  const versions = await readdir(base).catch(() => [] as string[]);
  const sorted = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return sorted
    .map((v) => join(base, v, "bin"))
    .find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres")));
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  await new Promise((r) => srv.close(r));
  return typeof addr === "object" && addr ? addr.port : 0;
}

/** Postgres refuses to run as root: as root, its programs run as the `postgres` user. */
const asPostgres = (cmd: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Starts the private server; undefined when the machine has no Postgres binaries to start one from. */
export async function startPrivatePostgres(
  log: (m: string) => void,
): Promise<{ server: PostgresServer; info: PostgresInfo } | undefined> {
  const binDir = await systemBinDir();
  if (!binDir) return undefined;
  const dataDir = await mkdtemp(join(tmpdir(), "switchyard-bench-postgres-"));
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dataDir, Number(stdout.trim()), Number(gid.trim()));
  }
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  try {
    const [initCmd, initArgs] = asPostgres(join(binDir, "initdb"), [
      ...["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
    ]);
    await run(initCmd, initArgs);
  } catch (err) {
    await removeDir();
    throw new Error(`initdb of the benchmark's Postgres failed: ${(err as Error).message}`);
  }
  const port = await freePort();
  const flags = Object.entries({ ...SETTINGS, port: String(port), unix_socket_directories: dataDir }).flatMap(
    ([k, v]) => ["-c", `${k}=${v}`],
  );
  const [cmd, args] = asPostgres(join(binDir, "postgres"), ["-D", dataDir, ...flags]);
  const child: ChildProcess = spawn(cmd, args, { stdio: "ignore" });
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  while (!(await answers(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      await removeDir();
      throw new Error(`the benchmark's Postgres did not start (exit ${child.exitCode})`);
    }
    await sleep(100);
  }
  log(`private Postgres (${binDir}) on 127.0.0.1:${port}, data in ${dataDir}`);
  // The postmaster, by its pid file (runuser stands between it and this process).
  const pid = Number((await readFile(join(dataDir, "postmaster.pid"), "utf8").catch(() => "")).split("\n")[0]);
  const stop = async () => {
    // SIGINT is Postgres's fast shutdown: it ends its backends, then itself.
    if (pid > 0) {
      process.kill(pid, "SIGINT");
      const until = Date.now() + 15_000;
      while (Date.now() < until && existsSync(join(dataDir, "postmaster.pid"))) await sleep(100);
    }
    if (child.exitCode === null) child.kill("SIGKILL");
    await removeDir();
  };
  return {
    server: { url, source: "local", stop },
    info: { server: "private", binDir, settings: SETTINGS, postmasterPid: pid > 0 ? pid : undefined },
  };
}
