// Scenario 4: cancelling a running job, in both delivery modes, alternating run by run. A `sleep`
// job runs; the client cancels it over HTTP and notes when the 200 arrives (the ack). The
// executor's abort is the job's completed_at, which the worker writes when the executor has
// stopped; "visible" is when a GET first shows `canceled`.
import { epochMs, MODES, type Stack, type Stacks, waitFor } from "../lib/stack.ts";
import { type Summary, sleep, summarize, wallMs } from "../lib/stats.ts";

export interface CancelParams {
  runs: number;
}

export interface CancelFigures {
  ackToAbort: Summary;
  ackToVisible: Summary;
  /** Cancel request sent → 200 received. */
  cancelCall: Summary;
  statuses: Record<string, number>;
}

export interface CancelResult {
  params: CancelParams & { sleepMs: number; getPollMs: number; order: string };
  relay: CancelFigures;
  direct: CancelFigures;
}

const SLEEP_MS = 60_000;
const GET_POLL_MS = 10;

interface Samples {
  abort: number[];
  visible: number[];
  call: number[];
  statuses: Record<string, number>;
}

/** One cancel: the job runs, a varying delay, the cancel, then its effects. */
async function cancelOnce(stack: Stack, targetId: string, i: number, into: Samples): Promise<void> {
  const created = await stack.api("POST", `/api/targets/${targetId}/jobs/`, {
    api_name: "sleep",
    parameters: { ms: SLEEP_MS },
  });
  if (created.status !== 200) throw new Error(`create answered ${created.status}`);
  const id = created.body.id as string;
  await waitFor(
    `the ${stack.delivery} sleep job to run`,
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
  into.statuses[r?.status ?? "missing"] = (into.statuses[r?.status ?? "missing"] ?? 0) + 1;
  into.abort.push((r?.completed ?? Number.NaN) - acked);
  into.visible.push(seen - acked);
  into.call.push(acked - sent);
}

export async function runCancel(stacks: Stacks, p: CancelParams, log: (m: string) => void): Promise<CancelResult> {
  const targets = {
    relay: await stacks.relay.targets(p.runs, "cancel"),
    direct: await stacks.direct.targets(p.runs, "cancel"),
  };
  const samples = {
    relay: { abort: [], visible: [], call: [], statuses: {} } as Samples,
    direct: { abort: [], visible: [], call: [], statuses: {} } as Samples,
  };
  for (let i = 0; i < p.runs; i++) {
    // Alternating which mode goes first, so neither always follows the other.
    const order = i % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) await cancelOnce(stacks[mode], targets[mode][i] ?? "", i, samples[mode]);
  }
  log(`  ${p.runs} cancels per mode done`);
  const figures = (s: Samples): CancelFigures => ({
    ackToAbort: summarize(s.abort),
    ackToVisible: summarize(s.visible),
    cancelCall: summarize(s.call),
    statuses: s.statuses,
  });
  return {
    params: {
      ...p,
      sleepMs: SLEEP_MS,
      getPollMs: GET_POLL_MS,
      order: "alternating run by run, relay first in even runs, direct first in odd ones",
    },
    relay: figures(samples.relay),
    direct: figures(samples.direct),
  };
}
