import { sql } from "drizzle-orm";
import { bigint, check, index, integer, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { belongsTo, id, jsonObject, serial, timestamps, tstz, writtenAt } from "./columns.ts";
import { targets } from "./target.sql.ts";
import { tenants } from "./tenant.sql.ts";

// The job statuses and the sets the lifecycle reasons with, defined once for TypeScript and SQL
// (the check constraint, the partial index and core's statements interpolate them).
export const JOB_STATUSES = ["pending", "queued", "running", "paused", "success", "error", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** A paused or failed job holds its target until it is resumed, resolved or cancelled. */
export const BLOCKING_STATUSES = ["paused", "error"] as const satisfies readonly JobStatus[];
/** Nothing can change a job in these any more. */
export const FINAL_STATUSES = ["success", "canceled"] as const satisfies readonly JobStatus[];
/** A job that still waits, runs or blocks: the ones the dispatcher and the queue look at. */
export const ACTIVE_STATUSES = ["queued", "running", ...BLOCKING_STATUSES] as const satisfies readonly JobStatus[];
export type StopRequest = "cancel" | "interrupt";

/** A set as a SQL list literal, `('a', 'b')`: the values are the constants above, never input. */
export const statusList = (set: readonly JobStatus[], separator = ", ") =>
  sql.raw(`(${set.map((s) => `'${s}'`).join(separator)})`);

export const jobs = pgTable(
  "jobs",
  {
    id: id(),
    /** Creation order; FIFO within a target follows it. */
    seq: bigint("seq", { mode: "number" }).generatedAlwaysAsIdentity(),
    tenantId: belongsTo("tenant_id", () => tenants),
    targetId: belongsTo("target_id", () => targets),
    apiName: text("api_name").notNull(),
    parameters: jsonObject("parameters"),
    status: text("status").$type<JobStatus>().notNull(),
    result: jsonb("result").$type<unknown>(),
    error: text("error"),
    ...timestamps(),
    startedAt: tstz("started_at"),
    completedAt: tstz("completed_at"),
    totalInputTokens: integer("total_input_tokens"),
    totalOutputTokens: integer("total_output_tokens"),
    /** The attempt the worker last started (0 first). */
    attempt: integer("attempt").notNull().default(0),
    /** Set when the job was handed to Hatchet; null while it waits in Postgres. */
    dispatchedAt: tstz("dispatched_at"),
    hatchetRunId: text("hatchet_run_id"),
    /** Why the last hand-over to Hatchet failed; the dispatcher retries. */
    dispatchError: text("dispatch_error"),
    /** A stop asked of the running job: the worker polls it and aborts the executor. */
    stopRequested: text("stop_requested").$type<StopRequest>(),
  },
  (t) => [
    index("jobs_target_seq_idx").on(t.targetId, t.seq),
    index("jobs_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("jobs_active_idx")
      .on(t.targetId, t.status)
      .where(sql`${t.status} in ${statusList(ACTIVE_STATUSES)}`),
    // Spelled without spaces, as the first migration wrote it.
    check("jobs_status_check", sql`${t.status} in ${statusList(JOB_STATUSES, ",")}`),
  ],
);

export const jobLogs = pgTable(
  "job_logs",
  {
    id: serial(),
    jobId: belongsTo("job_id", () => jobs),
    timestamp: writtenAt("timestamp"),
    logType: text("log_type").notNull(),
    content: jsonb("content").$type<unknown>().notNull(),
  },
  (t) => [index("job_logs_job_idx").on(t.jobId, t.id)],
);

export const jobHttpExchanges = pgTable(
  "job_http_exchanges",
  {
    id: serial(),
    jobId: belongsTo("job_id", () => jobs),
    attempt: integer("attempt").notNull(),
    timestamp: writtenAt("timestamp"),
    content: jsonb("content").$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("job_http_exchanges_job_idx").on(t.jobId, t.id)],
);

/**
 * One row per attempt a worker started, keyed on job, run and attempt. It makes deliveries
 * idempotent (a repeated delivery of a finished attempt answers the stored outcome) and records
 * start and end for the invariant checks.
 */
export const jobAttempts = pgTable(
  "job_attempts",
  {
    jobId: belongsTo("job_id", () => jobs),
    /** The orchestrator run: a resumed job gets a new run whose attempts count from 0 again. */
    runId: text("run_id").notNull(),
    attempt: integer("attempt").notNull(),
    targetId: uuid("target_id").notNull(),
    startedAt: writtenAt("started_at"),
    /** Written by the worker while the attempt runs; an open attempt whose heartbeat is older
     * than the lease is abandoned (its worker died) and the next attempt may take over. */
    heartbeatAt: writtenAt("heartbeat_at"),
    finishedAt: tstz("finished_at"),
    outcome: jsonb("outcome").$type<Record<string, unknown>>(),
    /**
     * Direct mode: when the attempt outlived the engine operator's call and went on without it.
     * Nobody delivers it again, so if its worker dies, the dispatch sweep repairs it.
     */
    detachedAt: tstz("detached_at"),
  },
  (t) => [
    primaryKey({ columns: [t.jobId, t.runId, t.attempt] }),
    index("job_attempts_target_idx").on(t.targetId, t.startedAt),
  ],
);

/**
 * Idempotency keys of job creates (the `Idempotency-Key` header): a repeated create with the same
 * key and body answers the job the first one made, within the retention window.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    tenantId: belongsTo("tenant_id", () => tenants),
    key: text("key").notNull(),
    /** SHA-256 of the request (target, job type, parameters as sent). */
    requestHash: text("request_hash").notNull(),
    jobId: uuid("job_id").notNull(),
    createdAt: writtenAt("created_at"),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] }), index("idempotency_keys_created_idx").on(t.createdAt)],
);
