// The relay (relay mode only): a long-running process on Fargate that takes runs from the engine
// over gRPC and delivers each to the worker function. Its image runs the relay's bundled main.
import { cluster, hatchetEnv } from "./hatchet.ts";
import { relayDatabaseUrl } from "./network.ts";
import { hatchetToken, webhookSecret } from "./secrets.ts";
import { worker } from "./worker.ts";

if (!cluster) throw new Error("the relay needs the cluster (infra/hatchet.ts creates it in relay mode)");

export const relay = new sst.aws.Service("Relay", {
  cluster,
  image: { context: ".", dockerfile: "infra/relay.Dockerfile" },
  cpu: "0.25 vCPU",
  memory: "0.5 GB",
  architecture: "arm64",
  environment: {
    DATABASE_URL: relayDatabaseUrl,
    HATCHET_CLIENT_TOKEN: hatchetToken.value,
    WEBHOOK_SIGNING_SECRET: webhookSecret.value,
    SWITCHYARD_DELIVERY: "relay",
    ...hatchetEnv,
  },
  // `sst dev` runs the relay on the developer's machine, pointed at the stage's worker function.
  dev: { command: $interpolate`npm run dev:relay -- --worker-url ${worker.url}` },
});
