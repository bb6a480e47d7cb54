import { sql } from "drizzle-orm";
import { type AnyPgColumn, bigint, jsonb, timestamp, uuid } from "drizzle-orm/pg-core";

export const id = () => uuid("id").primaryKey().default(sql`gen_random_uuid()`);
/** Timestamps are always `timestamptz`: the API answers ISO 8601 with an offset. */
export const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
/** A timestamp set when the row is written. */
export const writtenAt = (name: string) => tstz(name).notNull().defaultNow();
export const timestamps = () => ({
  createdAt: writtenAt("created_at"),
  updatedAt: writtenAt("updated_at"),
});
/** A row that belongs to a row of `parent` (by its uuid `id`) and is deleted with it. */
export const belongsTo = (name: string, parent: () => { id: AnyPgColumn }) =>
  uuid(name)
    .notNull()
    .references(() => parent().id, { onDelete: "cascade" });
/** An append-only row's key: a bigint identity, which also orders the rows. */
export const serial = () => bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity();
/** A JSON object column, `{}` unless set. */
export const jsonObject = (name: string) =>
  jsonb(name).$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`);
