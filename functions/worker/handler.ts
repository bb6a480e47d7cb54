// The webhook worker (a Lambda behind a Function URL): every request is verified before anything
// else — signature over the raw body, timestamp within 5 minutes, delivery id never seen — then
// answers the health call or runs one attempt of one job.
import middy from "@middy/core";
import { type Db, deliveries, sharedDatabase } from "@switchyard/db";
import { healthInfo, runDelivery } from "@switchyard/jobs/runtime";
import { verifyRequest } from "@switchyard/relay/signing";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { lt, sql } from "drizzle-orm";
import { z } from "zod";

const DeliveryRequest = z.object({
  job_id: z.uuid(),
  tenant_id: z.uuid(),
  target_id: z.uuid(),
  api_name: z.string().min(1),
  run_id: z.string().min(1),
  attempt: z.number().int().min(0),
  retries: z.number().int().min(0),
  timeout_seconds: z.number().positive(),
});

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

async function main(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  const raw = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64").toString("utf8") : (event.body ?? "");
  const verified = verifyRequest(signingSecret(), raw, event.headers);
  if (!verified.ok) return json(401, { detail: `request refused: ${verified.reason}`, code: "auth.invalid_signature" });
  const { db } = sharedDatabase();
  if (!(await firstSighting(db, verified.id))) {
    return json(401, { detail: "request refused: delivery id already used", code: "auth.replayed" });
  }

  if (event.rawPath.endsWith("/health")) return json(200, healthInfo());
  if (!event.rawPath.endsWith("/deliver")) return json(404, { detail: "Not Found", code: "not_found" });
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return json(400, { detail: "body is not JSON", code: "request.malformed_json" });
  }
  const req = DeliveryRequest.safeParse(body);
  if (!req.success) return json(400, { detail: z.prettifyError(req.error), code: "request.invalid" });
  const outcome = await runDelivery(db, req.data, { remainingMs: () => context.getRemainingTimeInMillis() });
  return json(200, outcome);
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(main);
