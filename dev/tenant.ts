// `npm run tenant -- create NAME` (prints the tenant's API key once), `npm run tenant -- key TENANT_ID`,
// `npm run tenant -- list`. Uses DATABASE_URL, else the local database `npm run dev` uses.
import { Tenants } from "@switchyard/core";
import { createDatabase, migrateDatabase } from "@switchyard/db";
import { ensureDatabase, resolvePostgres } from "./postgres.ts";
import { STATE_DIR } from "./stack.ts";

async function main(cmd: string | undefined, arg: string | undefined) {
  let url = process.env.DATABASE_URL;
  let stopPostgres = async () => {};
  if (!url) {
    const pg = await resolvePostgres({ stateDir: STATE_DIR });
    stopPostgres = pg.stop;
    url = await ensureDatabase(pg.url, "switchyard");
  }
  const database = createDatabase(url, { max: 1 });
  try {
    await migrateDatabase(database.db);
    if (cmd === "create" && arg) {
      const t = await Tenants.createTenant(database.db, arg);
      console.error(`tenant ${t.name} (${t.id}) created; its API key, shown only now:`);
      console.log(t.api_key);
    } else if (cmd === "key" && arg) {
      console.log((await Tenants.createKey(database.db, arg)).api_key);
    } else if (cmd === "list") {
      for (const t of await Tenants.listTenants(database.db)) console.log(`${t.id}  ${t.name}`);
    } else {
      console.error("usage: npm run tenant -- create NAME | key TENANT_ID | list");
      process.exitCode = 2;
    }
  } finally {
    await database.close();
    await stopPostgres();
  }
}

main(process.argv[2], process.argv[3]).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
