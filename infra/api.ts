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

/** What every API function is given. */
const environment = {
  DATABASE_URL: databaseUrl,
  HATCHET_CLIENT_TOKEN: hatchetToken.value,
  SWITCHYARD_ADMIN_KEY: adminKey.value,
  SWITCHYARD_DELIVERY: delivery,
  ...hatchetEnv,
};
const common = {
  runtime: "nodejs22.x",
  architecture: "arm64",
  memory: "512 MB",
  // The database proxy is only reachable inside the VPC.
  vpc,
  environment,
} as const;

/**
 * The streaming routes (the log stream): API Gateway answers only when the function returns, so
 * each is a function with a Function URL in RESPONSE_STREAM mode, reached at the same path under
 * that URL. It authenticates by API key itself, as the API's routes do.
 */
export const streams = apiRoutes
  .filter((route) => route.stream)
  .map((route) => {
    const name = route.handler.replace(/^functions\/api\//, "").replace(/\.handler$/, "");
    return new sst.aws.Function(`Stream${name.replace(/(^|[^a-z])([a-z])/gi, (_, _s, c: string) => c.toUpperCase())}`, {
      handler: route.handler,
      url: { cors: { allowOrigins: ["*"], allowMethods: ["GET"], allowHeaders: ["x-api-key", "last-event-id"] } },
      streaming: true,
      // A follower reconnects with Last-Event-ID when the stream ends at the limit.
      timeout: "15 minutes",
      link: [db, hatchetToken, adminKey],
      ...common,
    });
  });

// Every buffered route, and $default for anything else (the API's 404 shape instead of API
// Gateway's).
for (const [key, handler] of [
  ...apiRoutes.filter((route) => !route.stream).map((route) => [routeKey(route), route.handler] as const),
  ["$default", notFoundHandler] as const,
]) {
  // API Gateway gives up on an integration after 30 seconds.
  api.route(key, {
    handler,
    timeout: "29 seconds",
    ...common,
    // The console's page tells the browser where the log stream is.
    environment: { ...environment, SWITCHYARD_LOG_STREAM_URL: streams[0]?.url ?? "" },
  });
}
