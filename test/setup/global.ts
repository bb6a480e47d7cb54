// Starts what the integration tests need, once per run: Postgres (resolved as in dev) and a
// private Hatchet engine on free ports with its own database, so a running dev stack is untouched.
// HATCHET_CLIENT_TOKEN in the environment points the tests at an existing engine instead.
// Several projects of one run (integration, faults-ci) name this file; they share one stack,
// started by the first and stopped after the last (vitest runs each project's global setup).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePorts, startHatchet } from "../../dev/hatchet.ts";
import { dropDatabase, ensureDatabase, resolvePostgres } from "../../dev/postgres.ts";
import { STATE_DIR } from "../../dev/stack.ts";
import { ensureChromium } from "./chromium.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** A database URL on the test server; tests create their own databases beside it. */
    postgresUrl: string;
    hatchetEnv: Record<string, string>;
  }
}

interface Stack {
  postgresUrl: string;
  hatchetEnv: Record<string, string>;
  stop(): Promise<void>;
}

// On globalThis: each project may load this file as a module of its own.
const shared = globalThis as { __switchyardTestStack?: { stack: Promise<Stack>; users: number } };

async function startStack(): Promise<Stack> {
  const log = (msg: string) => console.error(`[test setup] ${msg}`);
  const [postgres] = await Promise.all([resolvePostgres({ stateDir: STATE_DIR, log }), ensureChromium(log)]);
  if (process.env.HATCHET_CLIENT_TOKEN) {
    return { postgresUrl: postgres.url, hatchetEnv: {}, stop: () => postgres.stop() };
  }
  const dbName = `sy_test_hatchet_${process.pid}`;
  const stateDir = await mkdtemp(join(tmpdir(), "switchyard-hatchet-"));
  const databaseUrl = await ensureDatabase(postgres.url, dbName, { timezone: "UTC" });
  const engine = await startHatchet({ databaseUrl, stateDir, ports: await freePorts(), log });
  return {
    postgresUrl: postgres.url,
    hatchetEnv: engine.clientEnv,
    async stop() {
      await engine.stop();
      await dropDatabase(postgres.url, dbName);
      await rm(stateDir, { recursive: true, force: true });
      await postgres.stop();
    },
  };
}

export default async function setup(project: TestProject) {
  shared.__switchyardTestStack ??= { stack: startStack(), users: 0 };
  const entry = shared.__switchyardTestStack;
  entry.users++;
  const stack = await entry.stack;
  project.provide("postgresUrl", stack.postgresUrl);
  project.provide("hatchetEnv", stack.hatchetEnv);
  return async () => {
    if (--entry.users > 0) return;
    shared.__switchyardTestStack = undefined;
    await stack.stop();
  };
}
