import { sql } from "drizzle-orm";
import { timestamp, uuid } from "drizzle-orm/pg-core";

export const id = () => uuid("id").primaryKey().default(sql`gen_random_uuid()`);
/** Timestamps are always `timestamptz`: the API answers ISO 8601 with an offset. */
export const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
export const timestamps = () => ({
  createdAt: tstz("created_at").notNull().defaultNow(),
  updatedAt: tstz("updated_at").notNull().defaultNow(),
});
