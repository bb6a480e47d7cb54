// The webhook worker (a Lambda behind a Function URL). Every request is verified before anything
// else: relay calls carry Standard Webhooks signatures (timestamp within 5 minutes, delivery id
// never seen before); then it answers the health call or runs one attempt of one job.
import middy from "@middy/core";
import { timingFromEnv } from "@switchyard/core";
import { type Db, deliveries, sharedDatabase } from "@switchyard/db";
import { jobActionId } from "@switchyard/hatchet";
import { parseRelayDelivery, runRelayDelivery } from "@switchyard/jobs/relay-contract";
import { healthInfo } from "@switchyard/jobs/runtime";
import { verifyRequest } from "@switchyard/workers/signing";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { lt, sql } from "drizzle-orm";

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

function signingSecret(): string {
  const s = process.env.WEBHOOK_SIGNING_SECRET;
  if (!s) throw new Error("WEBHOOK_SIGNING_SECRET is not set");
  return s;
}

/** Records the delivery id; false when it was seen before (a replay). */
async function firstSighting(db: Db, id: string): Promise<boolean> {
  const inserted = await db.insert(deliveries).values({ id }).onConflictDoNothing().returning({ id: deliveries.id });
  // Ids older than the signature window can never verify again, so they need not be kept.
  if (Math.random() < 0.02) {
    await db.delete(deliveries).where(lt(deliveries.receivedAt, sql`now() - interval '10 minutes'`));
  }
  return inserted.length > 0;
}

const timing = timingFromEnv();

async function main(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  const raw = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64").toString("utf8") : (event.body ?? "");
  const verified = verifyRequest(signingSecret(), raw, event.headers);
  if (!verified.ok) return json(401, { detail: `request refused: ${verified.reason}`, code: "auth.invalid_signature" });
  const { db } = sharedDatabase();
  if (!(await firstSighting(db, verified.id))) {
    return json(401, { detail: "request refused: delivery id already used", code: "auth.replayed" });
  }

  if (event.rawPath.endsWith("/health"))
    return json(200, healthInfo([jobActionId(process.env.HATCHET_CLIENT_NAMESPACE)]));
  if (!event.rawPath.endsWith("/deliver")) return json(404, { detail: "Not Found", code: "not_found" });
  const req = parseRelayDelivery(raw);
  if (!req.ok)
    return json(400, {
      detail: req.error,
      code: req.error === "body is not JSON" ? "request.malformed_json" : "request.invalid",
    });
  const answer = await runRelayDelivery(db, req.delivery, {
    timing,
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
  return json(200, answer);
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(main);
