// Scenario 2: many jobs over many targets through the full path of one delivery mode (run once per
// mode, back to back), created over HTTP with a bounded number in flight. Measures sustained
// throughput and latency, and checks what the product promises per target: jobs start in creation
// order (seq), one at a time. A second, small part ("lanes") queues several jobs per target at
// once, so the next job is already waiting when one ends: that times the hand-off from a finished
// job to the next one of its target (handed over by the relay, or in direct mode by the worker
// after it has answered the engine).
import { engineTimes } from "../lib/engine-timing.ts";
import { epochMs, type Stack, waitsInterrupted } from "../lib/stack.ts";
import { mapLimit, round, type Summary, sleep, summarize, wallMs } from "../lib/stats.ts";

export interface ScaleParams {
  jobs: number;
  targets: number;
  inFlight: number;
  timeoutMs: number;
  lanes: number;
  jobsPerLane: number;
}

interface OrderCheck {
  ok: boolean;
  targetsChecked: number;
  outOfOrder: number;
  overlaps: number;
  missingAttempts: number;
  examples: string[];
}

export interface ScaleResult {
  params: ScaleParams;
  delivery: Stack["delivery"];
  completed: number;
  succeeded: number;
  /** Jobs per second from the first create sent to the last completion. */
  throughput: number;
  /** Creates per second over the create phase (first send → last answer). */
  createRate: number;
  wallSeconds: number;
  createAck: Summary;
  createToStart: Summary;
  createToDone: Summary;
  /** started_at → completed_at of each job (the worker's own time). */
  run: Summary;
  /** Where a create's time went under this load, for a sample of jobs (engine timestamps). */
  createParts: Record<string, Summary>;
  /** Served-request durations the API and worker processes logged: create handler and worker delivery (/deliver or /operator/run). */
  served: { apiCreate: Summary; workerDeliver: Summary };
  order: OrderCheck;
  /**
   * Lanes: per target, when the next job was already waiting, the previous attempt's finished_at →
   * the next attempt's started_at (the hand-over after a run, and the engine's turn-around).
   */
  handoff: Summary;
  /** The engine's view of those hand-offs (ms after the previous job's completed_at). */
  handoffEngine: Record<string, Summary>;
  lanesOrder: OrderCheck;
}

type Sent = Map<string, { sent: number; acked: number }>;

/** Where a create's time went; the same keys in both modes (the relay's dispatcher, or the API itself, claims the job). */
export const CREATE_PARTS = {
  claimed: "create sent → job claimed for the hand-over (dispatched_at)",
  inserted: "dispatched_at → engine task inserted (trigger)",
  answered: "engine task inserted → create answered (negative: the create answered first)",
};

/** The worker's route each mode delivers runs on. */
const DELIVERY_PATH = { relay: "/deliver", direct: "/operator/run" } as const;

interface JobRow {
  id: string;
  target: string;
  seq: string;
  status: string;
  run: string | null;
  dispatched: number | null;
  started: number | null;
  completed: number | null;
}

interface AttemptRow {
  job: string;
  target: string;
  started: number;
  finished: number | null;
}

async function createJobs(stack: Stack, plan: readonly string[], inFlight: number, deadline: number) {
  const sentAt: Sent = new Map();
  const first = wallMs();
  let failures = 0;
  let skipped = 0;
  await mapLimit(plan, inFlight, async (targetId, i) => {
    if (Date.now() > deadline) {
      skipped++;
      return;
    }
    const sent = wallMs();
    const r = await stack.api("POST", `/api/targets/${targetId}/jobs/`, { api_name: "echo", parameters: { i } });
    const acked = wallMs();
    if (r.status !== 200) {
      failures++;
      return;
    }
    sentAt.set(r.body.id as string, { sent, acked });
  });
  return { sentAt, first, createdAll: wallMs(), failures, skipped };
}

async function waitCompleted(stack: Stack, targets: readonly string[], count: number, deadline: number) {
  let done = 0;
  while (Date.now() < deadline) {
    const down = waitsInterrupted();
    if (down) throw down;
    const r = await stack.pool.query<{ n: string }>(
      "select count(*) as n from jobs where completed_at is not null and target_id = any($1::uuid[])",
      [targets],
    );
    done = Number(r.rows[0]?.n);
    if (done >= count) break;
    await sleep(250);
  }
  return done;
}

async function load(stack: Stack, targets: readonly string[]) {
  const jobs = await stack.pool.query<JobRow>(
    `select id, target_id as target, seq, status, hatchet_run_id as run,
        (${epochMs("dispatched_at")})::float8 as dispatched,
        (${epochMs("started_at")})::float8 as started, (${epochMs("completed_at")})::float8 as completed
      from jobs where target_id = any($1::uuid[])`,
    [targets],
  );
  const attempts = await stack.pool.query<AttemptRow>(
    `select job_id as job, target_id as target, (${epochMs("started_at")})::float8 as started,
        (${epochMs("finished_at")})::float8 as finished
      from job_attempts where target_id = any($1::uuid[]) order by target_id, started_at`,
    [targets],
  );
  return { jobs: jobs.rows, attempts: attempts.rows };
}

/** Per target: attempts in start order must follow seq and never overlap. Also collects hand-offs. */
function checkOrder(jobs: JobRow[], attempts: AttemptRow[], sentAt: Sent, expected: number) {
  const seqOf = new Map(jobs.map((j) => [j.id, Number(j.seq)]));
  const byTarget = new Map<string, AttemptRow[]>();
  for (const a of attempts) byTarget.set(a.target, [...(byTarget.get(a.target) ?? []), a]);
  let outOfOrder = 0;
  let overlaps = 0;
  const examples: string[] = [];
  const handoffs: number[] = [];
  const pairs: Array<{ prevJob: string; nextJob: string }> = [];
  const ackedOf = (job: string) => sentAt.get(job)?.acked ?? Number.POSITIVE_INFINITY;
  for (const [target, list] of byTarget) {
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const cur = list[i];
      if (!prev || !cur) continue;
      if ((seqOf.get(cur.job) ?? 0) < (seqOf.get(prev.job) ?? 0)) {
        outOfOrder++;
        if (examples.length < 5) {
          examples.push(`target ${target}: seq ${seqOf.get(cur.job)} started after seq ${seqOf.get(prev.job)}`);
        }
      }
      if (prev.finished === null || cur.started < prev.finished) {
        overlaps++;
        if (examples.length < 5) examples.push(`target ${target}: job ${cur.job} started before ${prev.job} finished`);
      } else if (ackedOf(cur.job) < prev.finished) {
        // Only hand-offs where the next job was already waiting time the hand-off itself.
        handoffs.push(cur.started - prev.finished);
        if (pairs.length < 100) pairs.push({ prevJob: prev.job, nextJob: cur.job });
      }
    }
  }
  const attempted = new Set(attempts.map((a) => a.job));
  const completed = jobs.filter((j) => j.completed !== null);
  const missingAttempts = completed.filter((j) => j.status === "success" && !attempted.has(j.id)).length;
  const order: OrderCheck = {
    ok: outOfOrder === 0 && overlaps === 0 && missingAttempts === 0 && completed.length === expected,
    targetsChecked: byTarget.size,
    outOfOrder,
    overlaps,
    missingAttempts,
    examples,
  };
  return { order, handoffs, pairs };
}

const summaries = (m: Record<string, number[]>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, summarize(v)]));

export async function runScale(stack: Stack, p: ScaleParams, log: (m: string) => void): Promise<ScaleResult> {
  // The main part: jobs spread round robin over the targets.
  const targets = await stack.targets(p.targets, "scale");
  const plan = Array.from({ length: p.jobs }, (_, i) => targets[i % targets.length] ?? "");
  const servedFrom = Date.now();
  const c = await createJobs(stack, plan, p.inFlight, Date.now() + p.timeoutMs);
  log(
    `  ${c.sentAt.size} jobs created in ${((c.createdAll - c.first) / 1000).toFixed(1)} s (${c.failures} refused, ${c.skipped} not sent in time)`,
  );
  const done = await waitCompleted(
    stack,
    targets,
    c.sentAt.size,
    Math.max(c.first + p.timeoutMs, c.createdAll + 30_000),
  );
  const servedTo = Date.now();
  log(`  ${done}/${c.sentAt.size} completed`);
  const { jobs, attempts } = await load(stack, targets);
  const completed = jobs.filter((j) => j.completed !== null);
  const lastDone = Math.max(...completed.map((j) => j.completed ?? 0));
  const timing = completed.flatMap((j) => {
    const s = c.sentAt.get(j.id);
    return s ? [{ ...s, started: j.started ?? Number.NaN, completed: j.completed ?? Number.NaN }] : [];
  });
  const { order } = checkOrder(jobs, attempts, c.sentAt, p.jobs);

  // Where creates spent their time: only jobs the create handed over itself (the target was idle).
  const createSample = jobs
    .filter((j) => {
      const s = c.sentAt.get(j.id);
      return s && j.dispatched !== null && j.dispatched <= s.acked;
    })
    .slice(0, 200);
  const createTimes = await engineTimes(
    stack.hatchetDbUrl,
    createSample.map((j) => j.run ?? ""),
  ).catch(() => undefined);
  const insertedOf = new Map(createTimes?.rows.map((r) => [r.runId, r.at.INSERTED ?? Number.NaN]) ?? []);
  const createParts: Record<string, number[]> = {
    [CREATE_PARTS.claimed]: [],
    [CREATE_PARTS.inserted]: [],
    [CREATE_PARTS.answered]: [],
  };
  for (const j of createSample) {
    const s = c.sentAt.get(j.id);
    const inserted = insertedOf.get(j.run ?? "") ?? Number.NaN;
    if (!s || j.dispatched === null) continue;
    createParts[CREATE_PARTS.claimed]?.push(j.dispatched - s.sent);
    createParts[CREATE_PARTS.inserted]?.push(inserted - j.dispatched);
    createParts[CREATE_PARTS.answered]?.push(s.acked - inserted);
  }
  const served = stack.app.requests.filter((r) => r.at >= servedFrom && r.at <= servedTo + 1000);

  // Lanes: every job of a target created back to back, so later ones wait for their turn.
  const laneTargets = await stack.targets(p.lanes, "lane");
  const lanePlan = laneTargets.flatMap((t) => Array.from({ length: p.jobsPerLane }, () => t));
  const lc = await createJobs(stack, lanePlan, p.inFlight, Date.now() + 60_000);
  await waitCompleted(stack, laneTargets, lc.sentAt.size, Date.now() + 60_000);
  const lanes = await load(stack, laneTargets);
  const laneCheck = checkOrder(lanes.jobs, lanes.attempts, lc.sentAt, lanePlan.length);
  log(`  lanes: ${laneCheck.handoffs.length} hand-offs with the next job waiting`);
  const runOf = new Map(lanes.jobs.map((j) => [j.id, j.run ?? ""]));
  const completedOf = new Map(lanes.jobs.map((j) => [j.id, j.completed ?? Number.NaN]));
  const startedOf = new Map(lanes.jobs.map((j) => [j.id, j.started ?? Number.NaN]));
  const handoffTimes = await engineTimes(
    stack.hatchetDbUrl,
    laneCheck.pairs.flatMap((x) => [runOf.get(x.prevJob) ?? "", runOf.get(x.nextJob) ?? ""]),
  ).catch(() => undefined);
  const handoffEngine: Record<string, number[]> = {
    "previous run: engine finished": [],
    "next run: engine task inserted (handed over)": [],
    "next run: queued (concurrency key evaluated)": [],
    "next run: assigned": [],
    "next run: job started_at (worker)": [],
  };
  const at = new Map(handoffTimes?.rows.map((r) => [r.runId, r.at]) ?? []);
  for (const x of laneCheck.pairs) {
    const base = completedOf.get(x.prevJob) ?? Number.NaN;
    const prev = at.get(runOf.get(x.prevJob) ?? "") ?? {};
    const next = at.get(runOf.get(x.nextJob) ?? "") ?? {};
    const rel = (v: number | undefined) => (v === undefined ? Number.NaN : v - base);
    handoffEngine["previous run: engine finished"]?.push(rel(prev.FINISHED));
    handoffEngine["next run: engine task inserted (handed over)"]?.push(rel(next.INSERTED));
    handoffEngine["next run: queued (concurrency key evaluated)"]?.push(rel(next.QUEUED));
    handoffEngine["next run: assigned"]?.push(rel(next.ASSIGNED));
    handoffEngine["next run: job started_at (worker)"]?.push(rel(startedOf.get(x.nextJob)));
  }

  return {
    params: p,
    delivery: stack.delivery,
    completed: completed.length,
    succeeded: jobs.filter((j) => j.status === "success").length,
    throughput: round(completed.length / ((lastDone - c.first) / 1000)),
    createRate: round(c.sentAt.size / ((c.createdAll - c.first) / 1000)),
    wallSeconds: round((lastDone - c.first) / 1000),
    createAck: summarize(timing.map((t) => t.acked - t.sent)),
    createToStart: summarize(timing.map((t) => t.started - t.sent)),
    createToDone: summarize(timing.map((t) => t.completed - t.sent)),
    run: summarize(timing.map((t) => t.completed - t.started)),
    createParts: summaries(createParts),
    served: {
      apiCreate: summarize(
        served.filter((r) => r.role === "api" && r.method === "POST" && r.path.endsWith("/jobs/")).map((r) => r.ms),
      ),
      workerDeliver: summarize(
        served.filter((r) => r.role === "worker" && r.path === DELIVERY_PATH[stack.delivery]).map((r) => r.ms),
      ),
    },
    order,
    handoff: summarize(laneCheck.handoffs),
    handoffEngine: summaries(handoffEngine),
    lanesOrder: laneCheck.order,
  };
}
