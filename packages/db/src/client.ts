import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "./schema/index.ts";

export type Db = NodePgDatabase<typeof schema>;
/** A transaction handle; services accept either. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(url: string, opts: { max?: number } = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    // One connection per Lambda instance by default: an instance serves one request at a time.
    max: opts.max ?? Number(process.env.DATABASE_POOL_MAX ?? 1),
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client dropped by the server (or RDS Proxy) must not crash the process; pg discards it.
  pool.on("error", (err) => console.warn(`postgres idle client error: ${err.message}`));
  return { db: drizzle(pool, { schema }), pool, close: () => pool.end() };
}

let shared: Database | undefined;

/** The process-wide database from DATABASE_URL, created on first use (warm Lambdas reuse it). */
export function sharedDatabase(): Database {
  if (!shared) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    shared = createDatabase(url);
  }
  return shared;
}

/** Closes the process-wide database (tests and `npm run dev` on shutdown). */
export async function closeSharedDatabase(): Promise<void> {
  const db = shared;
  shared = undefined;
  await db?.close();
}
