// The job verbs behind the API. Each verb checks the tenant owns the target and the job (a
// foreign id is "not found") and applies the state machine in one transaction, which wakes the
// relay's dispatcher on commit: no call to the orchestrator in the request path.
import { randomUUID } from "node:crypto";
import { type Db, jobHttpExchanges, jobLogs, jobs, type Tx, targets } from "@switchyard/db";
import { and, asc, count, desc, eq, getTableColumns, inArray, sql } from "drizzle-orm";
import { notFound, SwitchyardError } from "../errors.ts";
import { validateJobParameters } from "../job-type-registry.ts";
import type { Scheduler } from "../scheduler.ts";
import { addLog, dispatcherWake, wakeDispatcher } from "./dispatch.ts";
import { applyUserAction, type JobStatus, type UserAction } from "./status.ts";
import { iso, type JobView, jobView } from "./view.ts";

export interface JobDeps {
  db: Db;
  scheduler: Scheduler;
}

export interface CreateJobInput {
  api_name: string;
  parameters: Record<string, unknown>;
}

export async function create(
  deps: JobDeps,
  tenantId: string,
  targetId: string,
  input: CreateJobInput,
): Promise<JobView> {
  const target = await requireTarget(deps.db, tenantId, targetId);
  if (target.archivedAt) throw archived(targetId);
  await validateJobParameters(deps.db, input.api_name, input.parameters);
  // One statement, so one round trip and atomic without BEGIN and COMMIT: the job, its first log
  // line and the dispatcher's wake-up (Postgres delivers the NOTIFY at commit). The job's row is
  // selected from a share lock on its target, so its seq is drawn only once the lock is held, and
  // the dispatcher (which locks the target exclusively) waits for the commit: it can never hand
  // over a later job of the target while an earlier seq is still uncommitted. Raw SQL because
  // drizzle's INSERT … SELECT must list every column of the table.
  const id = randomUUID();
  const content = JSON.stringify("Job added to queue");
  const columns = Object.entries(getTableColumns(jobs));
  const result = await deps.db.execute<Record<string, unknown>>(sql`
    with locked as (
      select id, tenant_id from ${targets}
      where id = ${targetId} and tenant_id = ${tenantId} and archived_at is null
      for share
    ), job as (
      insert into ${jobs} (id, tenant_id, target_id, api_name, parameters, status)
      select ${id}, tenant_id, id, ${input.api_name}, ${JSON.stringify(input.parameters)}::jsonb, 'queued'
      from locked
      returning *
    ), first_log as (
      insert into ${jobLogs} (job_id, log_type, content) select id, 'system', ${content}::jsonb from job
    )
    select ${sql.join(
      columns.map(([key, column]) => sql`${sql.identifier(column.name)} as ${sql.identifier(key)}`),
      sql`, `,
    )}, ${dispatcherWake(targetId)} as woke
    from job`);
  const raw = result.rows[0];
  if (!raw) {
    // Archived or deleted since the read above: answer as that read would have.
    await requireTarget(deps.db, tenantId, targetId);
    throw archived(targetId);
  }
  const row = Object.fromEntries(
    columns.map(([key, column]) => [key, raw[key] == null ? null : column.mapFromDriverValue(raw[key])]),
  ) as typeof jobs.$inferSelect;
  return jobView(row);
}

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

/** cancel, interrupt, resume: answers legacy-use's `{message}` plus the job after the change. */
export async function act(
  deps: JobDeps,
  tenantId: string,
  targetId: string,
  jobId: string,
  action: Exclude<UserAction, "resolve">,
): Promise<{ message: string; job: JobView }> {
  await requireTarget(deps.db, tenantId, targetId);
  const { row, runToCancel } = await deps.db.transaction(async (tx) => {
    const job = await lockJob(tx, tenantId, targetId, jobId);
    const t = applyUserAction(job.status, action);
    const settling = t.to !== job.status && (t.to === "canceled" || t.to === "success");
    const set: Partial<typeof jobs.$inferInsert> = { status: t.to, updatedAt: new Date() };
    if (t.stop) set.stopRequested = t.stop;
    if (settling) set.completedAt = new Date();
    if (action === "resume") {
      Object.assign(set, {
        error: null,
        result: null,
        completedAt: null,
        startedAt: null,
        stopRequested: null,
        dispatchedAt: null,
        hatchetRunId: null,
        dispatchError: null,
      });
    }
    const [updated] = await tx.update(jobs).set(set).where(eq(jobs.id, job.id)).returning();
    await addLog(tx, job.id, "system", logLine(action, job.status, t.stop !== undefined));
    await wakeDispatcher(tx, targetId);
    // A job handed to Hatchet but not started has a run to withdraw; a running job is stopped
    // by its worker instead (the worker polls stop_requested), which then ends the run itself.
    const runToCancel = t.to === "canceled" && job.status === "queued" ? job.hatchetRunId : null;
    return { row: updated ?? job, runToCancel };
  });
  if (runToCancel) await deps.scheduler.cancel(runToCancel).catch(() => {});
  return { message: messageFor(action, jobId, row.status), job: jobView(row) };
}

export async function resolve(
  deps: JobDeps,
  tenantId: string,
  targetId: string,
  jobId: string,
  result: Record<string, unknown>,
): Promise<JobView> {
  await requireTarget(deps.db, tenantId, targetId);
  const row = await deps.db.transaction(async (tx) => {
    const job = await lockJob(tx, tenantId, targetId, jobId);
    const t = applyUserAction(job.status, "resolve");
    const [updated] = await tx
      .update(jobs)
      .set({ status: t.to, result, error: null, completedAt: job.completedAt ?? new Date(), updatedAt: new Date() })
      .where(eq(jobs.id, job.id))
      .returning();
    await addLog(tx, job.id, "system", "Job manually resolved");
    await wakeDispatcher(tx, targetId);
    return updated ?? job;
  });
  return jobView(row);
}

export async function logs(db: Db, tenantId: string, targetId: string, jobId: string) {
  await requireTarget(db, tenantId, targetId);
  await requireJob(db, tenantId, targetId, jobId);
  const rows = await db.select().from(jobLogs).where(eq(jobLogs.jobId, jobId)).orderBy(asc(jobLogs.id));
  return rows.map((r) => ({
    id: r.id,
    job_id: r.jobId,
    timestamp: iso(r.timestamp),
    log_type: r.logType,
    content: r.content,
  }));
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

/** The tenant's job on the target, locked for the rest of the transaction. */
async function lockJob(tx: Tx, tenantId: string, targetId: string, jobId: string) {
  const [job] = await tx
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, jobId), eq(jobs.tenantId, tenantId), eq(jobs.targetId, targetId)))
    .for("no key update");
  if (!job) throw notFound("job", jobId);
  return job;
}

export async function requireTarget(db: Db, tenantId: string, targetId: string) {
  const [t] = await db
    .select()
    .from(targets)
    .where(and(eq(targets.id, targetId), eq(targets.tenantId, tenantId)));
  if (!t) throw notFound("target", targetId);
  return t;
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

/** Jobs that block a target (paused, error), newest first, as legacy-use's target fields list them. */
export async function blockingJobs(db: Db, tenantId: string, targetIds: string[]) {
  if (targetIds.length === 0) return new Map<string, JobView[]>();
  const rows = await db
    .select()
    .from(jobs)
    .where(
      and(eq(jobs.tenantId, tenantId), inArray(jobs.targetId, targetIds), inArray(jobs.status, ["paused", "error"])),
    )
    .orderBy(desc(jobs.createdAt));
  const out = new Map<string, JobView[]>();
  for (const r of rows) {
    const list = out.get(r.targetId) ?? [];
    if (list.length < 100) list.push(jobView(r));
    out.set(r.targetId, list);
  }
  return out;
}

function logLine(action: UserAction, from: JobStatus, stopping: boolean): string {
  if (stopping) return action === "cancel" ? "Job cancel requested by user" : "Job interrupt requested by user";
  switch (action) {
    case "cancel":
      return `Job canceled by user request (was ${from}).`;
    case "interrupt":
      return `Job removed from queue due to interrupt request (was ${from}).`;
    case "resume":
      return `Job resumed from ${from} state`;
    case "resolve":
      return "Job manually resolved";
  }
}

function messageFor(action: UserAction, jobId: string, status: JobStatus): string {
  if (action === "interrupt") return `Job ${jobId} interrupt requested.`;
  if (action === "cancel")
    return status === "running" ? `Job ${jobId} cancel requested.` : `Job ${jobId} canceled successfully.`;
  return `Job ${jobId} resumed.`;
}
