import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { id, timestamps, tstz } from "./columns.ts";
import { tenants } from "./tenant.sql.ts";

/** A target is a lane: at most one running job at a time, FIFO. */
export const targets = pgTable(
  "targets",
  {
    id: id(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    type: text("type").notNull().default("generic"),
    /** Fields of a create that switchyard does not model (legacy-use's VNC settings and the like). */
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    ...timestamps(),
    archivedAt: tstz("archived_at"),
  },
  (t) => [index("targets_tenant_idx").on(t.tenantId, t.createdAt)],
);
