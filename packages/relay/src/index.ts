export { type RelayProcessOptions, relayConfig, startRelayProcess } from "./main.ts";
export { type Relay, type RelayOptions, startRelay } from "./relay.ts";
