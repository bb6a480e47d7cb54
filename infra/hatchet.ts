// The Hatchet engine the stage uses: Hatchet Cloud (the token carries its addresses), or with
// SWITCHYARD_SELF_HOST_HATCHET=true the release hatchet-lite image in the stage's own cluster.
import { DEFAULT_PORTS, engineEnv, HATCHET_VERSION } from "@switchyard/hatchet/engine";
import { delivery } from "./delivery.ts";
import { db, vpc } from "./network.ts";

/** Set SWITCHYARD_SELF_HOST_HATCHET=true when deploying to run the engine here instead of Hatchet Cloud. */
export const selfHostHatchet = process.env.SWITCHYARD_SELF_HOST_HATCHET === "true";

/** A cluster only when something long-running needs it: a self-hosted engine or the relay. */
export const cluster = selfHostHatchet || delivery === "relay" ? new sst.aws.Cluster("Cluster", { vpc }) : undefined;

// Cloud Map gives every service of the cluster a private DNS name; the engine needs its own name
// before it exists (tokens embed it), so it is built the way the Service component builds it.
const hatchetHost = $interpolate`Hatchet.${$app.stage}.${$app.name}.${vpc.nodes.cloudmapNamespace.name}`;

// hatchet-lite relies on session state (LISTEN/NOTIFY, prepared statements), which would pin
// every connection through the RDS proxy anyway, so it connects to the instance directly.
const hatchetDatabaseUrl = $interpolate`postgresql://${db.username}:${db.password.apply(encodeURIComponent)}@${
  db.nodes.instance?.address ?? db.host
}:${db.port}/switchyard_hatchet?sslmode=require`;

export const hatchet =
  selfHostHatchet && cluster
    ? new sst.aws.Service("Hatchet", {
        cluster,
        image: `ghcr.io/hatchet-dev/hatchet/hatchet-lite:${HATCHET_VERSION}`,
        cpu: "1 vCPU",
        memory: "2 GB",
        // The engine's keys live in /config; new keys after a restart would invalidate every token.
        volumes: [{ efs: new sst.aws.Efs("HatchetConfig", { vpc }), path: "/config" }],
        environment: {
          // The local engine's settings (dev/hatchet.ts), with the container's own addresses.
          ...Object.fromEntries(
            Object.entries(engineEnv({ databaseUrl: "", ports: DEFAULT_PORTS, staticDir: "" })).filter(
              // The image ships the dashboard at its default path.
              ([name]) => name !== "LITE_STATIC_ASSET_DIR",
            ),
          ),
          DATABASE_URL: hatchetDatabaseUrl,
          SERVER_URL: $interpolate`http://${hatchetHost}:${DEFAULT_PORTS.runtime}`,
          SERVER_GRPC_BIND_ADDRESS: "0.0.0.0",
          SERVER_GRPC_BROADCAST_ADDRESS: $interpolate`${hatchetHost}:${DEFAULT_PORTS.grpc}`,
          SERVER_AUTH_COOKIE_DOMAIN: hatchetHost,
        },
        // `sst dev` runs the native engine on localhost instead (npm run stack).
        dev: { command: "npm run stack -- up" },
      })
    : undefined;

/** How switchyard's functions and the relay reach Hatchet: the cluster's engine, the local one in `sst dev`, or Hatchet Cloud. */
export const hatchetEnv: Record<string, $util.Input<string>> = selfHostHatchet
  ? {
      // Plaintext gRPC inside the VPC (or on localhost); the token's addresses are overridden.
      HATCHET_CLIENT_TLS_STRATEGY: "none",
      HATCHET_CLIENT_HOST_PORT: $dev
        ? `127.0.0.1:${DEFAULT_PORTS.grpc}`
        : $interpolate`${hatchetHost}:${DEFAULT_PORTS.grpc}`,
      HATCHET_CLIENT_API_URL: $dev
        ? `http://127.0.0.1:${DEFAULT_PORTS.runtime}`
        : $interpolate`http://${hatchetHost}:${DEFAULT_PORTS.runtime}`,
    }
  : // Hatchet Cloud: the token carries the addresses.
    { HATCHET_CLIENT_TLS_STRATEGY: "tls" };
