import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type { Db } from "./client.ts";

/** The committed drizzle-kit migrations; bundles copy this folder next to the function. */
export const MIGRATIONS_DIR =
  process.env.SWITCHYARD_MIGRATIONS_DIR ?? fileURLToPath(new URL("../migrations", import.meta.url));

export async function migrateDatabase(db: Db, migrationsFolder = MIGRATIONS_DIR): Promise<void> {
  await migrate(db, { migrationsFolder });
}
