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
  if ((settings.grpcCompression ?? "none") === "none") useUncompressedChannels();
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
 * The SDK (1.33.2) opens every gRPC channel with gzip and has no setting for it. Its messages
 * (assignments, heartbeats, results) are a few hundred bytes, so gzip saves nothing on the wire
 * but costs a zlib stream per message at both ends: 15 % of the relay's CPU in a profile of the
 * scale benchmark, and the engine answers in the encoding it was sent. The SDK looks its channel
 * factory up on the module's exports at each call, so replacing that export changes every channel
 * it opens afterwards. The options are the SDK's own, compression aside.
 */
export function useUncompressedChannels(): void {
  const helpers = grpcHelpers as { channelFactory: typeof uncompressedChannel };
  helpers.channelFactory = uncompressedChannel;
}

type Credentials = Parameters<typeof grpcHelpers.channelFactory>[1];

export function uncompressedChannel(config: ClientConfig, credentials: Credentials) {
  return createChannel(config.host_port, credentials, {
    "grpc.ssl_target_name_override": config.tls_config.server_name,
    "grpc.keepalive_timeout_ms": 60_000,
    "grpc.client_idle_timeout_ms": 60_000,
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_send_message_length": config.grpc_max_send_message_length ?? 4 * 1024 * 1024,
    "grpc.max_receive_message_length": config.grpc_max_recv_message_length ?? 4 * 1024 * 1024,
  });
}
