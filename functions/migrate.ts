// Runs the committed migrations; invoked on every deploy.
import { migrateDatabase, sharedDatabase } from "@switchyard/db";

export const handler = async () => {
  await migrateDatabase(sharedDatabase().db);
  return { ok: true };
};
