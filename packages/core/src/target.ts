// Targets: the lanes jobs queue on. A create keeps fields switchyard does not model as metadata,
// so legacy-use's target bodies (host, port, vnc settings…) are accepted and echoed back.
import { BLOCKING_STATUSES, type Db, jobs, targets } from "@switchyard/db";
import { and, asc, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { notFound, SwitchyardError } from "./errors.ts";
import { iso, type JobView, jobView } from "./job/view.ts";

type TargetRow = typeof targets.$inferSelect;

export interface TargetInput {
  name: string;
  type?: string;
  /** Any other field of the request body. */
  extra: Record<string, unknown>;
}

export async function create(db: Db, tenantId: string, input: TargetInput) {
  const [row] = await db
    .insert(targets)
    .values({ tenantId, name: input.name, type: input.type ?? "generic", metadata: input.extra })
    .returning();
  if (!row) throw new Error("insert returned no row");
  return one(await withQueue(db, tenantId, [row]));
}

export async function list(db: Db, tenantId: string, opts: { includeArchived: boolean }) {
  const rows = await db
    .select()
    .from(targets)
    .where(and(eq(targets.tenantId, tenantId), opts.includeArchived ? undefined : isNull(targets.archivedAt)))
    .orderBy(asc(targets.createdAt));
  return withQueue(db, tenantId, rows);
}

export async function get(db: Db, tenantId: string, targetId: string) {
  return one(await withQueue(db, tenantId, [await requireTarget(db, tenantId, targetId)]));
}

export async function update(db: Db, tenantId: string, targetId: string, input: Partial<TargetInput>) {
  const current = await requireTarget(db, tenantId, targetId);
  const [row] = await db
    .update(targets)
    .set({
      name: input.name ?? current.name,
      type: input.type ?? current.type,
      metadata: { ...current.metadata, ...(input.extra ?? {}) },
      updatedAt: new Date(),
    })
    .where(eq(targets.id, targetId))
    .returning();
  return one(await withQueue(db, tenantId, [row ?? current]));
}

/** Archives the target (jobs keep their history); refused while jobs wait or run on it. */
export async function remove(db: Db, tenantId: string, targetId: string) {
  await requireTarget(db, tenantId, targetId);
  const [active] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(jobs)
    .where(and(eq(jobs.targetId, targetId), inArray(jobs.status, ["pending", "queued", "running"])));
  if ((active?.n ?? 0) > 0) {
    throw new SwitchyardError("target.busy", `Target has ${active?.n} queued or running jobs; cancel them first`);
  }
  await db.update(targets).set({ archivedAt: new Date(), updatedAt: new Date() }).where(eq(targets.id, targetId));
  return { message: `Target ${targetId} archived successfully` };
}

/** The tenant's target; not found (404) for another tenant's. */
export async function requireTarget(db: Db, tenantId: string, targetId: string): Promise<TargetRow> {
  const [t] = await db
    .select()
    .from(targets)
    .where(and(eq(targets.id, targetId), eq(targets.tenantId, tenantId)));
  if (!t) throw notFound("target", targetId);
  return t;
}

/** Jobs that block a target (paused, error), newest first, as legacy-use's target fields list them. */
export async function blockingJobs(db: Db, tenantId: string, targetIds: string[]) {
  if (targetIds.length === 0) return new Map<string, JobView[]>();
  const rows = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), inArray(jobs.targetId, targetIds), inArray(jobs.status, BLOCKING_STATUSES)))
    .orderBy(desc(jobs.createdAt));
  const out = new Map<string, JobView[]>();
  for (const r of rows) {
    const list = out.get(r.targetId) ?? [];
    if (list.length < 100) list.push(jobView(r));
    out.set(r.targetId, list);
  }
  return out;
}

async function withQueue(db: Db, tenantId: string, rows: TargetRow[]) {
  const ids = rows.map((r) => r.id);
  const [blocking, counts] = await Promise.all([blockingJobs(db, tenantId, ids), jobCounts(db, ids)]);
  return rows.map((r) => {
    const blockers = blocking.get(r.id) ?? [];
    const c = counts.get(r.id);
    return {
      ...r.metadata,
      id: r.id,
      name: r.name,
      type: r.type,
      metadata: r.metadata,
      is_archived: r.archivedAt !== null,
      created_at: iso(r.createdAt),
      updated_at: iso(r.updatedAt),
      queue_status: blockers.length > 0 ? ("paused" as const) : ("running" as const),
      blocking_jobs: blockers,
      has_blocking_jobs: blockers.length > 0,
      blocking_jobs_count: blockers.length,
      queued_jobs_count: c?.queued ?? 0,
      running_jobs_count: c?.running ?? 0,
    };
  });
}

async function jobCounts(db: Db, targetIds: string[]) {
  const out = new Map<string, { queued: number; running: number }>();
  if (targetIds.length === 0) return out;
  const rows = await db
    .select({
      targetId: jobs.targetId,
      queued: sql<number>`count(*) filter (where ${jobs.status} = 'queued')::int`,
      running: sql<number>`count(*) filter (where ${jobs.status} = 'running')::int`,
    })
    .from(jobs)
    .where(and(inArray(jobs.targetId, targetIds), inArray(jobs.status, ["queued", "running"])))
    .groupBy(jobs.targetId);
  for (const r of rows) out.set(r.targetId, { queued: r.queued, running: r.running });
  return out;
}

function one<T>(rows: T[]): T {
  const [first] = rows;
  if (first === undefined) throw new Error("expected one row");
  return first;
}
