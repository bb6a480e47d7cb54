// Hatchet client settings from the environment, without loading the SDK (API functions use
// them with the REST client only). The SDK reads the same variables; reading them here first
// gives one clear error naming what is missing.
import { loadConfig, oneOf, required, setting } from "@switchyard/core";

export interface HatchetSettings {
  token: string;
  /** gRPC host:port; defaults to the token's grpc_broadcast_address. */
  hostPort?: string;
  /** REST base URL; defaults to the token's server_url. */
  apiUrl?: string;
  tlsStrategy?: "tls" | "mtls" | "none";
  namespace?: string;
  /**
   * Compression of the SDK's gRPC messages: "none" (the default, see useSwitchyardChannels) or
   * "gzip", the SDK's own choice. It applies to the whole process.
   */
  grpcCompression?: "none" | "gzip";
}

/** The Hatchet client's variables in a process's settings. */
export const hatchetEnv = {
  HATCHET_CLIENT_TOKEN: required(
    "HATCHET_CLIENT_TOKEN",
    "mint one with `npm run hatchet:token` (local engine) or in the Hatchet dashboard",
  ),
  HATCHET_CLIENT_TLS_STRATEGY: oneOf("HATCHET_CLIENT_TLS_STRATEGY", ["tls", "mtls", "none"]),
  SWITCHYARD_GRPC_COMPRESSION: oneOf("SWITCHYARD_GRPC_COMPRESSION", ["none", "gzip"], "none"),
  HATCHET_CLIENT_HOST_PORT: setting((raw) => raw),
  HATCHET_CLIENT_API_URL: setting((raw) => raw),
  HATCHET_CLIENT_NAMESPACE: setting((raw) => raw),
};

export function hatchetSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): HatchetSettings {
  const c = loadConfig("Hatchet client", hatchetEnv, env);
  return {
    token: c.HATCHET_CLIENT_TOKEN,
    hostPort: c.HATCHET_CLIENT_HOST_PORT,
    apiUrl: c.HATCHET_CLIENT_API_URL,
    tlsStrategy: c.HATCHET_CLIENT_TLS_STRATEGY,
    namespace: c.HATCHET_CLIENT_NAMESPACE,
    grpcCompression: c.SWITCHYARD_GRPC_COMPRESSION,
  };
}

/**
 * How runs reach the worker function: "direct", the engine's HTTP operator calls it, or "relay",
 * switchyard's relay (a Hatchet SDK worker) does, for engines that cannot reach the worker.
 */
export type DeliveryMode = "direct" | "relay";

export const deliveryEnv = {
  SWITCHYARD_DELIVERY: oneOf("SWITCHYARD_DELIVERY", ["direct", "relay"], "direct"),
};

export function deliveryFromEnv(env: NodeJS.ProcessEnv = process.env): DeliveryMode {
  return loadConfig("delivery", deliveryEnv, env).SWITCHYARD_DELIVERY ?? "direct";
}
