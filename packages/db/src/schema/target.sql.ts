import { index, pgTable, text } from "drizzle-orm/pg-core";
import { belongsTo, id, jsonObject, timestamps, tstz } from "./columns.ts";
import { tenants } from "./tenant.sql.ts";

/** A target is a lane: at most one running job at a time, FIFO. */
export const targets = pgTable(
  "targets",
  {
    id: id(),
    tenantId: belongsTo("tenant_id", () => tenants),
    name: text("name").notNull(),
    type: text("type").notNull().default("generic"),
    /** Fields of a create that switchyard does not model (legacy-use's VNC settings and the like). */
    metadata: jsonObject("metadata"),
    ...timestamps(),
    archivedAt: tstz("archived_at"),
  },
  (t) => [index("targets_tenant_idx").on(t.tenantId, t.createdAt)],
);
