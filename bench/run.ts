// `npm run bench`: switchyard's benchmark suite, every scenario side by side in one run.
//
//   1. relay path vs native Hatchet path, alternating rounds (latency, throughput, where time goes)
//   2. scale: many jobs over many targets, sustained jobs/s and per-target order; then the same
//      load down the native path, the engine's own ceiling on this machine
//   3. API handlers called in process, warm
//   4. cancel of a running job: ack → executor aborted
//   5. function bundles: size and cold module initialisation
//
// It starts what it needs (Postgres databases, a private Hatchet engine on free ports, the
// product's processes), all on 127.0.0.1, and stops and drops all of it at the end, on failure
// and on Ctrl-C. Writes bench/results.json, docs/benchmarks.md (between the result markers) and
// bench/chart.svg. BENCH_QUICK=1 runs every scenario small, to try changes to the suite;
// BENCH_ONLY=scale,cancel (scenario keys as in results.json) runs only those and writes its
// results to the temp folder instead of the published files. BENCH_SINGLE_PROCESS=1 and
// BENCH_PROFILE_DIR: see bench/lib/stack.ts.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, release, tmpdir, totalmem, type } from "node:os";
import { join } from "node:path";
import { version as esbuildVersion } from "esbuild";
import { HATCHET_VERSION } from "../dev/hatchet.ts";
import { type CpuGroups, cpuSnapshot, cpuUse } from "./lib/cpu.ts";
import { startNativeWorker } from "./lib/native.ts";
import { chartRows, chartSvg, type Goal, markdown, writeDocs } from "./lib/report.ts";
import { Cleanups, ROOT, type Stack, startStack } from "./lib/stack.ts";
import { round, sleep } from "./lib/stats.ts";
import { runCancel } from "./scenarios/cancel.ts";
import { runFunctions } from "./scenarios/functions.ts";
import { runHandlers } from "./scenarios/handlers.ts";
import { runPaths } from "./scenarios/paths.ts";
import { runScale } from "./scenarios/scale.ts";
import { runScaleNative } from "./scenarios/scale-native.ts";

const QUICK = process.env.BENCH_QUICK === "1";

export const PARAMS = {
  quick: QUICK,
  /** DATABASE_POOL_MAX of each product process, as `npm run dev` sets it (BENCH_POOL_MAX overrides). */
  productPoolMax: Number(process.env.BENCH_POOL_MAX ?? 10),
  /** Seconds the stack sits idle before the scenarios, to measure what it costs doing nothing. */
  idleSeconds: 5,
  /** Slots of the native SDK worker; the relay keeps its default (100). */
  nativeSlots: 100,
  paths: QUICK ? { rounds: 2, burst: 20, sequentialPerRound: 3 } : { rounds: 5, burst: 40, sequentialPerRound: 8 },
  scale: QUICK
    ? { jobs: 200, targets: 20, inFlight: 20, timeoutMs: 60_000, lanes: 4, jobsPerLane: 5 }
    : { jobs: 2000, targets: 200, inFlight: 20, timeoutMs: 240_000, lanes: 10, jobsPerLane: 10 },
  handlers: QUICK ? { warmup: 10, calls: 50 } : { warmup: 50, calls: 500 },
  cancel: { runs: QUICK ? 5 : 20 },
  functions: { initRuns: QUICK ? 2 : 5 },
  /** Scenarios that might not finish within this budget are skipped; a hard stop (with cleanup) follows 15 s later. */
  budgetMs: 9.5 * 60_000,
};

const GOALS = {
  latencyRatioP50: 1.25,
  throughputRatio: 0.8,
  scaleJobsPerSecond: 100,
  createP99Ms: 25,
  cancelP99Ms: 1000,
  apiBundleBytes: 1_000_000,
  coldInitMs: 150,
};

const log = (m: string) => console.error(`[bench] ${m}`);
const OUT_JSON = join(ROOT, "bench", "results.json");
const OUT_SVG = join(ROOT, "bench", "chart.svg");
const OUT_MD = join(ROOT, "docs", "benchmarks.md");

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string })
      .version;
  } catch {
    return "unknown";
  }
}

// biome-ignore lint/suspicious/noExplicitAny: scenario results are plain JSON of several shapes.
type ScenarioResult = Record<string, any>;

const runStarted = Date.now();
const ONLY = process.env.BENCH_ONLY?.split(",").map((x) => x.trim());

async function measured<T extends object>(
  key: string,
  name: string,
  groups: () => CpuGroups,
  fn: () => Promise<T>,
  /** The most this scenario may take; it is skipped when the run's budget has less left. */
  worstSeconds = 0,
): Promise<ScenarioResult> {
  if (ONLY && !ONLY.includes(key)) return { error: "not run (BENCH_ONLY)" };
  const left = (PARAMS.budgetMs - (Date.now() - runStarted)) / 1000;
  if (worstSeconds > left) {
    log(`scenario ${name} skipped: ${Math.round(left)} s of the time budget left, it may need ${worstSeconds} s`);
    return { error: `skipped: ${Math.round(left)} s of the time budget left` };
  }
  log(`scenario ${name}`);
  const started = Date.now();
  const before = await cpuSnapshot(groups());
  try {
    const result = await fn();
    const cpu = cpuUse(before, await cpuSnapshot(groups()));
    log(`  ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { ...result, ...(cpu ? { cpu } : {}) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(`  ${name} FAILED: ${message}`);
    return { error: message };
  }
}

function goals(s: Record<string, ScenarioResult>): Goal[] {
  const out: Goal[] = [];
  const p = s.relayVsNative;
  const failed = (name: string) => `failed: ${s[name]?.error ?? "not run"}`;
  if (p?.ratios) {
    out.push({
      goal: `relay/native latency p50 ratio ≤ ${GOALS.latencyRatioP50} (burst, create → done)`,
      measured: `${p.ratios.latencyP50} (relay ${p.relay.burst.createToDone.p50} ms, native ${p.native.burst.createToDone.p50} ms)`,
      met: p.ratios.latencyP50 <= GOALS.latencyRatioP50,
    });
    out.push({
      goal: `relay/native throughput ratio ≥ ${GOALS.throughputRatio}`,
      measured: `${p.ratios.throughput} (relay ${p.relay.burst.throughputMedian} jobs/s, native ${p.native.burst.throughputMedian} jobs/s)`,
      met: p.ratios.throughput >= GOALS.throughputRatio,
    });
  } else {
    out.push({ goal: "relay vs native", measured: failed("relayVsNative"), met: false });
  }
  const sc = s.scale;
  const scn = s.scaleNative;
  if (sc?.throughput !== undefined) {
    const nativeNote =
      scn?.throughput === undefined
        ? ""
        : `; the same load down the native path: ${scn.throughput} jobs/s (relay/native ${round(sc.throughput / scn.throughput)})`;
    out.push({
      goal: `scale: ≥ ${GOALS.scaleJobsPerSecond} jobs/s sustained (${sc.params.jobs} jobs, ${sc.params.targets} targets)`,
      measured: `${sc.throughput} jobs/s (${sc.completed}/${sc.params.jobs} completed in ${sc.wallSeconds} s)${nativeNote}`,
      met: sc.throughput >= GOALS.scaleJobsPerSecond && sc.completed === sc.params.jobs,
    });
    const orderText = (o: typeof sc.order) =>
      o.ok
        ? `held on ${o.targetsChecked} targets`
        : `${o.outOfOrder} out of order, ${o.overlaps} overlaps, ${o.missingAttempts} missing`;
    out.push({
      goal: "scale: per-target order held (start order = seq, no overlap), lanes included",
      measured: `${orderText(sc.order)}; lanes: ${sc.lanesOrder ? orderText(sc.lanesOrder) : "not run"}`,
      met: sc.order.ok && sc.lanesOrder?.ok === true,
    });
  } else {
    out.push({ goal: "scale", measured: failed("scale"), met: false });
  }
  const h = s.apiHandlers;
  if (h?.create) {
    out.push({
      goal: `API create handler p99 ≤ ${GOALS.createP99Ms} ms (in process, warm, nothing running)`,
      measured: `${h.create.p99} ms (p50 ${h.create.p50} ms)${h.createLive ? `; while the relay runs each job: p99 ${h.createLive.p99} ms (p50 ${h.createLive.p50} ms)` : ""}`,
      met: h.create.p99 <= GOALS.createP99Ms,
    });
  } else {
    out.push({ goal: "API handlers", measured: failed("apiHandlers"), met: false });
  }
  const c = s.cancel;
  if (c?.ackToAbort) {
    out.push({
      goal: `cancel: ack → executor aborted p99 ≤ ${GOALS.cancelP99Ms} ms`,
      measured: `${c.ackToAbort.p99} ms (p50 ${c.ackToAbort.p50} ms; visible p99 ${c.ackToVisible.p99} ms)`,
      met: c.ackToAbort.p99 <= GOALS.cancelP99Ms,
    });
  } else {
    out.push({ goal: "cancel", measured: failed("cancel"), met: false });
  }
  const f = s.functions;
  if (f?.api) {
    out.push({
      goal: `API bundles ≤ 1 MB (${GOALS.apiBundleBytes.toLocaleString("en-US")} bytes)`,
      measured: `largest ${(f.api.maxBytes / 1024).toFixed(1)} KB (${f.api.largest})`,
      met: f.api.maxBytes <= GOALS.apiBundleBytes,
    });
    out.push({
      // The issue sets the goal for the API functions; the worker and the deploy-time functions
      // carry the job types (classic zod) and are shown beside it.
      goal: `API function cold module init ≤ ${GOALS.coldInitMs} ms (median)`,
      measured: `slowest API ${f.api.maxInitMs} ms (${f.api.slowest}); slowest of all ${f.all.maxInitMs} ms (${f.all.slowest})`,
      met: f.api.maxInitMs <= GOALS.coldInitMs,
    });
  } else {
    out.push({ goal: "functions", measured: failed("functions"), met: false });
  }
  return out;
}

async function main(): Promise<number> {
  const started = runStarted;
  const cleanups = new Cleanups(log);
  let finished = false;
  const stopAll = async (code: number, why: string) => {
    if (finished) return;
    finished = true;
    log(why);
    await cleanups.run();
    process.exit(code);
  };
  process.once("SIGINT", () => void stopAll(130, "interrupted: cleaning up"));
  process.once("SIGTERM", () => void stopAll(143, "terminated: cleaning up"));
  const budget = setTimeout(
    () => void stopAll(1, `time budget of ${PARAMS.budgetMs / 1000} s exceeded: cleaning up`),
    PARAMS.budgetMs + 15_000,
  );

  const loadAvgStart = loadavg()[0] ?? 0;
  const scenarios: Record<string, ScenarioResult> = {};
  let stack: Stack | undefined;
  /** Warnings and errors the product processes logged during the run (relay dispatch failures…). */
  let productErrors: { count: number; examples: string[] } = { count: 0, examples: [] };
  const groups = (): CpuGroups => ({
    benchPid: process.pid,
    productPids: stack?.app.pids,
    enginePid: stack?.enginePid,
    appDb: stack?.appDbName ?? "-",
    engineDb: stack?.hatchetDbName ?? "-",
  });
  const versions: Record<string, string> = {
    hatchetEngine: HATCHET_VERSION,
    hatchetSdk: pkgVersion("@hatchet-dev/typescript-sdk"),
    postgres: "unknown",
    esbuild: esbuildVersion,
    drizzleOrm: pkgVersion("drizzle-orm"),
    pg: pkgVersion("pg"),
  };
  try {
    // Bundles first, on a machine where no engine runs yet: cold starts are timed in quiet.
    scenarios.functions = await measured("functions", "functions", groups, () =>
      runFunctions(PARAMS.functions, cleanups, log),
    );

    log("starting Postgres databases, the engine and the product");
    stack = await startStack({ poolMax: PARAMS.productPoolMax, log, cleanups });
    const s = stack;
    const pgVersion = await s.pool.query<{ v: string }>("select version() as v");
    versions.postgres = pgVersion.rows[0]?.v.split(",")[0] ?? "unknown";
    const engineVersion = await fetch(`${s.engine.apiUrl}/api/v1/version`)
      .then((r) => r.json() as Promise<{ version?: string }>)
      .catch(() => ({ version: undefined }));
    versions.hatchetEngine = engineVersion.version ?? HATCHET_VERSION;
    const native = await startNativeWorker(s.hatchetEnv, PARAMS.nativeSlots);
    cleanups.add("native worker", () => native.stop());

    scenarios.idle = await measured("idle", "idle", groups, async () => {
      await sleep(PARAMS.idleSeconds * 1000);
      return { seconds: PARAMS.idleSeconds };
    });
    scenarios.relayVsNative = await measured("relayVsNative", "relay vs native", groups, () =>
      runPaths(s, native, PARAMS.paths, log),
    );
    scenarios.scale = await measured("scale", "scale", groups, () => runScale(s, PARAMS.scale, log), 300);
    scenarios.scaleNative = await measured(
      "scaleNative",
      "scale, native path",
      groups,
      () => runScaleNative(native, PARAMS.scale, log),
      120,
    );
    scenarios.apiHandlers = await measured(
      "apiHandlers",
      "API handlers",
      groups,
      () => runHandlers(s, PARAMS.handlers, cleanups, log),
      150,
    );
    scenarios.cancel = await measured("cancel", "cancel", groups, () => runCancel(s, PARAMS.cancel, log), 60);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colour codes.
    const clean = (l: string) => l.replace(/\u001b\[[0-9;]*m/g, "").trim();
    const lines = s.app.otherLines.map(clean);
    const errors = lines.flatMap((l, i) =>
      /fail|error|too many/i.test(l)
        ? [
            lines
              .slice(i, i + 3)
              .join(" ⏎ ")
              .slice(0, 700),
          ]
        : [],
    );
    productErrors = { count: errors.length, examples: [...new Set(errors)].slice(0, 5) };
    if (errors.length > 0) log(`product processes reported ${errors.length} error lines, e.g. ${errors[0]}`);
  } catch (err) {
    log(`setup failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    scenarios.setup = { error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(budget);
    log("stopping everything and dropping the databases");
    await cleanups.run();
  }

  const cpuList = cpus();
  const results = {
    generatedAt: new Date().toISOString(),
    durationSeconds: round((Date.now() - started) / 1000, 1),
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? "unknown",
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      os: `${type()} ${release()} (${process.platform}/${process.arch})`,
      node: process.version,
      loadAvgStart: round(loadAvgStart),
      loadAvgEnd: round(loadavg()[0] ?? 0),
    },
    versions,
    parameters: PARAMS,
    scenarios,
    productErrors,
    goals: goals(scenarios),
  };
  if (ONLY) {
    // A partial run leaves the published results alone.
    const file = join(tmpdir(), "switchyard-bench-partial.json");
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    for (const g of results.goals) log(`${g.met ? "met   " : "NOT met"}  ${g.goal}: ${g.measured}`);
    log(`partial run (BENCH_ONLY): results in ${file}`);
    return Object.entries(scenarios).some(([k, x]) => ONLY.includes(k) && x.error) ? 1 : 0;
  }
  await mkdir(join(ROOT, "bench"), { recursive: true });
  await writeFile(OUT_JSON, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(
    OUT_SVG,
    chartSvg(
      chartRows(results),
      `switchyard benchmarks: p50 and p99 per scenario (${results.generatedAt.slice(0, 10)})`,
    ),
  );
  await writeDocs(OUT_MD, markdown(results));
  // The page is checked by the repo's formatter like every other file (npm test runs it).
  execFileSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", OUT_MD], { stdio: "ignore" });
  for (const g of results.goals) log(`${g.met ? "met   " : "NOT met"}  ${g.goal}: ${g.measured}`);
  log(`wrote bench/results.json, bench/chart.svg, docs/benchmarks.md in ${results.durationSeconds} s`);
  finished = true;
  const failed = Object.values(scenarios).some((x) => x.error);
  return failed ? 1 : 0;
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
