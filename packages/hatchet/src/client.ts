import type { ClientConfig } from "@hatchet-dev/typescript-sdk/clients/hatchet-client/client-config.js";
import grpcHelpers from "@hatchet-dev/typescript-sdk/util/grpc-helpers.js";
import { HatchetClient } from "@hatchet-dev/typescript-sdk/v1/index.js";
import { createChannel } from "nice-grpc";
import { type HatchetSettings, hatchetSettingsFromEnv } from "./settings.ts";

/**
 * An SDK client. `retries: false` makes its calls one attempt each (the SDK otherwise retries a
 * failed call 8 times over ~25 s), for callers that have their own way to try again.
 */
export function hatchetClient(
  settings: HatchetSettings = hatchetSettingsFromEnv(),
  opts: { retries?: boolean } = {},
): HatchetClient {
  useSwitchyardChannels(settings.grpcCompression ?? "none");
  return HatchetClient.init({
    token: settings.token,
    ...(settings.hostPort ? { host_port: settings.hostPort } : {}),
    ...(settings.apiUrl ? { api_url: settings.apiUrl } : {}),
    ...(settings.tlsStrategy ? { tls_config: { tls_strategy: settings.tlsStrategy } } : {}),
    ...(settings.namespace ? { namespace: settings.namespace } : {}),
    ...(opts.retries === false ? { retrier: { maxAttempts: 1 } } : {}),
    log_level: "WARN",
  });
}

/**
 * The SDK (1.33.2) opens every gRPC channel with options of its own and has no setting for them.
 * It looks its channel factory up on the module's exports at each call, so replacing that export
 * changes every channel it opens afterwards. Switchyard's factory differs from the SDK's in two
 * options:
 * - Compression. The SDK's channels use gzip. Its messages (assignments, heartbeats, results) are a
 *   few hundred bytes, so gzip saves nothing on the wire but costs a zlib stream per message at
 *   both ends: 15 % of the relay's CPU in a profile of the scale benchmark, and the engine answers
 *   in the encoding it was sent. So "none" unless the settings ask for "gzip".
 * - Reconnect backoff. grpc-js waits 1 s after a failed connect and 1.6 times longer after each
 *   next one, up to 120 s, so after an engine outage of a minute a channel tried again only some
 *   30 s after the engine was back: the relay's triggers and its worker's registration waited that
 *   long. Capped at `RECONNECT_BACKOFF_MAX_MS`, a few connects a second to an engine that is down.
 */
export function useSwitchyardChannels(compression: "none" | "gzip"): void {
  const helpers = grpcHelpers as { channelFactory: typeof uncompressedChannel };
  helpers.channelFactory = compression === "gzip" ? gzipChannel : uncompressedChannel;
}

/** The longest wait between two connects of a channel whose engine does not answer. */
export const RECONNECT_BACKOFF_MAX_MS = 1000;

type Credentials = Parameters<typeof grpcHelpers.channelFactory>[1];

export function uncompressedChannel(config: ClientConfig, credentials: Credentials) {
  return createChannel(config.host_port, credentials, channelOptions(config));
}

function gzipChannel(config: ClientConfig, credentials: Credentials) {
  return createChannel(config.host_port, credentials, {
    ...channelOptions(config),
    "grpc.default_compression_algorithm": 2, // gzip, as the SDK has it
  });
}

/** The SDK's options, compression aside, with the reconnect backoff capped. */
function channelOptions(config: ClientConfig) {
  return {
    "grpc.ssl_target_name_override": config.tls_config.server_name,
    "grpc.keepalive_timeout_ms": 60_000,
    "grpc.client_idle_timeout_ms": 60_000,
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_send_message_length": config.grpc_max_send_message_length ?? 4 * 1024 * 1024,
    "grpc.max_receive_message_length": config.grpc_max_recv_message_length ?? 4 * 1024 * 1024,
    "grpc.initial_reconnect_backoff_ms": RECONNECT_BACKOFF_MAX_MS / 4,
    "grpc.max_reconnect_backoff_ms": RECONNECT_BACKOFF_MAX_MS,
  };
}
