// The JSON shape of a job: legacy-use's `Job` fields, ISO 8601 timestamps with offset, and the
// orchestration fields switchyard adds. Every route answers this one shape (legacy-use's resolve
// leaked raw rows with lease columns).
import type { jobs } from "@switchyard/db";

type JobRow = typeof jobs.$inferSelect;

export function jobView(row: JobRow, now = new Date()) {
  const end = row.completedAt ?? now;
  return {
    id: row.id,
    target_id: row.targetId,
    session_id: null,
    api_name: row.apiName,
    api_definition_version_id: null,
    parameters: row.parameters,
    status: row.status,
    result: row.result ?? null,
    error: row.error,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
    started_at: row.startedAt ? iso(row.startedAt) : null,
    completed_at: row.completedAt ? iso(row.completedAt) : null,
    duration_seconds: Math.max(0, (end.getTime() - row.createdAt.getTime()) / 1000),
    total_input_tokens: row.totalInputTokens ?? 0,
    total_output_tokens: row.totalOutputTokens ?? 0,
    api_exchanges: [] as unknown[],
    attempt: row.attempt,
    hatchet_run_id: row.hatchetRunId,
    stop_requested: row.stopRequested,
    dispatch_error: row.dispatchError,
  };
}

export type JobView = ReturnType<typeof jobView>;

/** ISO 8601 with an explicit offset (UTC). */
export function iso(d: Date): string {
  return d.toISOString().replace("Z", "+00:00");
}
