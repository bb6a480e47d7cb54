// `npm run dev`: the whole product on localhost — Postgres (resolved), a Hatchet engine, the API
// and the worker function (and the relay, in relay mode). `npm run dev -- --role api|worker|relay` runs one role
// against an environment that already has DATABASE_URL and HATCHET_CLIENT_TOKEN.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readableSink, Tenants, useSink } from "@switchyard/core";
import { createDatabase, migrateDatabase } from "@switchyard/db";
import { type Role, startApp } from "./app.ts";
import { ensureDatabase } from "./postgres.ts";
import { stopOnExit } from "./shutdown.ts";
import { STATE_DIR, startStack } from "./stack.ts";

export const APP_DATABASE = "switchyard";

const { values } = parseArgs({
  options: {
    role: { type: "string", multiple: true },
    "api-port": { type: "string", default: process.env.PORT ?? "3000" },
    "worker-port": { type: "string", default: "3001" },
    "worker-url": { type: "string" },
    host: { type: "string" },
  },
});

const log = (msg: string) => console.error(msg);

// Readable lines on a terminal; SWITCHYARD_LOG_FORMAT=json prints them as deployed (Powertools).
if (process.env.SWITCHYARD_LOG_FORMAT !== "json") useSink(readableSink());

/** Secrets for local use, made once and kept under .switchyard/ (git-ignored). */
async function localSecrets() {
  const file = join(STATE_DIR, "secrets.json");
  if (existsSync(file)) return JSON.parse(await readFile(file, "utf8")) as { signing: string; admin: string };
  const secrets = {
    signing: `whsec_${randomBytes(32).toString("base64")}`,
    admin: `sya_${randomBytes(24).toString("base64url")}`,
  };
  await writeFile(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

async function main() {
  const stops: Array<() => Promise<void>> = [];
  // Installed first: a signal during start-up stops what has started so far.
  stopOnExit(async () => {
    for (const s of stops.reverse()) await s().catch((err: Error) => log(`[dev] stop: ${err.message}`));
  }, log);
  if (!values.role) {
    // The embedded default: start Postgres and Hatchet, then point the app at them.
    const stack = await startStack();
    stops.push(stack.stop);
    process.env.DATABASE_URL ??= await ensureDatabase(stack.postgres.url, APP_DATABASE);
    Object.assign(process.env, { ...stack.hatchet.clientEnv, ...process.env });
    const secrets = await localSecrets();
    process.env.WEBHOOK_SIGNING_SECRET ??= secrets.signing;
    process.env.SWITCHYARD_ADMIN_KEY ??= secrets.admin;
    // Webhooks of a local run may go to receivers on this machine.
    process.env.SWITCHYARD_WEBHOOKS_ALLOW_LOCAL ??= "1";
    process.env.DATABASE_POOL_MAX ??= "10";
  }
  const app = await startApp({
    roles: values.role as Role[] | undefined,
    apiPort: Number(values["api-port"]),
    workerPort: Number(values["worker-port"]),
    workerUrl: values["worker-url"],
    log,
  });
  stops.push(app.stop);
  if (!values.role) await printWelcome(app.apiUrl ?? "");
  log(
    `[dev] ready: ${app.roles.join(", ")} (${app.delivery} delivery)${app.apiUrl ? `; API ${app.apiUrl}` : ""}${app.workerUrl ? `; worker ${app.workerUrl}` : ""}`,
  );
}

/** A tenant named `local` with a key written to .switchyard/api-key, so curl works at once. */
async function printWelcome(apiUrl: string) {
  const keyFile = join(STATE_DIR, "api-key");
  if (!existsSync(keyFile)) {
    const database = createDatabase(process.env.DATABASE_URL ?? "", { max: 1 });
    await migrateDatabase(database.db);
    const tenants = await Tenants.listTenants(database.db);
    const created = tenants.some((t) => t.name === "local")
      ? await Tenants.createKey(database.db, tenants.find((t) => t.name === "local")?.id ?? "")
      : await Tenants.createTenant(database.db, "local");
    await writeFile(keyFile, `${created.api_key}\n`, { mode: 0o600 });
    await database.close();
  }
  log(`[dev] tenant "local": its API key is in ${keyFile}`);
  log(`[dev] try: curl -H "X-API-Key: $(cat ${keyFile})" ${apiUrl}/api/targets/`);
}

main().catch((err: unknown) => {
  console.error(`[dev] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
