import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import type { Db } from "./client.ts";

/** The committed drizzle-kit migrations; bundles copy this folder next to the function. */
export const MIGRATIONS_DIR =
  process.env.SWITCHYARD_MIGRATIONS_DIR ?? fileURLToPath(new URL("../migrations", import.meta.url));

/** An advisory lock key of switchyard's own ("sy-migr"), held while migrations run. */
const MIGRATION_LOCK = 0x73792d6d69677200n;

/**
 * Applies the migrations not applied yet. Processes that start together (compose's API, worker
 * and relay) take turns on an advisory lock, on the session that runs the migrations, so a pool
 * of one connection (a Lambda) works too; the later ones find nothing left to do.
 */
export async function migrateDatabase(db: Db, migrationsFolder = MIGRATIONS_DIR): Promise<void> {
  // drizzle() keeps the pool it was given as $client (not part of the NodePgDatabase type).
  const pool = (db as Db & { $client?: unknown }).$client;
  if (!(pool instanceof pg.Pool)) return migrate(db, { migrationsFolder });
  const session = await pool.connect();
  try {
    await session.query("select pg_advisory_lock($1)", [MIGRATION_LOCK.toString()]);
    await migrate(drizzle(session), { migrationsFolder });
  } finally {
    await session.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK.toString()]).catch(() => {});
    session.release();
  }
}
