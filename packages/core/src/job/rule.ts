// Which job of which target goes next: the one rule every dispatch host applies (see dispatch.ts).
// A target gets a run only when nothing of it is in flight (running, or handed over and not yet
// started) and nothing blocks it (paused, error); then its oldest waiting job goes. So a blocked
// target's later jobs hold no worker slot, and FIFO per target is the order of `seq`.
import { BLOCKING_STATUSES, type Db, jobs, statusList } from "@switchyard/db";
import { type SQL, sql } from "drizzle-orm";

/** True when a job of the target is in flight or blocks it. */
export const targetBusy = (targetId: SQL) => sql`exists (
  select 1 from ${jobs} a where a.target_id = ${targetId}
    and (a.status in ${statusList(["running", ...BLOCKING_STATUSES])}
         or (a.status = 'queued' and a.dispatched_at is not null)))`;

/** The id of the target's oldest waiting job (null when none waits). */
export const nextJobOf = (targetId: SQL) =>
  sql`(select id from ${jobs} where target_id = ${targetId} and status = 'queued' order by seq limit 1)`;

/** Targets with a job waiting and nothing in flight or blocking: the ones a sweep dispatches. */
export async function readyTargets(db: Db, opts: { tenantId?: string; limit?: number } = {}): Promise<string[]> {
  const { rows } = await db.execute<{ target_id: string }>(sql`
    select distinct q.target_id from ${jobs} q
    where q.status = 'queued' and q.dispatched_at is null
      ${opts.tenantId ? sql`and q.tenant_id = ${opts.tenantId}` : sql``}
      and not ${targetBusy(sql`q.target_id`)}
    limit ${opts.limit ?? 500}`);
  return rows.map((r) => r.target_id);
}
