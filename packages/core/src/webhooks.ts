// Completion webhooks: a tenant's endpoints, and the outbox of events they are told about. Events
// are written by a trigger on jobs (migration 0006) in the transaction that changed a job's status;
// dispatch hands each to a Hatchet run (the `switchyard-webhook` workflow), which delivers it,
// Standard Webhooks signed, and is retried with backoff until the endpoint answers 2xx.
import {
  type Db,
  WEBHOOK_EVENTS,
  type WebhookEventType,
  webhookAttempts,
  webhookEndpoints,
  webhookEvents,
} from "@switchyard/db";
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { notFound } from "./errors.ts";
import { iso } from "./job/view.ts";
import type { Orchestrator } from "./orchestrator.ts";
import { seconds, type Timing } from "./timing.ts";

export { WEBHOOK_EVENTS, type WebhookEventType };

export interface EndpointInput {
  url: string;
  events: WebhookEventType[];
  description?: string;
  /** Standard Webhooks secret, made by the caller and shown once. */
  secret: string;
}

type EndpointRow = typeof webhookEndpoints.$inferSelect;

const endpointView = (e: EndpointRow) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  description: e.description,
  created_at: iso(e.createdAt),
});

export async function createEndpoint(db: Db, tenantId: string, input: EndpointInput) {
  const [row] = await db
    .insert(webhookEndpoints)
    .values({
      tenantId,
      url: input.url,
      events: [...new Set(input.events)],
      description: input.description ?? "",
      secret: input.secret,
    })
    .returning();
  if (!row) throw new Error("insert returned no row");
  // The only answer that carries the secret.
  return { ...endpointView(row), secret: row.secret };
}

export async function listEndpoints(db: Db, tenantId: string) {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.tenantId, tenantId))
    .orderBy(webhookEndpoints.createdAt);
  return rows.map(endpointView);
}

export async function removeEndpoint(db: Db, tenantId: string, endpointId: string) {
  const gone = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.tenantId, tenantId)))
    .returning({ id: webhookEndpoints.id });
  if (gone.length === 0) throw notFound("webhook", endpointId);
  return { message: `Webhook ${endpointId} deleted` };
}

/** The endpoint's events, newest first, each with its delivery attempts. */
export async function deliveries(
  db: Db,
  tenantId: string,
  endpointId: string,
  page: { limit: number; offset: number },
) {
  const [endpoint] = await db
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.tenantId, tenantId)));
  if (!endpoint) throw notFound("webhook", endpointId);
  const events = await db
    .select()
    .from(webhookEvents)
    .where(eq(webhookEvents.endpointId, endpointId))
    .orderBy(desc(webhookEvents.createdAt))
    .limit(page.limit)
    .offset(page.offset);
  const attempts = events.length
    ? await db
        .select()
        .from(webhookAttempts)
        .where(sql`${webhookAttempts.eventId} in ${events.map((e) => e.id)}`)
        .orderBy(webhookAttempts.at)
    : [];
  return events.map((e) => ({
    id: e.id,
    type: e.type,
    job_id: e.jobId,
    created_at: iso(e.createdAt),
    status: e.deliveredAt ? "delivered" : e.failedAt ? "failed" : "pending",
    delivered_at: e.deliveredAt ? iso(e.deliveredAt) : null,
    attempts: attempts
      .filter((a) => a.eventId === e.id)
      .map((a) => ({
        attempt: a.attempt,
        at: iso(a.at),
        status_code: a.status,
        error: a.error,
        duration_ms: a.durationMs,
      })),
  }));
}

// ---------------------------------------------------------------------------------------------
// The outbox

/**
 * Hands undelivered events to Hatchet runs: events never handed over, and hand-overs whose
 * dispatcher died before the trigger answered (no run id after `lostHandOverMs`). A failed trigger
 * puts the event back for the next pass.
 */
export async function dispatchPending(
  db: Db,
  orchestrator: Pick<Orchestrator, "submitWebhook">,
  timing: Pick<Timing, "lostHandOverMs">,
  limit = 100,
): Promise<number> {
  const { rows } = await db.execute<{ id: string; tenant_id: string }>(sql`
    update ${webhookEvents} set dispatched_at = now(), hatchet_run_id = null
    where id in (
      select id from ${webhookEvents}
      where delivered_at is null and failed_at is null
        and (dispatched_at is null
             or (hatchet_run_id is null
                 and dispatched_at < now() - make_interval(secs => ${seconds(timing.lostHandOverMs)})))
      order by created_at limit ${limit}
      for update skip locked)
    returning id, tenant_id`);
  await Promise.all(
    rows.map(async (e) => {
      try {
        const runId = await orchestrator.submitWebhook({ eventId: e.id, tenantId: e.tenant_id });
        await db.update(webhookEvents).set({ hatchetRunId: runId }).where(eq(webhookEvents.id, e.id));
      } catch {
        await db.update(webhookEvents).set({ dispatchedAt: null }).where(eq(webhookEvents.id, e.id));
      }
    }),
  );
  return rows.length;
}

/** What a delivery needs: the event, its endpoint's URL and secret; undefined once it cannot be sent. */
export async function eventToDeliver(db: Db, eventId: string) {
  const [row] = await db
    .select({ event: webhookEvents, url: webhookEndpoints.url, secret: webhookEndpoints.secret })
    .from(webhookEvents)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookEvents.endpointId))
    .where(eq(webhookEvents.id, eventId));
  return row;
}

export async function recordAttempt(
  db: Db,
  a: { eventId: string; attempt: number; status: number | null; error: string | null; durationMs: number },
  outcome: "delivered" | "failed" | "retry",
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.insert(webhookAttempts).values({
      eventId: a.eventId,
      attempt: a.attempt,
      status: a.status,
      error: a.error,
      durationMs: a.durationMs,
    });
    if (outcome === "retry") return;
    await tx
      .update(webhookEvents)
      .set(outcome === "delivered" ? { deliveredAt: sql`now()` } : { failedAt: sql`now()` })
      .where(and(eq(webhookEvents.id, a.eventId), isNull(webhookEvents.deliveredAt)));
  });
}
