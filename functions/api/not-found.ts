import { SwitchyardError } from "@switchyard/core";
import { route } from "./_lib/http.ts";

// API Gateway's $default route: a method and path no route has, in the API's error shape.
export const handler = route({ auth: "none", anyBody: true }, async ({ event }) => {
  throw new SwitchyardError(
    "route.not_found",
    `No route for ${event.requestContext.http.method} ${event.rawPath}; the routes are in /api/openapi.json`,
  );
});
