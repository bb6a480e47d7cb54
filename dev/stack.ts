// The local stack without Docker: `npm run stack -- build | up | token`.
//   build  builds (or finds in the cache) the pinned Hatchet binaries
//   up     resolves Postgres, starts Hatchet with its own database, prints how to connect
//   token  prints a fresh client token for the local engine (running or not)
import { join } from "node:path";
import {
  ensureHatchetBinaries,
  ensureLocalOperatorEngine,
  type HatchetEngine,
  mintHatchetToken,
  startHatchet,
} from "./hatchet.ts";
import { ensureDatabase, type PostgresServer, resolvePostgres } from "./postgres.ts";
import { stopOnExit } from "./shutdown.ts";

export const STATE_DIR = join(import.meta.dirname, "..", ".switchyard");
export const HATCHET_DATABASE = "switchyard_hatchet";

const log = (msg: string) => console.error(`[stack] ${msg}`);

export interface Stack {
  postgres: PostgresServer;
  hatchet: HatchetEngine;
  stop(): Promise<void>;
}

/** Starts Postgres (when needed) and Hatchet with state under .switchyard/ in the checkout. */
export async function startStack(): Promise<Stack> {
  const postgres = await resolvePostgres({ stateDir: STATE_DIR, log });
  log(`Postgres: ${postgres.source} (${redact(postgres.url)})`);
  try {
    const hatchetDb = await ensureDatabase(postgres.url, HATCHET_DATABASE, { timezone: "UTC" });
    const hatchet = await startHatchet({ databaseUrl: hatchetDb, stateDir: join(STATE_DIR, "hatchet"), log });
    return {
      postgres,
      hatchet,
      stop: async () => {
        await hatchet.stop();
        await postgres.stop();
      },
    };
  } catch (err) {
    await postgres.stop();
    throw err;
  }
}

export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

async function main(cmd: string | undefined): Promise<void> {
  switch (cmd) {
    case "build": {
      // The release binaries (migrate, admin, and what compose and infra run) and the local build.
      console.log(await ensureHatchetBinaries(log));
      console.log(await ensureLocalOperatorEngine(log));
      return;
    }
    case "token": {
      // Works whether or not the engine is running (`npm run dev` in another terminal).
      const postgres = await resolvePostgres({ stateDir: STATE_DIR, log });
      try {
        const databaseUrl = await ensureDatabase(postgres.url, HATCHET_DATABASE, { timezone: "UTC" });
        console.log(await mintHatchetToken({ databaseUrl, stateDir: join(STATE_DIR, "hatchet"), log }));
      } finally {
        await postgres.stop();
      }
      return;
    }
    case "up": {
      const stack = await startStack();
      log(`Hatchet API ${stack.hatchet.apiUrl}, gRPC ${stack.hatchet.grpcAddress}; Ctrl-C stops`);
      stopOnExit(stack.stop, log);
      return;
    }
    default:
      console.error("usage: npm run stack -- build | up | token");
      process.exitCode = 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv[2]).catch((err: unknown) => {
    console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
