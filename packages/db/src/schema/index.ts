export * from "./dispatch.sql.ts";
export * from "./job.sql.ts";
export * from "./target.sql.ts";
export * from "./tenant.sql.ts";
export * from "./webhook.sql.ts";
export * from "./worker.sql.ts";
