// Scenario 3: the API's Lambda handlers called warm, in a process of their own per delivery mode
// (handlers-process.ts), with one database connection, as one Lambda instance has. Creates are
// timed twice: on a blocked target (dispatch finds it blocked, nothing runs: the handler on a quiet
// system), and on fresh targets, where every created job runs meanwhile (in direct mode the create
// also hands its job to Hatchet before it answers); scenario 2 shows them under heavy load. The
// setup (targets, the blocking job) and the wait for the live jobs happen here.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT, type Stack, waitFor } from "../lib/stack.ts";
import { round, type Summary, summarize } from "../lib/stats.ts";
import { type HandlersFigures, type HandlersPlan, RESULT_MARK } from "./handlers-process.ts";

export interface HandlersParams {
  warmup: number;
  calls: number;
}

export interface HandlersResult {
  params: HandlersParams & { poolMax: number; listAllTotal: number };
  delivery: Stack["delivery"];
  /** On a blocked target: nothing runs meanwhile. */
  create: Summary;
  /** On fresh targets: each created job runs while the next creates are timed. */
  createLive: Summary;
  get: Summary;
  listAll: Summary;
  parts: {
    /** Round trips to Postgres per call, counted during the warm-up. */
    queriesPerCreate: number;
    queriesPerGet: number;
    queriesPerListAll: number;
  };
  errors: number;
}

/** Runs handlers-process.ts with the deployment's settings and returns what it printed. */
function measureInProcess(stack: Stack, plan: HandlersPlan, log: (m: string) => void): Promise<HandlersFigures> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench", "scenarios", "handlers-process.ts")], {
    cwd: ROOT,
    env: { ...process.env, ...stack.appEnv, DATABASE_POOL_MAX: "1", BENCH_HANDLERS: JSON.stringify(plan) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let figures: HandlersFigures | undefined;
  const errors: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith(RESULT_MARK)) figures = JSON.parse(line.slice(RESULT_MARK.length)) as HandlersFigures;
  });
  createInterface({ input: child.stderr }).on("line", (line) => {
    if (errors.length < 20) errors.push(line);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (errors.length > 0) log(`  handler process (${stack.delivery}) wrote: ${errors.slice(0, 3).join(" ⏎ ")}`);
      if (code === 0 && figures) resolve(figures);
      else reject(new Error(`the handler process exited with ${code}: ${errors.slice(-5).join(" ⏎ ")}`));
    });
  });
}

export async function runHandlers(stack: Stack, p: HandlersParams, log: (m: string) => void): Promise<HandlersResult> {
  const createTargets = await stack.targets(p.warmup + p.calls, "handlers");
  const [blocked = ""] = await stack.targets(1, "handlers-blocked");
  const failed = await stack.api("POST", `/api/targets/${blocked}/jobs/`, { api_name: "fail", parameters: {} });
  await waitFor(
    "the blocking job to fail",
    async () => {
      const r = await stack.api("GET", `/api/targets/${blocked}/jobs/${failed.body.id}`);
      return r.body.status === "error" ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const f = await measureInProcess(stack, { key: stack.tenant.key, blocked, createTargets, ...p }, log);
  log(`  handlers (${stack.delivery} mode): create, get, list-all × ${p.calls} (list-all over ${f.listAllTotal} jobs)`);
  // The live creates' jobs run on after the timing; the next scenario starts on an idle stack.
  await waitFor(
    "the live creates' jobs to finish",
    async () => {
      const r = await stack.pool.query<{ n: string }>(
        "select count(*) as n from jobs where target_id = any($1) and status in ('queued', 'running')",
        [createTargets],
      );
      return r.rows[0]?.n === "0" ? true : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );

  return {
    params: { ...p, poolMax: 1, listAllTotal: f.listAllTotal },
    delivery: stack.delivery,
    create: summarize(f.createMs),
    createLive: summarize(f.liveMs),
    get: summarize(f.getMs),
    listAll: summarize(f.listMs),
    parts: {
      queriesPerCreate: round(f.queries.create / p.warmup, 1),
      queriesPerGet: round(f.queries.get / p.warmup, 1),
      queriesPerListAll: round(f.queries.listAll / p.warmup, 1),
    },
    errors: f.errors,
  };
}
