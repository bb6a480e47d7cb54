// The local stack without Docker: `npm run stack -- build | up | token`.
//   build  builds (or finds in the cache) the pinned Hatchet binaries
//   up     resolves Postgres, starts Hatchet with its own database, prints how to connect
//   token  prints a fresh client token for the local engine (running or not)
// A second stack beside the first (a test of `npm run dev` itself) moves everything it owns with
// SWITCHYARD_STATE_DIR, SWITCHYARD_HATCHET_PORTS and SWITCHYARD_HATCHET_DATABASE (see below).
import { join, resolve } from "node:path";
import {
  DEFAULT_PORTS,
  ensureHatchetBinaries,
  ensureLocalOperatorEngine,
  type HatchetEngine,
  type HatchetPorts,
  mintHatchetToken,
  startHatchet,
} from "./hatchet.ts";
import { ensureDatabase, type PostgresServer, resolvePostgres } from "./postgres.ts";
import { stopOnExit } from "./shutdown.ts";

/** The state folder: `.switchyard/` in the checkout, or SWITCHYARD_STATE_DIR. */
export const STATE_DIR = process.env.SWITCHYARD_STATE_DIR
  ? resolve(process.env.SWITCHYARD_STATE_DIR)
  : join(import.meta.dirname, "..", ".switchyard");
/** The engine's database beside the app's (docker-compose.yml names it the same). */
export const HATCHET_DATABASE = "switchyard_hatchet";

/** The engine's database for this stack: HATCHET_DATABASE, or SWITCHYARD_HATCHET_DATABASE. */
export function hatchetDatabase(env: NodeJS.ProcessEnv = process.env): string {
  return env.SWITCHYARD_HATCHET_DATABASE || HATCHET_DATABASE;
}

/**
 * The engine's ports for this stack: DEFAULT_PORTS, with SWITCHYARD_HATCHET_PORTS (a JSON object
 * of some of api, grpc, health, frontend, runtime) over them.
 */
export function hatchetPorts(env: NodeJS.ProcessEnv = process.env): HatchetPorts {
  const raw = env.SWITCHYARD_HATCHET_PORTS;
  if (!raw) return DEFAULT_PORTS;
  const problem = `SWITCHYARD_HATCHET_PORTS must be a JSON object of ports (${Object.keys(DEFAULT_PORTS).join(", ")})`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(problem);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(problem);
  for (const [name, port] of Object.entries(parsed)) {
    if (!(name in DEFAULT_PORTS) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`${problem}, not ${name}: ${JSON.stringify(port)}`);
    }
  }
  return { ...DEFAULT_PORTS, ...(parsed as Partial<HatchetPorts>) };
}

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
    const hatchetDb = await ensureDatabase(postgres.url, hatchetDatabase(), { timezone: "UTC" });
    const hatchet = await startHatchet({
      databaseUrl: hatchetDb,
      stateDir: join(STATE_DIR, "hatchet"),
      ports: hatchetPorts(),
      log,
    });
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
        const databaseUrl = await ensureDatabase(postgres.url, hatchetDatabase(), { timezone: "UTC" });
        console.log(
          await mintHatchetToken({ databaseUrl, stateDir: join(STATE_DIR, "hatchet"), ports: hatchetPorts(), log }),
        );
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
