// Scenario 4: cancelling a running job. A `sleep` job runs; the client cancels it over HTTP and
// notes when the 200 arrives (the ack). The executor's abort is the job's completed_at, which the
// worker writes when the executor has stopped; "visible" is when a GET first shows `canceled`.
import { epochMs, type Stack, waitFor } from "../lib/stack.ts";
import { type Summary, sleep, summarize, wallMs } from "../lib/stats.ts";

export interface CancelParams {
  runs: number;
}

export interface CancelResult {
  params: CancelParams & { sleepMs: number; getPollMs: number };
  ackToAbort: Summary;
  ackToVisible: Summary;
  /** Cancel request sent → 200 received. */
  cancelCall: Summary;
  statuses: Record<string, number>;
}

const SLEEP_MS = 60_000;
const GET_POLL_MS = 10;

export async function runCancel(stack: Stack, p: CancelParams, log: (m: string) => void): Promise<CancelResult> {
  const targets = await stack.targets(p.runs, "cancel");
  const abort: number[] = [];
  const visible: number[] = [];
  const call: number[] = [];
  const statuses: Record<string, number> = {};
  for (const [i, targetId] of targets.entries()) {
    const created = await stack.api("POST", `/api/targets/${targetId}/jobs/`, {
      api_name: "sleep",
      parameters: { ms: SLEEP_MS },
    });
    if (created.status !== 200) throw new Error(`create answered ${created.status}`);
    const id = created.body.id as string;
    await waitFor(
      "the sleep job to run",
      async () => {
        const r = await stack.pool.query<{ status: string }>("select status from jobs where id = $1", [id]);
        return r.rows[0]?.status === "running" ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 5 },
    );
    // A varying delay so the cancel lands at different points of the worker's stop poll.
    await sleep(50 + ((i * 37) % 250));
    const sent = wallMs();
    const res = await stack.api("POST", `/api/targets/${targetId}/jobs/${id}/cancel/`);
    const acked = wallMs();
    if (res.status !== 200) throw new Error(`cancel answered ${res.status}: ${JSON.stringify(res.body)}`);
    const seen = await waitFor(
      "the job to show canceled",
      async () => {
        const r = await stack.api("GET", `/api/targets/${targetId}/jobs/${id}`);
        return r.body?.status === "canceled" ? wallMs() : undefined;
      },
      { timeoutMs: 10_000, intervalMs: GET_POLL_MS },
    );
    const row = await stack.pool.query<{ status: string; completed: number }>(
      `select status, (${epochMs("completed_at")})::float8 as completed from jobs where id = $1`,
      [id],
    );
    const r = row.rows[0];
    statuses[r?.status ?? "missing"] = (statuses[r?.status ?? "missing"] ?? 0) + 1;
    abort.push((r?.completed ?? Number.NaN) - acked);
    visible.push(seen - acked);
    call.push(acked - sent);
  }
  log(`  ${p.runs} cancels done`);
  return {
    params: { ...p, sleepMs: SLEEP_MS, getPollMs: GET_POLL_MS },
    ackToAbort: summarize(abort),
    ackToVisible: summarize(visible),
    cancelCall: summarize(call),
    statuses,
  };
}
