// One delivery of one webhook event, as a run of the switchyard-webhook workflow (the worker in
// direct mode, the relay in relay mode): Standard Webhooks signed with the endpoint's secret, the
// event's id as `webhook-id` (the same on every retry, so receivers can drop duplicates), each
// attempt recorded for the delivery log. A delivered event is never sent again.
import { iso, log, metric, Webhooks } from "@switchyard/core";
import type { Db } from "@switchyard/db";
import { WEBHOOK_RETRIES } from "@switchyard/hatchet";
import { type OutboundPolicy, postJson } from "./outbound.ts";
import { signRequest } from "./signing.ts";

export type EventDelivery =
  | { status: "delivered" }
  /** The endpoint was deleted, or the event already ended: nothing to send. */
  | { status: "skipped"; reason: string }
  /** The endpoint did not take it; the workflow retries. */
  | { status: "retry"; error: string }
  /** The last attempt failed; the event stays failed in the delivery log. */
  | { status: "failed"; error: string };

export async function deliverEvent(
  db: Db,
  eventId: string,
  attempt: number,
  opts: OutboundPolicy & { timeoutMs?: number },
): Promise<EventDelivery> {
  const found = await Webhooks.eventToDeliver(db, eventId);
  if (!found) return { status: "skipped", reason: "the event or its endpoint is gone" };
  const { event, url, secret } = found;
  if (event.deliveredAt) return { status: "skipped", reason: "already delivered" };
  if (event.failedAt) return { status: "skipped", reason: "already failed for good" };
  const body = JSON.stringify({ type: event.type, timestamp: iso(event.createdAt), data: event.payload });
  const started = performance.now();
  const answer = await postJson(new URL(url), body, signRequest(secret, body, { id: event.id }), {
    allowLocal: opts.allowLocal,
    timeoutMs: opts.timeoutMs ?? 10_000,
  });
  const ok = answer.status >= 200 && answer.status < 300;
  const error = ok ? null : answer.status ? `answered ${answer.status}: ${answer.detail}` : answer.detail;
  const last = attempt >= WEBHOOK_RETRIES;
  const outcome = ok ? "delivered" : last ? "failed" : "retry";
  await Webhooks.recordAttempt(
    db,
    {
      eventId,
      attempt,
      status: answer.status || null,
      error,
      durationMs: Math.round(performance.now() - started),
    },
    outcome,
  );
  // Never the URL: a tenant's endpoint may carry a token in it.
  const about = { tenant_id: event.tenantId, job_id: event.jobId, webhook_event_id: event.id, attempt };
  if (outcome === "delivered") {
    log.info("webhook delivered", { ...about, type: event.type, status: answer.status });
    return { status: "delivered" };
  }
  log.warn(outcome === "failed" ? "webhook delivery failed for good" : "webhook delivery failed; it is retried", {
    ...about,
    type: event.type,
    status: answer.status,
    reason: error,
  });
  metric("DeliveryFailures", 1, { tenant_id: event.tenantId, job_id: event.jobId, kind: "webhook" });
  return { status: outcome, error: error ?? "" };
}
