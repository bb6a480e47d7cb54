// The webhook worker (a Lambda behind a Function URL, response streaming). Two callers, each
// verified before anything else:
// - the engine's HTTP operator (direct mode): /operator/health and /operator/run, signed with
//   X-Hatchet-Signature over the raw body;
// - the relay (relay mode): /health and /deliver, Standard Webhooks signed (timestamp within 5
//   minutes, delivery id never seen before).
import { log, timingFromEnv } from "@switchyard/core";
import { type Db, deliveries, sharedDatabase } from "@switchyard/db";
import { HatchetRest, hatchetSettingsFromEnv, jobActionId, webhookActionId } from "@switchyard/hatchet";
import {
  type OperatorDeps,
  parseOperatorCall,
  serveOperatorHealth,
  serveOperatorRun,
  serveWebhookRun,
} from "@switchyard/jobs/operator-contract";
import { parseRelayDelivery, runRelayDelivery } from "@switchyard/jobs/relay-contract";
import { healthInfo } from "@switchyard/jobs/runtime";
import { outboundPolicyFromEnv } from "@switchyard/workers/outbound";
import { verifyHatchetSignature, verifyRequest } from "@switchyard/workers/signing";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { lt, sql } from "drizzle-orm";
import { type Respond, respondingHandler } from "../_lib/streaming.ts";
import { checkWorkerSettings } from "./settings.ts";

function signingSecret(): string {
  const s = process.env.WEBHOOK_SIGNING_SECRET;
  if (!s) throw new Error("WEBHOOK_SIGNING_SECRET is not set");
  return s;
}

const timing = timingFromEnv();
const namespace = process.env.HATCHET_CLIENT_NAMESPACE;
const actions = { job: jobActionId(namespace), webhook: webhookActionId(namespace) };
/** Local runs (npm run dev, the tests) may send webhooks to http:// and local addresses. */
const webhooks = outboundPolicyFromEnv();

let operatorDeps: OperatorDeps | undefined;
/** Direct mode's dependencies; the Hatchet token is needed only here, to hand over next jobs. */
const operator = (): OperatorDeps => {
  operatorDeps ??= {
    db: sharedDatabase().db,
    orchestrator: new HatchetRest(hatchetSettingsFromEnv()),
    timing,
    actions,
    webhooks,
    log: (msg) => log.warn(msg),
  };
  return operatorDeps;
};

/** Records the delivery id; false when it was seen before (a replay). */
async function firstSighting(db: Db, id: string): Promise<boolean> {
  const inserted = await db.insert(deliveries).values({ id }).onConflictDoNothing().returning({ id: deliveries.id });
  // Ids older than the signature window can never verify again, so they need not be kept.
  if (Math.random() < 0.02) {
    await db.delete(deliveries).where(lt(deliveries.receivedAt, sql`now() - interval '10 minutes'`));
  }
  return inserted.length > 0;
}

const refused = (respond: Respond, reason: string, code = "auth.invalid_signature") =>
  respond(401, { detail: `request refused: ${reason}`, code });

interface Call {
  raw: string;
  path: string;
  headers: APIGatewayProxyEventV2["headers"];
  remainingMs: () => number;
}

async function fromOperator({ raw, path, headers, remainingMs }: Call, respond: Respond) {
  const verified = verifyHatchetSignature(signingSecret(), raw, headers);
  if (!verified.ok) return refused(respond, verified.reason);
  if (path === "/operator/health") return serveOperatorHealth(operator(), respond);
  if (path !== "/operator/run") return respond(404, { detail: "Not Found", code: "not_found" });
  const parsed = parseOperatorCall(raw, actions);
  if (!parsed.ok) return respond(400, { detail: parsed.error, code: "request.invalid" });
  const call = parsed.value;
  if (call.kind === "webhook") return serveWebhookRun(operator(), call, respond);
  if (call.kind === "none") return respond(200, { status: "skipped", reason: call.reason });
  return serveOperatorRun(operator(), call.run, respond, remainingMs);
}

async function fromRelay({ raw, path, headers, remainingMs }: Call, respond: Respond) {
  const verified = verifyRequest(signingSecret(), raw, headers);
  if (!verified.ok) return refused(respond, verified.reason);
  const { db } = sharedDatabase();
  if (!(await firstSighting(db, verified.id))) return refused(respond, "delivery id already used", "auth.replayed");
  if (path === "/health") return respond(200, healthInfo([actions.job, actions.webhook]));
  if (path !== "/deliver") return respond(404, { detail: "Not Found", code: "not_found" });
  const req = parseRelayDelivery(raw);
  if (!req.ok) {
    const code = req.error === "body is not JSON" ? "request.malformed_json" : "request.invalid";
    return respond(400, { detail: req.error, code });
  }
  respond(200, await runRelayDelivery(db, req.value, { timing, remainingMs }));
}

export const handler = respondingHandler("worker", async (event, context, respond) => {
  checkWorkerSettings();
  const call: Call = {
    raw: event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64").toString("utf8") : (event.body ?? ""),
    path: event.rawPath.replace(/\/$/, ""),
    headers: event.headers,
    remainingMs: () => context.getRemainingTimeInMillis(),
  };
  return call.path.startsWith("/operator/") ? fromOperator(call, respond) : fromRelay(call, respond);
});
