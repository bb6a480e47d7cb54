// The HTTP API: one function per route of the route table (infra/routes.ts), which the local
// server and the tests read too.

import { delivery } from "./delivery.ts";
import { hatchetEnv } from "./hatchet.ts";
import { databaseUrl, db, vpc } from "./network.ts";
import { apiRoutes, corsPolicy, notFoundHandler, routeKey } from "./routes.ts";
import { adminKey, hatchetToken } from "./secrets.ts";

// Per-stage limits for every route: they keep a runaway client from exhausting the database
// proxy and the Hatchet quota; raise them as traffic grows.
const THROTTLE = { throttlingBurstLimit: 100, throttlingRateLimit: 50 };

export const api = new sst.aws.ApiGatewayV2("Api", {
  link: [db, hatchetToken, adminKey],
  // The same policy the local server answers with (infra/routes.ts).
  cors: {
    allowOrigins: [...corsPolicy.allowOrigins],
    allowMethods: [...corsPolicy.allowMethods],
    allowHeaders: [...corsPolicy.allowHeaders],
    exposeHeaders: [...corsPolicy.exposeHeaders],
    maxAge: `${corsPolicy.maxAgeSeconds} seconds`,
  },
  transform: {
    stage: (args) => {
      args.defaultRouteSettings = THROTTLE;
    },
  },
});

// Every route, and $default for anything else (the API's 404 shape instead of API Gateway's).
for (const [key, handler] of [
  ...apiRoutes.map((route) => [routeKey(route), route.handler] as const),
  ["$default", notFoundHandler] as const,
]) {
  api.route(key, {
    handler,
    runtime: "nodejs22.x",
    architecture: "arm64",
    memory: "512 MB",
    // API Gateway gives up on an integration after 30 seconds.
    timeout: "29 seconds",
    // The database proxy is only reachable inside the VPC.
    vpc,
    environment: {
      DATABASE_URL: databaseUrl,
      HATCHET_CLIENT_TOKEN: hatchetToken.value,
      SWITCHYARD_ADMIN_KEY: adminKey.value,
      SWITCHYARD_DELIVERY: delivery,
      ...hatchetEnv,
    },
  });
}
