import { pgTable, text } from "drizzle-orm/pg-core";
import { writtenAt } from "./columns.ts";

/**
 * When a dispatch host last swept (a row per host kind). It spaces out sweeps where many callers
 * could run one (every engine's health poll of the worker in direct mode), and tells the queue
 * status whether anything dispatches at all.
 */
export const dispatchSweeps = pgTable("dispatch_sweeps", {
  host: text("host").primaryKey(),
  sweptAt: writtenAt("swept_at"),
});
