// Starts what the integration tests need, once per run: Postgres (resolved as in dev) and a
// private Hatchet engine on free ports with its own database, so a running dev stack is untouched.
// HATCHET_CLIENT_TOKEN in the environment points the tests at an existing engine instead.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePorts, startHatchet } from "../../dev/hatchet.ts";
import { dropDatabase, ensureDatabase, resolvePostgres } from "../../dev/postgres.ts";
import { STATE_DIR } from "../../dev/stack.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** A database URL on the test server; tests create their own databases beside it. */
    postgresUrl: string;
    hatchetEnv: Record<string, string>;
  }
}

export default async function setup(project: TestProject) {
  const log = (msg: string) => console.error(`[test setup] ${msg}`);
  const postgres = await resolvePostgres({ stateDir: STATE_DIR, log });
  project.provide("postgresUrl", postgres.url);

  const external = process.env.HATCHET_CLIENT_TOKEN;
  if (external) {
    project.provide("hatchetEnv", {});
    return () => postgres.stop();
  }
  const dbName = `sy_test_hatchet_${process.pid}`;
  const stateDir = await mkdtemp(join(tmpdir(), "switchyard-hatchet-"));
  const databaseUrl = await ensureDatabase(postgres.url, dbName, { timezone: "UTC" });
  const engine = await startHatchet({ databaseUrl, stateDir, ports: await freePorts(), log });
  project.provide("hatchetEnv", engine.clientEnv);
  return async () => {
    await engine.stop();
    await dropDatabase(postgres.url, dbName);
    await rm(stateDir, { recursive: true, force: true });
    await postgres.stop();
  };
}
