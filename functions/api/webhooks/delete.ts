import { Webhooks } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { WebhookPath } from "../_lib/schemas.ts";

export const handler = route({ auth: "tenant", path: WebhookPath }, ({ deps, tenantId, path }) =>
  Webhooks.removeEndpoint(deps.db, tenantId, path.webhook_id),
);
