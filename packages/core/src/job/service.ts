// The job verbs behind the API. Each verb checks that the tenant owns the target and the job (a
// foreign id is "not found"), then applies one lifecycle transition and lets dispatch know.
import { createHash } from "node:crypto";
import { type Db, type JobStatus, jobHttpExchanges, jobLogs, jobs } from "@switchyard/db";
import { and, asc, count, desc, eq, gt } from "drizzle-orm";
import type { Deps } from "../deps.ts";
import { notFound, SwitchyardError } from "../errors.ts";
import { validateJobParameters } from "../job-type-registry.ts";
import { log, metric } from "../observe.ts";
import { requireTarget } from "../target.ts";
import * as Lifecycle from "./lifecycle.ts";
import { iso, type JobView, jobView } from "./view.ts";

export interface CreateJobInput {
  api_name: string;
  parameters: Record<string, unknown>;
}

/** A create's outcome: the job, and whether an earlier create with the same Idempotency-Key made it. */
export interface Created {
  job: JobView;
  replayed: boolean;
}

export async function create(
  deps: Deps,
  tenantId: string,
  targetId: string,
  input: CreateJobInput,
  idempotencyKey?: string,
): Promise<Created> {
  const target = await requireTarget(deps.db, tenantId, targetId);
  if (target.archivedAt) throw archived(targetId);
  // The request as sent (before coercion): a retry sends the same bytes, so the same hash.
  const idempotency = idempotencyKey
    ? {
        key: idempotencyKey,
        requestHash: sha256(JSON.stringify([targetId, input.api_name, input.parameters])),
        retentionMs: deps.timing.idempotencyRetentionMs,
      }
    : undefined;
  if (idempotency) {
    const replay = await replayed(deps.db, tenantId, idempotency);
    if (replay) return { job: replay, replayed: true };
    // Keys past the retention window are forgotten now and then, not on every create.
    if (Math.random() < 0.01) await Lifecycle.purgeIdempotencyKeys(deps.db, idempotency.retentionMs);
  }
  const parameters = await validateJobParameters(deps.db, input.api_name, input.parameters);
  const row = await Lifecycle.create(
    deps.db,
    { tenantId, targetId, apiName: input.api_name, parameters, idempotency },
    deps.host.wake,
  );
  if (!row) {
    // A concurrent create with the same key won (its job is the answer), or the target was
    // archived or deleted since the read above: answer as that read would have.
    const replay = idempotency && (await replayed(deps.db, tenantId, idempotency));
    if (replay) return { job: replay, replayed: true };
    await requireTarget(deps.db, tenantId, targetId);
    throw archived(targetId);
  }
  await deps.host.afterCommit(targetId);
  return { job: jobView(row), replayed: false };
}

/** The job an earlier create with this key made; refused when that create's request differed. */
async function replayed(
  db: Db,
  tenantId: string,
  idempotency: { key: string; requestHash: string; retentionMs: number },
) {
  const earlier = await Lifecycle.findIdempotencyKey(db, tenantId, idempotency.key, idempotency.retentionMs);
  if (!earlier) return undefined;
  if (earlier.requestHash !== idempotency.requestHash) {
    throw new SwitchyardError(
      "idempotency.key_reused",
      "This Idempotency-Key was used for a different request; use a new key for a new job",
    );
  }
  const [row] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, earlier.jobId), eq(jobs.tenantId, tenantId)));
  return row && jobView(row);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const archived = (targetId: string) =>
  new SwitchyardError("target.archived", `Target ${targetId} is archived and takes no new jobs`);

export async function get(db: Db, tenantId: string, targetId: string, jobId: string): Promise<JobView> {
  await requireTarget(db, tenantId, targetId);
  return jobView(await requireJob(db, tenantId, targetId, jobId));
}

export interface ListFilters {
  limit: number;
  offset: number;
  status?: JobStatus;
  target_id?: string;
  api_name?: string;
}

export async function listAll(db: Db, tenantId: string, f: ListFilters) {
  const where = and(
    eq(jobs.tenantId, tenantId),
    f.status ? eq(jobs.status, f.status) : undefined,
    f.target_id ? eq(jobs.targetId, f.target_id) : undefined,
    f.api_name ? eq(jobs.apiName, f.api_name) : undefined,
  );
  const [rows, [total]] = await Promise.all([
    db.select().from(jobs).where(where).orderBy(desc(jobs.createdAt), desc(jobs.seq)).limit(f.limit).offset(f.offset),
    db.select({ n: count() }).from(jobs).where(where),
  ]);
  const now = new Date();
  return { total_count: total?.n ?? 0, jobs: rows.map((r) => jobView(r, now)) };
}

export async function listForTarget(
  db: Db,
  tenantId: string,
  targetId: string,
  page: { limit: number; offset: number },
) {
  await requireTarget(db, tenantId, targetId);
  const rows = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), eq(jobs.targetId, targetId)))
    .orderBy(desc(jobs.createdAt), desc(jobs.seq))
    .limit(page.limit)
    .offset(page.offset);
  const now = new Date();
  return rows.map((r) => jobView(r, now));
}

/** Cancel, interrupt, resume: legacy-use's `{message}` plus the job after the change. */
export const cancel = (deps: Deps, tenantId: string, targetId: string, jobId: string) =>
  userAction(deps, tenantId, targetId, jobId, "cancel");
export const interrupt = (deps: Deps, tenantId: string, targetId: string, jobId: string) =>
  userAction(deps, tenantId, targetId, jobId, "interrupt");
export const resume = (deps: Deps, tenantId: string, targetId: string, jobId: string) =>
  userAction(deps, tenantId, targetId, jobId, "resume");

export async function resolve(
  deps: Deps,
  tenantId: string,
  targetId: string,
  jobId: string,
  result: Record<string, unknown>,
): Promise<JobView> {
  return (await userAction(deps, tenantId, targetId, jobId, "resolve", result)).job;
}

async function userAction(
  deps: Deps,
  tenantId: string,
  targetId: string,
  jobId: string,
  action: Lifecycle.UserAction,
  result?: Record<string, unknown>,
): Promise<{ message: string; job: JobView }> {
  await requireTarget(deps.db, tenantId, targetId);
  const done = await deps.db.transaction(async (tx) => {
    const job = await Lifecycle.lockJob(tx, tenantId, targetId, jobId);
    if (!job) throw notFound("job", jobId);
    return Lifecycle.applyUserAction(tx, job, action, deps.host.wake, result);
  });
  const ids = { job_id: jobId, tenant_id: tenantId, target_id: targetId };
  log.info(`job ${action} by the tenant`, { ...ids, from: done.from, status: done.job.status });
  // A waiting job ends here; a running one ends when its worker stops it (finishAttempt).
  if (done.from !== "running" && done.job.status === "canceled")
    metric("JobsFinished", 1, { ...ids, status: "canceled" });
  if (done.runToCancel) await deps.orchestrator.cancel(done.runToCancel).catch(() => {});
  await deps.host.afterCommit(targetId);
  if (done.job.status === "canceled" || done.job.status === "success") await deps.host.afterEvents();
  return { message: messageFor(action, jobId, done.job.status), job: jobView(done.job) };
}

/** The job's log lines, oldest first; with `after`, only the lines newer than that line's id. */
export async function logs(db: Db, tenantId: string, targetId: string, jobId: string, page: { after?: number } = {}) {
  await requireTarget(db, tenantId, targetId);
  await requireJob(db, tenantId, targetId, jobId);
  const rows = await db
    .select()
    .from(jobLogs)
    .where(and(eq(jobLogs.jobId, jobId), page.after === undefined ? undefined : gt(jobLogs.id, page.after)))
    .orderBy(asc(jobLogs.id));
  return rows.map(logView);
}

const logView = (r: typeof jobLogs.$inferSelect) => ({
  id: r.id,
  job_id: r.jobId,
  timestamp: iso(r.timestamp),
  log_type: r.logType,
  content: r.content,
});

/** The statuses a follower of a job's log stops at: the job no longer runs nor waits to. */
export const FOLLOW_ENDS_AT: readonly JobStatus[] = ["success", "error", "canceled", "paused"];

/**
 * One read of a follower of the job's log: its status, then at most `limit` lines after `after`
 * (in that order, so the lines include every one written before the status was read).
 */
export async function logTail(db: Db, tenantId: string, targetId: string, jobId: string, after: number, limit = 500) {
  const job = await findJob(db, tenantId, targetId, jobId);
  if (!job) throw notFound("job", jobId);
  const rows = await db
    .select()
    .from(jobLogs)
    .where(and(eq(jobLogs.jobId, jobId), gt(jobLogs.id, after)))
    .orderBy(asc(jobLogs.id))
    .limit(limit);
  return { status: job.status, lines: rows.map(logView) };
}

export async function httpExchanges(db: Db, tenantId: string, targetId: string, jobId: string) {
  await requireTarget(db, tenantId, targetId);
  await requireJob(db, tenantId, targetId, jobId);
  const rows = await db
    .select()
    .from(jobHttpExchanges)
    .where(eq(jobHttpExchanges.jobId, jobId))
    .orderBy(asc(jobHttpExchanges.id));
  return rows.map((r) => ({
    id: r.id,
    job_id: r.jobId,
    timestamp: iso(r.timestamp),
    log_type: "http_exchange" as const,
    attempt: r.attempt,
    content: r.content,
  }));
}

async function findJob(db: Db, tenantId: string, targetId: string, jobId: string) {
  const [j] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, jobId), eq(jobs.tenantId, tenantId), eq(jobs.targetId, targetId)));
  return j;
}

async function requireJob(db: Db, tenantId: string, targetId: string, jobId: string) {
  const j = await findJob(db, tenantId, targetId, jobId);
  if (!j) throw notFound("job", jobId);
  return j;
}

function messageFor(action: Lifecycle.UserAction, jobId: string, status: JobStatus): string {
  if (action === "interrupt") return `Job ${jobId} interrupt requested.`;
  if (action === "cancel")
    return status === "running" ? `Job ${jobId} cancel requested.` : `Job ${jobId} canceled successfully.`;
  if (action === "resume") return `Job ${jobId} resumed.`;
  return `Job ${jobId} resolved.`;
}
