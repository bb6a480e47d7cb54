import { SwitchyardError, Webhooks } from "@switchyard/core";
import { checkWebhookHost, checkWebhookUrl, generateSecret, outboundPolicyFromEnv } from "@switchyard/workers";
import { route } from "../_lib/http.ts";
import { WebhookCreate } from "../_lib/schemas.ts";

// Local runs (npm run dev, the tests) may point webhooks at http:// and local addresses.
const policy = () => outboundPolicyFromEnv();

export const handler = route({ auth: "tenant", body: WebhookCreate }, async ({ deps, tenantId, body }) => {
  const checked = checkWebhookUrl(body.url, policy());
  const refused = checked.ok ? await checkWebhookHost(checked.url, policy()) : checked.reason;
  if (refused) throw new SwitchyardError("webhook.invalid_url", `Webhook url refused: ${refused}`);
  const created = await Webhooks.createEndpoint(deps.db, tenantId, { ...body, secret: generateSecret() });
  return { status: 201, body: created };
});
