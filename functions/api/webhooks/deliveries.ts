import { Webhooks } from "@switchyard/core";
import { route } from "../_lib/http.ts";
import { PageQuery, WebhookPath } from "../_lib/schemas.ts";

export const handler = route(
  { auth: "tenant", path: WebhookPath, query: PageQuery },
  ({ deps, tenantId, path, query }) => Webhooks.deliveries(deps.db, tenantId, path.webhook_id, query),
);
