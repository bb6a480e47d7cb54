import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { belongsTo, id, tstz, writtenAt } from "./columns.ts";
import { tenants } from "./tenant.sql.ts";

/** The job events a tenant can be told about, each when a job enters that status. */
export const WEBHOOK_EVENTS = ["job.succeeded", "job.failed", "job.canceled", "job.paused"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** A tenant's completion webhook: an HTTPS endpoint told about the events it subscribed to. */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: id(),
    tenantId: belongsTo("tenant_id", () => tenants),
    url: text("url").notNull(),
    events: text("events").array().$type<WebhookEventType[]>().notNull(),
    /** Standard Webhooks secret (whsec_…), shown once when the endpoint is made. */
    secret: text("secret").notNull(),
    description: text("description").notNull().default(""),
    createdAt: writtenAt("created_at"),
  },
  (t) => [index("webhook_endpoints_tenant_idx").on(t.tenantId)],
);

/**
 * One event for one endpoint (an outbox row), written in the transaction that changed the job's
 * status (a trigger on jobs, migration 0006), so no change of status can be lost before it is
 * sent. A Hatchet run delivers it, retried with backoff.
 */
export const webhookEvents = pgTable(
  "webhook_events",
  {
    id: id(),
    endpointId: belongsTo("endpoint_id", () => webhookEndpoints),
    tenantId: uuid("tenant_id").notNull(),
    type: text("type").$type<WebhookEventType>().notNull(),
    jobId: uuid("job_id").notNull(),
    /** The job's id, target, type, status, result, error, attempt and times when the event happened. */
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    createdAt: writtenAt("created_at"),
    /** The run that delivers it; null until handed to Hatchet. */
    hatchetRunId: text("hatchet_run_id"),
    dispatchedAt: tstz("dispatched_at"),
    deliveredAt: tstz("delivered_at"),
    /** Set when the last allowed attempt failed. */
    failedAt: tstz("failed_at"),
  },
  (t) => [
    // The events dispatch may still pick (never handed over, or a hand-over that got no run): it
    // runs after every job's end, so it must read only these, not the table's whole history.
    index("webhook_events_open_idx").on(t.createdAt).where(sql`${t.deliveredAt} is null and ${t.failedAt} is null`),
    index("webhook_events_endpoint_idx").on(t.endpointId, t.createdAt),
  ],
);

/** Every delivery attempt of an event, for the delivery log the API shows. */
export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    eventId: belongsTo("event_id", () => webhookEvents),
    attempt: integer("attempt").notNull(),
    at: writtenAt("at"),
    /** The receiver's HTTP status, or null when none answered. */
    status: integer("status"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
  },
  (t) => [index("webhook_attempts_event_idx").on(t.eventId, t.at)],
);
