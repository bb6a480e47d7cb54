import { index, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { id, tstz } from "./columns.ts";

export const tenants = pgTable("tenants", {
  id: id(),
  name: text("name").notNull().unique(),
  createdAt: tstz("created_at").notNull().defaultNow(),
});

/** API keys are stored as SHA-256 hashes: keys are 32 random bytes, so a slow hash adds nothing. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: id(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    keyHash: text("key_hash").notNull().unique(),
    /** The first characters of the key, to tell keys apart in listings. */
    prefix: text("prefix").notNull(),
    createdAt: tstz("created_at").notNull().defaultNow(),
    revokedAt: tstz("revoked_at"),
  },
  (t) => [index("api_keys_tenant_idx").on(t.tenantId)],
);
