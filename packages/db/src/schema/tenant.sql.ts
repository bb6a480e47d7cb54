import { bigint, index, integer, pgTable, text, varchar } from "drizzle-orm/pg-core";
import { belongsTo, id, tstz, writtenAt } from "./columns.ts";

export const tenants = pgTable("tenants", {
  id: id(),
  name: text("name").notNull().unique(),
  createdAt: writtenAt("created_at"),
});

/** API keys are stored as SHA-256 hashes: keys are 32 random bytes, so a slow hash adds nothing. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: id(),
    tenantId: belongsTo("tenant_id", () => tenants),
    keyHash: text("key_hash").notNull().unique(),
    /** The first characters of the key, to tell keys apart in listings. */
    prefix: text("prefix").notNull(),
    createdAt: writtenAt("created_at"),
    revokedAt: tstz("revoked_at"),
  },
  (t) => [index("api_keys_tenant_idx").on(t.tenantId)],
);

/**
 * Per-tenant request counts (rate-limiter-flexible's Postgres store, whose layout this is): one
 * row per tenant, `points` used in the window that ends at `expire` (epoch milliseconds).
 */
export const rateLimits = pgTable("rate_limits", {
  key: varchar("key", { length: 255 }).primaryKey(),
  points: integer("points").notNull().default(0),
  expire: bigint("expire", { mode: "number" }),
});
