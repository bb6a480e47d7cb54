import { HatchetClient } from "@hatchet-dev/typescript-sdk/v1";
import { type HatchetSettings, hatchetSettingsFromEnv } from "./settings.ts";

export function hatchetClient(settings: HatchetSettings = hatchetSettingsFromEnv()): HatchetClient {
  return HatchetClient.init({
    token: settings.token,
    ...(settings.hostPort ? { host_port: settings.hostPort } : {}),
    ...(settings.apiUrl ? { api_url: settings.apiUrl } : {}),
    ...(settings.tlsStrategy ? { tls_config: { tls_strategy: settings.tlsStrategy } } : {}),
    ...(settings.namespace ? { namespace: settings.namespace } : {}),
    log_level: "WARN",
  });
}
