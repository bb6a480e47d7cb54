// Scenario 1: the same no-op `echo` job through switchyard's full path (HTTP create → API →
// Postgres, NOTIFY → relay's dispatcher → Hatchet → relay → signed POST → worker → Postgres) and through a plain Hatchet SDK
// worker on the same engine, in alternating rounds so drift in the machine's load hits both alike.
import { randomUUID } from "node:crypto";
import { engineTimes } from "../lib/engine-timing.ts";
import type { NativeWorker } from "../lib/native.ts";
import { epochMs, type Stack, waitFor } from "../lib/stack.ts";
import { median, round, type Summary, sleep, summarize, wallMs } from "../lib/stats.ts";

export interface PathsParams {
  rounds: number;
  burst: number;
  sequentialPerRound: number;
}

interface JobTiming {
  /** The client's send time (wall clock). */
  sent: number;
  /** The create answered: the API's 200, or the SDK trigger call returning. */
  acked: number;
  start: number;
  done: number;
  runId: string;
  /** Relay path: when the API handed the job to Hatchet (dispatched_at). */
  dispatched?: number;
  /** Native path: when the task function returned (the analogue of completed_at). */
  fnEnd?: number;
}

interface Breakdown {
  relay: Record<string, Summary>;
  native: Record<string, Summary>;
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

export interface PathsResult {
  params: PathsParams & { targets: number; order: string };
  relay: PathSummary;
  native: PathSummary;
  ratios: { latencyP50: number; latencyP50Sequential: number; throughput: number };
  /** Where the time goes, per segment: for the one-at-a-time jobs, and for the last burst of each path. */
  breakdown: { oneAtATime: Breakdown; burst: Breakdown };
}

export async function runPaths(
  stack: Stack,
  native: NativeWorker,
  p: PathsParams,
  log: (m: string) => void,
): Promise<PathsResult> {
  const targets = await stack.targets(p.burst, "paths");
  const relay = new RelayPath(stack);
  const nat = new NativePath(stack, native);

  // Warm-up, not recorded: JIT, connections, the engine's concurrency keys for these targets.
  await relay.burst(targets);
  await nat.burst(targets);

  const rounds: Record<"relay" | "native", PathRound[]> = { relay: [], native: [] };
  const sequential: Record<"relay" | "native", JobTiming[]> = { relay: [], native: [] };
  for (let r = 0; r < p.rounds; r++) {
    const order = r % 2 === 0 ? (["relay", "native"] as const) : (["native", "relay"] as const);
    for (const path of order) {
      await sleep(250);
      const jobs = path === "relay" ? await relay.burst(targets) : await nat.burst(targets);
      const span = Math.max(...jobs.map((j) => j.done)) - Math.min(...jobs.map((j) => j.sent));
      rounds[path].push({ jobs, throughput: round(jobs.length / (span / 1000)) });
    }
    for (const path of order) {
      await sleep(250);
      for (let i = 0; i < p.sequentialPerRound; i++) {
        const t = targets[i % targets.length] ?? "";
        sequential[path].push(path === "relay" ? await relay.one(t) : await nat.one(t));
      }
    }
    const last = (path: "relay" | "native") => rounds[path][rounds[path].length - 1]?.throughput;
    log(`  round ${r + 1}/${p.rounds}: relay ${last("relay")} jobs/s, native ${last("native")} jobs/s`);
  }

  const summary = (path: "relay" | "native"): PathSummary => {
    const all = rounds[path].flatMap((x) => x.jobs);
    const perRound = rounds[path].map((x) => x.throughput);
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
        createToStart: summarize(sequential[path].map((j) => j.start - j.sent)),
        createToDone: summarize(sequential[path].map((j) => j.done - j.sent)),
      },
    };
  };
  const relaySummary = summary("relay");
  const nativeSummary = summary("native");

  // Where the time goes: the engine's own timestamps for the sequential jobs and the last burst.
  const lastBurst = (path: "relay" | "native") => rounds[path][rounds[path].length - 1]?.jobs ?? [];
  const breakdown = {
    oneAtATime: await breakdownOf(stack, sequential.relay, sequential.native),
    burst: await breakdownOf(stack, lastBurst("relay"), lastBurst("native")),
  };

  return {
    params: { ...p, targets: targets.length, order: "alternating, relay first in odd rounds" },
    relay: relaySummary,
    native: nativeSummary,
    ratios: {
      latencyP50: round(relaySummary.burst.createToDone.p50 / nativeSummary.burst.createToDone.p50),
      latencyP50Sequential: round(relaySummary.sequential.createToDone.p50 / nativeSummary.sequential.createToDone.p50),
      throughput: round(relaySummary.burst.throughputMedian / nativeSummary.burst.throughputMedian),
    },
    breakdown,
  };
}

class RelayPath {
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
      "relay jobs to complete",
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
      if (row?.status !== "success") throw new Error(`job ${c.id} ended ${row?.status}`);
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

class NativePath {
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

async function breakdownOf(stack: Stack, relay: JobTiming[], native: JobTiming[]): Promise<Breakdown> {
  // The engine writes its OLAP events asynchronously: give it a moment.
  await sleep(1500);
  const r = await engineTimes(
    stack.hatchetDbUrl,
    relay.map((j) => j.runId),
  );
  const n = await engineTimes(
    stack.hatchetDbUrl,
    native.map((j) => j.runId),
  );
  const segs = (
    jobs: JobTiming[],
    times: typeof r.rows,
    parts: Array<[string, (j: JobTiming, at: Record<string, number>) => number]>,
  ) => {
    const out: Record<string, Summary> = {};
    for (const [name, f] of parts) {
      out[name] = summarize(
        jobs.map((j, i) => {
          const at = times[i]?.at ?? {};
          return f(j, at);
        }),
      );
    }
    return out;
  };
  const ev = (name: string) => (at: Record<string, number>) => at[name] ?? Number.NaN;
  const inserted = ev("INSERTED");
  const queued = ev("QUEUED");
  const assigned = ev("ASSIGNED");
  const started = ev("STARTED");
  const finished = ev("FINISHED");
  const hatchetParts: Array<[string, (j: JobTiming, at: Record<string, number>) => number]> = [
    ["engine: task inserted → queued (concurrency key evaluated)", (_j, at) => queued(at) - inserted(at)],
    ["engine: queued → assigned to a worker slot", (_j, at) => assigned(at) - queued(at)],
    ["engine: assigned → worker reports started", (_j, at) => started(at) - assigned(at)],
  ];
  return {
    relay: segs(relay, r.rows, [
      ["client: API create answered (HTTP round trip)", (j) => j.acked - j.sent],
      ["create sent → relay's dispatcher claims it (dispatched_at)", (j) => (j.dispatched ?? 0) - j.sent],
      ["relay: dispatched_at → engine task inserted (bulk trigger)", (j, at) => inserted(at) - (j.dispatched ?? 0)],
      ...hatchetParts,
      ["relay: started → job started_at (lookups, signed POST, worker begins)", (j, at) => j.start - started(at)],
      ["worker: started_at → completed_at (executor and final writes)", (j) => j.done - j.start],
      ["relay: completed_at → engine finished (answer, dispatch next, report)", (j, at) => finished(at) - j.done],
    ]),
    native: segs(native, n.rows, [
      ["client: trigger call returned (gRPC)", (j) => j.acked - j.sent],
      ["client: send → engine task inserted", (j, at) => inserted(at) - j.sent],
      ...hatchetParts,
      ["worker: started → task function begins", (j, at) => j.start - started(at)],
      ["worker: task function runs", (j) => (j.fnEnd ?? 0) - j.start],
      ["worker: function returned → engine finished", (j, at) => finished(at) - (j.fnEnd ?? 0)],
      ["client: function returned → output resolved", (j) => j.done - (j.fnEnd ?? 0)],
    ]),
    sampleRuns: relay.length + native.length,
    errors: r.errors + n.errors,
  };
}
