// Hatchet client settings from the environment, without loading the SDK (API functions use
// them with the REST client only). The SDK reads the same variables; reading them here first
// gives one clear error naming what is missing.

export interface HatchetSettings {
  token: string;
  /** gRPC host:port; defaults to the token's grpc_broadcast_address. */
  hostPort?: string;
  /** REST base URL; defaults to the token's server_url. */
  apiUrl?: string;
  tlsStrategy?: "tls" | "mtls" | "none";
  namespace?: string;
  /**
   * Compression of the SDK's gRPC messages: "none" (the default, see useUncompressedChannels) or
   * "gzip", the SDK's own choice. It applies to the whole process.
   */
  grpcCompression?: "none" | "gzip";
}

export function hatchetSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): HatchetSettings {
  const token = env.HATCHET_CLIENT_TOKEN;
  if (!token) {
    throw new Error(
      "HATCHET_CLIENT_TOKEN is not set: mint one with `npm run hatchet:token` (local engine) or in the Hatchet dashboard",
    );
  }
  const tls = env.HATCHET_CLIENT_TLS_STRATEGY;
  if (tls !== undefined && tls !== "tls" && tls !== "mtls" && tls !== "none") {
    throw new Error(`HATCHET_CLIENT_TLS_STRATEGY must be tls, mtls or none, not "${tls}"`);
  }
  const compression = env.SWITCHYARD_GRPC_COMPRESSION || "none";
  if (compression !== "none" && compression !== "gzip") {
    throw new Error(`SWITCHYARD_GRPC_COMPRESSION must be none or gzip, not "${compression}"`);
  }
  return {
    token,
    hostPort: env.HATCHET_CLIENT_HOST_PORT || undefined,
    apiUrl: env.HATCHET_CLIENT_API_URL || undefined,
    tlsStrategy: tls,
    namespace: env.HATCHET_CLIENT_NAMESPACE || undefined,
    grpcCompression: compression,
  };
}

/**
 * How runs reach the worker function: "direct", the engine's HTTP operator calls it, or "relay",
 * switchyard's relay (a Hatchet SDK worker) does, for engines that cannot reach the worker.
 */
export type DeliveryMode = "direct" | "relay";

export function deliveryFromEnv(env: NodeJS.ProcessEnv = process.env): DeliveryMode {
  const mode = env.SWITCHYARD_DELIVERY || "direct";
  if (mode !== "direct" && mode !== "relay") {
    throw new Error(`SWITCHYARD_DELIVERY must be direct or relay, not "${mode}"`);
  }
  return mode;
}
