// The engine's own view of a run, read back after the fact from its database (this benchmark
// owns that database): when the task was inserted, queued, assigned to a worker, started and
// finished. These split "the trigger was accepted → the worker code ran" into Hatchet's part and
// the worker's part. The tables are the engine's internal OLAP tables of the pinned version
// (v1_tasks_olap, v1_task_events_olap); the REST run-details call returns no task events here.
import pg from "pg";

export interface EngineTimes {
  runId: string;
  /** Epoch ms per event type (first occurrence), plus INSERTED (the task row). */
  at: Record<string, number>;
}

export async function engineTimes(
  engineDbUrl: string,
  runIds: readonly string[],
): Promise<{ rows: EngineTimes[]; errors: number }> {
  const client = new pg.Client({ connectionString: engineDbUrl });
  await client.connect();
  try {
    const r = await client.query<{ run: string; inserted: number; event: string; at: number }>(
      `select t.external_id::text as run, (extract(epoch from t.inserted_at) * 1000)::float8 as inserted,
          e.event_type::text as event, (extract(epoch from min(e.event_timestamp)) * 1000)::float8 as at
        from v1_tasks_olap t
        join v1_task_events_olap e on e.task_id = t.id and e.task_inserted_at = t.inserted_at
        where t.external_id = any($1::uuid[])
        group by 1, 2, 3`,
      [runIds],
    );
    const byRun = new Map<string, Record<string, number>>();
    for (const row of r.rows) {
      const at = byRun.get(row.run) ?? { INSERTED: row.inserted };
      at[row.event] = row.at;
      byRun.set(row.run, at);
    }
    const rows = runIds.map((runId) => ({ runId, at: byRun.get(runId) ?? {} }));
    return { rows, errors: rows.filter((x) => !("INSERTED" in x.at)).length };
  } finally {
    await client.end().catch(() => {});
  }
}
