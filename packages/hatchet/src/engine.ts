// The Hatchet engine as switchyard runs it: the pinned version, its ports and the environment its
// binaries share. Plain data, used by the native stack (dev/), the deployment (infra/) and kept in
// step with docker-compose.yml by test/unit/compose.test.ts.

/**
 * v0.105.0 is the newest engine release whose module the Go proxy serves whole (the v0.105.x
 * patches and v0.106.x have no .mod there), and the version SDK 1.33.2's own example pins.
 */
export const HATCHET_VERSION = "v0.105.0";

/** The tenant `hatchet-admin quickstart` seeds; tokens are minted for it. */
export const HATCHET_TENANT_ID = "707d0855-80ab-4e1f-a156-f1c4546cbf52";

export interface HatchetPorts {
  /** REST API (SERVER_PORT). */
  api: number;
  /** gRPC for workers (SERVER_GRPC_PORT). */
  grpc: number;
  /** Engine health: /live, /ready (SERVER_HEALTHCHECK_PORT). */
  health: number;
  /** Static dashboard files (LITE_FRONTEND_PORT). */
  frontend: number;
  /** Public port: dashboard plus /api (LITE_RUNTIME_PORT); SERVER_URL points here. */
  runtime: number;
}

/** The ports of the hatchet-lite image and the docs, used by `npm run dev` and docker compose. */
export const DEFAULT_PORTS: HatchetPorts = {
  api: 8080,
  grpc: 7077,
  health: 8733,
  frontend: 8081,
  runtime: 8888,
};

/** The environment hatchet-migrate, hatchet-admin and hatchet-lite share (they must agree). */
export function engineEnv(opts: {
  databaseUrl: string;
  ports: HatchetPorts;
  staticDir: string;
  maxConns?: number;
}): Record<string, string> {
  const { ports } = opts;
  const grpc = `127.0.0.1:${ports.grpc}`;
  return {
    DATABASE_URL: opts.databaseUrl,
    // lite opens three pools of this size (plus small DDL and pub/sub pools); keep well under
    // the 100 connections of a stock Postgres.
    DATABASE_MAX_CONNS: String(opts.maxConns ?? 10),
    DATABASE_MIN_CONNS: "1",
    SERVER_URL: `http://127.0.0.1:${ports.runtime}`,
    SERVER_PORT: String(ports.api),
    SERVER_GRPC_PORT: String(ports.grpc),
    SERVER_GRPC_BIND_ADDRESS: "127.0.0.1",
    SERVER_GRPC_BROADCAST_ADDRESS: grpc,
    SERVER_GRPC_INSECURE: "t",
    SERVER_INTERNAL_CLIENT_INTERNAL_GRPC_BROADCAST_ADDRESS: grpc,
    SERVER_AUTH_COOKIE_DOMAIN: "localhost",
    SERVER_AUTH_COOKIE_INSECURE: "t",
    SERVER_AUTH_SET_EMAIL_VERIFIED: "t",
    SERVER_MSGQUEUE_KIND: "postgres",
    SERVER_SECURITY_CHECK_ENABLED: "f",
    SERVER_HEALTHCHECK: "t",
    SERVER_HEALTHCHECK_PORT: String(ports.health),
    SERVER_LOGGER_LEVEL: "warn",
    SERVER_LOGGER_FORMAT: "console",
    DATABASE_LOGGER_LEVEL: "warn",
    DATABASE_LOGGER_FORMAT: "console",
    LITE_STATIC_ASSET_DIR: opts.staticDir,
    LITE_FRONTEND_PORT: String(ports.frontend),
    LITE_RUNTIME_PORT: String(ports.runtime),
    LITE_FRONTEND_BASE_PATH: "/",
  };
}
