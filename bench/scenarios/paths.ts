// Scenario 1: the same no-op `echo` job down three paths on the same engine, in rounds whose order
// rotates so drift in the machine's load hits every path alike:
// - direct: HTTP create → API → Postgres (commit), then the API hands the job to Hatchet (REST
//   trigger) and answers → the engine's HTTP operator → signed POST → worker → Postgres;
// - relay: HTTP create → API → Postgres (commit, NOTIFY) → relay's dispatcher → Hatchet (bulk
//   trigger) → relay → signed POST → worker → Postgres;
// - native: a plain Hatchet SDK worker in this process.
import { randomUUID } from "node:crypto";
import { engineTimes } from "../lib/engine-timing.ts";
import type { NativeWorker } from "../lib/native.ts";
import { epochMs, type Stack, type Stacks, waitFor } from "../lib/stack.ts";
import { median, round, type Summary, sleep, summarize, wallMs } from "../lib/stats.ts";

export interface PathsParams {
  rounds: number;
  burst: number;
  sequentialPerRound: number;
}

export const PATHS = ["direct", "relay", "native"] as const;
export type PathName = (typeof PATHS)[number];

interface JobTiming {
  /** The client's send time (wall clock). */
  sent: number;
  /** The create answered: the API's 200, or the SDK trigger call returning. */
  acked: number;
  start: number;
  done: number;
  runId: string;
  /** switchyard's paths: when the job was claimed for the hand-over to Hatchet (dispatched_at). */
  dispatched?: number;
  /** Native path: when the task function returned (the analogue of completed_at). */
  fnEnd?: number;
}

interface Breakdown {
  paths: Record<PathName, Record<string, Summary>>;
  sampleRuns: number;
  errors: number;
}

interface PathRound {
  jobs: JobTiming[];
  throughput: number;
}

export interface PathSummary {
  burst: {
    createToStart: Summary;
    createToDone: Summary;
    createAck: Summary;
    /** Native only: create → the task function returned (no result hand-back). */
    createToFnEnd?: Summary;
    throughputPerRound: number[];
    throughputMedian: number;
  };
  sequential: { createToStart: Summary; createToDone: Summary };
}

interface Ratios {
  latencyP50: number;
  latencyP50Sequential: number;
  throughput: number;
}

export interface PathsResult {
  params: PathsParams & { targets: number; order: string; orders: string[] };
  direct: PathSummary;
  relay: PathSummary;
  native: PathSummary;
  /** Each of switchyard's paths against the native one, and direct against relay. */
  ratios: { relay: Ratios; direct: Ratios; directToRelay: Ratios };
  /** Where the time goes, per segment: for the one-at-a-time jobs, and for the last burst of each path. */
  breakdown: { oneAtATime: Breakdown; burst: Breakdown };
}

/** The order of the paths in round r: rotated by one each round, so each path takes each place equally often. */
export const roundOrder = (r: number): PathName[] => PATHS.map((_, i) => PATHS[(i + r) % PATHS.length] as PathName);

interface Path {
  burst(targets: readonly string[]): Promise<JobTiming[]>;
  one(targetId: string): Promise<JobTiming>;
}

export async function runPaths(
  stacks: Stacks,
  native: NativeWorker,
  p: PathsParams,
  log: (m: string) => void,
): Promise<PathsResult> {
  // Each deployment has its own database, so its own targets; the native path uses the relay's ids.
  const targetsOf = {
    direct: await stacks.direct.targets(p.burst, "paths"),
    relay: await stacks.relay.targets(p.burst, "paths"),
  };
  const paths: Record<PathName, { path: Path; targets: string[] }> = {
    direct: { path: new SwitchyardPath(stacks.direct), targets: targetsOf.direct },
    relay: { path: new SwitchyardPath(stacks.relay), targets: targetsOf.relay },
    native: { path: new NativePath(stacks.relay, native), targets: targetsOf.relay },
  };

  // Warm-up, not recorded: JIT, connections, the engine's concurrency keys for these targets.
  for (const name of PATHS) await paths[name].path.burst(paths[name].targets);

  const rounds = { direct: [], relay: [], native: [] } as Record<PathName, PathRound[]>;
  const sequential = { direct: [], relay: [], native: [] } as Record<PathName, JobTiming[]>;
  const orders: string[] = [];
  for (let r = 0; r < p.rounds; r++) {
    const order = roundOrder(r);
    orders.push(order.join(", "));
    for (const name of order) {
      await sleep(250);
      const jobs = await paths[name].path.burst(paths[name].targets);
      const span = Math.max(...jobs.map((j) => j.done)) - Math.min(...jobs.map((j) => j.sent));
      rounds[name].push({ jobs, throughput: round(jobs.length / (span / 1000)) });
    }
    for (const name of order) {
      await sleep(250);
      for (let i = 0; i < p.sequentialPerRound; i++) {
        const { path, targets } = paths[name];
        sequential[name].push(await path.one(targets[i % targets.length] ?? ""));
      }
    }
    const last = (name: PathName) => rounds[name][rounds[name].length - 1]?.throughput;
    log(
      `  round ${r + 1}/${p.rounds} (${order.join(", ")}): ${PATHS.map((name) => `${name} ${last(name)}`).join(", ")} jobs/s`,
    );
  }

  const summary = (name: PathName): PathSummary => {
    const all = rounds[name].flatMap((x) => x.jobs);
    const perRound = rounds[name].map((x) => x.throughput);
    const fnEnds = all.filter((j) => j.fnEnd !== undefined);
    return {
      burst: {
        createToStart: summarize(all.map((j) => j.start - j.sent)),
        createToDone: summarize(all.map((j) => j.done - j.sent)),
        createAck: summarize(all.map((j) => j.acked - j.sent)),
        ...(fnEnds.length > 0 ? { createToFnEnd: summarize(fnEnds.map((j) => (j.fnEnd ?? 0) - j.sent)) } : {}),
        throughputPerRound: perRound,
        throughputMedian: round(median(perRound)),
      },
      sequential: {
        createToStart: summarize(sequential[name].map((j) => j.start - j.sent)),
        createToDone: summarize(sequential[name].map((j) => j.done - j.sent)),
      },
    };
  };
  const s = { direct: summary("direct"), relay: summary("relay"), native: summary("native") };
  const ratios = (a: PathSummary, b: PathSummary): Ratios => ({
    latencyP50: round(a.burst.createToDone.p50 / b.burst.createToDone.p50),
    latencyP50Sequential: round(a.sequential.createToDone.p50 / b.sequential.createToDone.p50),
    throughput: round(a.burst.throughputMedian / b.burst.throughputMedian),
  });

  // Where the time goes: the engine's own timestamps for the sequential jobs and the last burst.
  const lastBurst = (name: PathName) => rounds[name][rounds[name].length - 1]?.jobs ?? [];
  const breakdown = {
    oneAtATime: await breakdownOf(stacks, sequential),
    burst: await breakdownOf(stacks, {
      direct: lastBurst("direct"),
      relay: lastBurst("relay"),
      native: lastBurst("native"),
    }),
  };

  return {
    params: {
      ...p,
      targets: p.burst,
      order:
        "rotating: each round starts with the next path (direct, relay, native; then relay, native, direct; …), bursts first, then the one-at-a-time jobs in the same order",
      orders,
    },
    ...s,
    ratios: {
      relay: ratios(s.relay, s.native),
      direct: ratios(s.direct, s.native),
      directToRelay: ratios(s.direct, s.relay),
    },
    breakdown,
  };
}

/** A deployment of switchyard, either mode: create over HTTP, times from the job's row. */
class SwitchyardPath implements Path {
  constructor(private readonly stack: Stack) {}

  private async create(targetId: string, i: number) {
    const sent = wallMs();
    const r = await this.stack.api("POST", `/api/targets/${targetId}/jobs/`, { api_name: "echo", parameters: { i } });
    const acked = wallMs();
    if (r.status !== 200) throw new Error(`create answered ${r.status}: ${JSON.stringify(r.body)}`);
    return { id: r.body.id as string, sent, acked };
  }

  async burst(targets: readonly string[]): Promise<JobTiming[]> {
    const created = await Promise.all(targets.map((t, i) => this.create(t, i)));
    return this.collect(created, 30_000, 25);
  }

  async one(targetId: string): Promise<JobTiming> {
    const created = await this.create(targetId, 0);
    const [timing] = await this.collect([created], 10_000, 5);
    if (!timing) throw new Error("no timing");
    return timing;
  }

  private async collect(created: Array<{ id: string; sent: number; acked: number }>, timeoutMs: number, every: number) {
    const ids = created.map((c) => c.id);
    await waitFor(
      `${this.stack.delivery} jobs to complete`,
      async () => {
        const r = await this.stack.pool.query<{ n: string }>(
          "select count(*) as n from jobs where id = any($1::uuid[]) and completed_at is not null",
          [ids],
        );
        return Number(r.rows[0]?.n) === ids.length ? true : undefined;
      },
      { timeoutMs, intervalMs: every },
    );
    const rows = await this.stack.pool.query<{
      id: string;
      status: string;
      run: string;
      dispatched: number;
      started: number;
      completed: number;
    }>(
      `select id, status, hatchet_run_id as run,
        (${epochMs("dispatched_at")})::float8 as dispatched,
        (${epochMs("started_at")})::float8 as started,
        (${epochMs("completed_at")})::float8 as completed
       from jobs where id = any($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.rows.map((r) => [r.id, r]));
    return created.map((c) => {
      const row = byId.get(c.id);
      if (row?.status !== "success") throw new Error(`${this.stack.delivery} job ${c.id} ended ${row?.status}`);
      return {
        sent: c.sent,
        acked: c.acked,
        dispatched: row.dispatched,
        start: row.started,
        done: row.completed,
        runId: row.run,
      };
    });
  }
}

class NativePath implements Path {
  constructor(
    private readonly stack: Stack,
    private readonly native: NativeWorker,
  ) {}

  /** Wall clock of a performance.now() mark (the engine's timestamps are wall clock). */
  private wall = (mark: number) => performance.timeOrigin + mark;

  private async run(targetId: string, i: number): Promise<JobTiming> {
    const jobId = randomUUID();
    const sent = performance.now();
    const ref = await this.native.task.runNoWait({
      jobId,
      tenantId: this.stack.tenant.id,
      targetId,
      apiName: "echo",
      parameters: { i },
    });
    const acked = performance.now();
    await ref.output;
    const done = performance.now();
    const mark = this.native.marks.get(jobId);
    if (!mark) throw new Error(`native run ${jobId} left no mark`);
    this.native.marks.delete(jobId);
    return {
      sent: this.wall(sent),
      acked: this.wall(acked),
      start: this.wall(mark.start),
      fnEnd: this.wall(mark.end),
      done: this.wall(done),
      runId: await ref.runId,
    };
  }

  burst(targets: readonly string[]): Promise<JobTiming[]> {
    return withTimeout(Promise.all(targets.map((t, i) => this.run(t, i))), 30_000, "native burst");
  }

  one(targetId: string): Promise<JobTiming> {
    return withTimeout(this.run(targetId, 0), 10_000, "native run");
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

type Part = [string, (j: JobTiming, at: Record<string, number>) => number];

const ev = (name: string) => (at: Record<string, number>) => at[name] ?? Number.NaN;
const inserted = ev("INSERTED");
const queued = ev("QUEUED");
const assigned = ev("ASSIGNED");
const started = ev("STARTED");
const finished = ev("FINISHED");
const hatchetParts: Part[] = [
  ["engine: task inserted → queued (concurrency key evaluated)", (_j, at) => queued(at) - inserted(at)],
  ["engine: queued → assigned to a worker slot", (_j, at) => assigned(at) - queued(at)],
];

/** The segments of each path, in the order they follow each other (client rows run alongside). */
const PARTS: Record<PathName, Part[]> = {
  direct: [
    ["client: API create answered (HTTP round trip, the trigger included)", (j) => j.acked - j.sent],
    ["create sent → the API claims it for the hand-over (dispatched_at)", (j) => (j.dispatched ?? 0) - j.sent],
    ["API: dispatched_at → engine task inserted (REST trigger)", (j, at) => inserted(at) - (j.dispatched ?? 0)],
    ...hatchetParts,
    ["engine: assigned → operator reports started", (_j, at) => started(at) - assigned(at)],
    ["operator: started → job started_at (signed POST, worker begins)", (j, at) => j.start - started(at)],
    ["worker: started_at → completed_at (executor and final writes)", (j) => j.done - j.start],
    ["worker: completed_at → engine finished (answer, operator reports)", (j, at) => finished(at) - j.done],
  ],
  relay: [
    ["client: API create answered (HTTP round trip)", (j) => j.acked - j.sent],
    ["create sent → relay's dispatcher claims it (dispatched_at)", (j) => (j.dispatched ?? 0) - j.sent],
    ["relay: dispatched_at → engine task inserted (bulk trigger)", (j, at) => inserted(at) - (j.dispatched ?? 0)],
    ...hatchetParts,
    ["engine: assigned → worker reports started", (_j, at) => started(at) - assigned(at)],
    ["relay: started → job started_at (lookups, signed POST, worker begins)", (j, at) => j.start - started(at)],
    ["worker: started_at → completed_at (executor and final writes)", (j) => j.done - j.start],
    ["relay: completed_at → engine finished (answer, dispatch next, report)", (j, at) => finished(at) - j.done],
  ],
  native: [
    ["client: trigger call returned (gRPC)", (j) => j.acked - j.sent],
    ["client: send → engine task inserted", (j, at) => inserted(at) - j.sent],
    ...hatchetParts,
    ["engine: assigned → worker reports started", (_j, at) => started(at) - assigned(at)],
    ["worker: started → task function begins", (j, at) => j.start - started(at)],
    ["worker: task function runs", (j) => (j.fnEnd ?? 0) - j.start],
    ["worker: function returned → engine finished", (j, at) => finished(at) - (j.fnEnd ?? 0)],
    ["client: function returned → output resolved", (j) => j.done - (j.fnEnd ?? 0)],
  ],
};

async function breakdownOf(stacks: Stacks, jobs: Record<PathName, JobTiming[]>): Promise<Breakdown> {
  // The engine writes its OLAP events asynchronously: give it a moment.
  await sleep(1500);
  const out = {} as Breakdown["paths"];
  let errors = 0;
  for (const name of PATHS) {
    const list = jobs[name];
    const times = await engineTimes(
      stacks.engine.hatchetDbUrl,
      list.map((j) => j.runId),
    );
    errors += times.errors;
    out[name] = Object.fromEntries(
      PARTS[name].map(([label, f]) => [label, summarize(list.map((j, i) => f(j, times.rows[i]?.at ?? {})))]),
    );
  }
  return { paths: out, sampleRuns: PATHS.reduce((n, name) => n + jobs[name].length, 0), errors };
}
