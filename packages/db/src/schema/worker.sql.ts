import { boolean, index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { belongsTo, id, jsonObject, timestamps, tstz, writtenAt } from "./columns.ts";

/** A webhook worker: an HTTPS endpoint (a Lambda Function URL) that runs job types. */
export const webhookWorkers = pgTable("webhook_workers", {
  id: id(),
  name: text("name").notNull().unique(),
  url: text("url").notNull(),
  /** The signing secret (whsec_…); never returned by the API after creation. */
  secret: text("secret").notNull(),
  healthy: boolean("healthy").notNull().default(false),
  lastCheckedAt: tstz("last_checked_at"),
  lastError: text("last_error"),
  ...timestamps(),
});

export const workerJobTypes = pgTable(
  "worker_job_types",
  {
    workerId: belongsTo("worker_id", () => webhookWorkers),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    /** JSON Schema of the parameters, as the worker published it. */
    parameterSchema: jsonObject("parameter_schema"),
    timeoutSeconds: integer("timeout_seconds").notNull(),
    retries: integer("retries").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workerId, t.name] }), index("worker_job_types_name_idx").on(t.name)],
);

/** Delivery ids a worker accepted, so a replayed request is refused. */
export const deliveries = pgTable("deliveries", {
  id: text("id").primaryKey(),
  receivedAt: writtenAt("received_at"),
});
