import { index, pgTable, text } from "drizzle-orm/pg-core";
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
