// `npm run dev` restarted the way a user does it, in each delivery mode: the product started as
// `node --import tsx dev/main.ts` (package.json's dev script) in a process group of its own, with
// its own state folder, engine ports, API and worker ports, and its own Postgres (an embedded one
// of this file, so the stack's ~60 connections never crowd the shared test server). It is stopped
//   (a) with Ctrl-C: SIGINT to its process group; nothing of it may be left running;
//   (b) with SIGKILL of the dev process alone: its engine (a process group of its own) is left
//       behind, and the next start must stop it through the pid file in the state folder;
// and started again each time. After each restart, a job created on an idle target once the new
// process printed "[dev] ready" must start within RESTART_START_MS; the figures are printed.
// Restarting only the engine is engine-restart.*.test.ts.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../dev/app.ts";
import { freePorts } from "../../dev/hatchet.ts";
import { ensureDatabase } from "../../dev/postgres.ts";
import {
  type Bound,
  bound,
  Cleanups,
  type DeliveryMode,
  freePort,
  privatePostgres,
  request,
  within,
} from "./harness.ts";

/**
 * A job created once the restarted product is ready starts within this long. Before the dead
 * engine's scheduler state was cleared at start (dev/hatchet.ts releaseDeadEngineState), the first
 * job after a restart waited 48–61 s for the new engine to take the tenant's partition over.
 */
const RESTART_START: Bound = bound({ "first job after a restart starts": 30_000 });
/** The first start migrates two fresh databases (the engine's takes most of it). */
const FIRST_START_MS = 170_000;
const RESTART_MS = 120_000;
/** Ctrl-C: the app stops, then the engine (SIGTERM, SIGKILL after 10 s). */
const STOP: Bound = bound({ "app stop": 5000, "engine stop (SIGKILL after 10 s)": 10_000, slack: 5000 });

interface Dev {
  child: ChildProcess;
  pid: number;
  startedAt: number;
  readyAt?: number;
  output: Array<{ at: number; line: string }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Processes whose command line or environment names the state folder (the dev process, its engine). */
function processesOf(stateDir: string): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      const env = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (cmd.includes(stateDir) || env.includes(`SWITCHYARD_STATE_DIR=${stateDir}`)) {
        found.push({ pid: Number(entry), cmd: cmd.slice(0, 160) });
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.each<DeliveryMode>(["relay", "direct"])("npm run dev restarted by its user (%s delivery)", (delivery) => {
  const cleanups = new Cleanups();
  let stateDir = "";
  let env: Record<string, string> = {};
  let apiPort = 0;
  let workerPort = 0;
  let dev: Dev | undefined;
  let key = "";
  let target = "";

  beforeAll(async () => {
    const pg = await privatePostgres(cleanups);
    const databaseUrl = await ensureDatabase(pg.serverUrl, "switchyard");
    stateDir = await mkdtemp(join(tmpdir(), `switchyard-restart-${delivery}-`));
    cleanups.add("remove the state folder", () => rm(stateDir, { recursive: true, force: true }));
    // Whatever is left of a failed run: stopped before Postgres and the folder go.
    cleanups.add("kill what is left", () => {
      for (const p of processesOf(stateDir)) process.kill(p.pid, "SIGKILL");
    });
    [apiPort, workerPort] = [await freePort(), await freePort()];
    // The test runner's own settings must not leak into the product: it reads them first.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k, v]) =>
          v !== undefined &&
          !k.startsWith("HATCHET_CLIENT_") &&
          !k.startsWith("SWITCHYARD_") &&
          !k.startsWith("VITEST") &&
          !["WEBHOOK_SIGNING_SECRET", "DATABASE_POOL_MAX", "PORT", "HOST", "NODE_ENV"].includes(k),
      ),
    ) as Record<string, string>;
    env = {
      ...inherited,
      DATABASE_URL: databaseUrl,
      SWITCHYARD_STATE_DIR: stateDir,
      SWITCHYARD_HATCHET_PORTS: JSON.stringify(await freePorts()),
      SWITCHYARD_HATCHET_DATABASE: `sy_f_restart_${randomUUID().replaceAll("-", "").slice(0, 12)}`,
      SWITCHYARD_DELIVERY: delivery,
    };
  }, 60_000);
  afterAll(async () => {
    if (dev && dev.child.exitCode === null && dev.child.signalCode === null) {
      process.kill(-dev.pid, "SIGINT");
      await Promise.race([dev.exited, new Promise((r) => setTimeout(r, STOP.ms))]);
    }
    await cleanups.run();
  }, 60_000);

  /** `npm run dev` in a process group of its own; resolves once it printed "[dev] ready". */
  async function start(timeoutMs: number): Promise<Dev> {
    const startedAt = Date.now();
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "dev", "main.ts"),
        "--api-port",
        String(apiPort),
        "--worker-port",
        String(workerPort),
      ],
      { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    const d: Dev = {
      child,
      pid: child.pid ?? 0,
      startedAt,
      output: [],
      exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    };
    let ready = () => {};
    const readyLine = new Promise<void>((resolve) => {
      ready = resolve;
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        d.output.push({ at: Date.now(), line });
        if (line.includes("[dev] ready:")) {
          d.readyAt = Date.now();
          ready();
        }
      });
    }
    const outcome = await Promise.race([
      readyLine.then(() => "ready" as const),
      d.exited.then((e) => `exited (${e.code ?? e.signal})` as const),
      new Promise<string>((r) => setTimeout(() => r(`not ready after ${timeoutMs} ms`), timeoutMs)),
    ]);
    if (outcome !== "ready") {
      process.kill(-d.pid, "SIGKILL");
      throw new Error(`npm run dev ${outcome}:\n${d.output.map((o) => o.line).join("\n")}`);
    }
    return d;
  }

  /** Ctrl-C: SIGINT to the process group, then the process must end within the stop bound. */
  async function ctrlC(d: Dev): Promise<number> {
    const at = Date.now();
    process.kill(-d.pid, "SIGINT");
    const result = await Promise.race([d.exited, new Promise<null>((r) => setTimeout(() => r(null), STOP.ms))]);
    expect(result, `npm run dev did not stop within ${STOP.ms} ms (${STOP.why})`).not.toBeNull();
    return Date.now() - at;
  }

  const api = (method: string, path: string, body?: unknown) =>
    request(`http://127.0.0.1:${apiPort}${path}`, {
      method,
      headers: { "x-api-key": key, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  /**
   * A job created on the idle target right after "[dev] ready": how long until it runs and ends,
   * from the process's start and from the ready line.
   */
  async function firstJob(d: Dev, label: string) {
    const created = await api("POST", `/api/targets/${target}/jobs/`, { api_name: "echo", parameters: { label } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const createdAt = Date.now();
    const id: string = created.body.id;
    let runningAt: number | undefined;
    const readyAt = d.readyAt ?? createdAt;
    await within(
      `${delivery}: ${label}: the first job after the restart started`,
      RESTART_START,
      async () => {
        const status = (await api("GET", `/api/targets/${target}/jobs/${id}`)).body?.status;
        if ((status === "running" || status === "success") && runningAt === undefined) runningAt = Date.now();
        return status === "success" ? status : undefined;
      },
      { from: readyAt, intervalMs: 50 },
    );
    const doneAt = Date.now();
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.info(
      `[faults] ${delivery}: ${label}: start → ready ${s(readyAt - d.startedAt)}; ready → job running ${s((runningAt ?? doneAt) - readyAt)}, success ${s(doneAt - readyAt)}; start → job success ${s(doneAt - d.startedAt)} (created ${s(createdAt - readyAt)} after ready)`,
    );
    return { id, startToSuccess: doneAt - d.startedAt, readyToRunning: (runningAt ?? doneAt) - readyAt };
  }

  it(
    "starts with its own state, ports and databases, and runs a job",
    async () => {
      dev = await start(FIRST_START_MS);
      key = (await readFile(join(stateDir, "api-key"), "utf8")).trim();
      const t = await api("POST", "/api/targets/", { name: "desk-1" });
      expect(t.status, JSON.stringify(t.body)).toBe(201);
      target = t.body.id;
      await firstJob(dev, "first start");
    },
    FIRST_START_MS + 60_000,
  );

  it("stops on Ctrl-C with nothing left running, starts again, and runs the next job at once", async () => {
    if (!dev) throw new Error("the first start failed");
    const enginePid = Number(await readFile(join(stateDir, "hatchet", "hatchet-lite.pid"), "utf8"));
    // What the check below looks for is there while it runs: the dev process and its engine.
    expect(processesOf(stateDir).map((p) => p.pid)).toEqual(expect.arrayContaining([dev.pid, enginePid]));
    const stopMs = await ctrlC(dev);
    expect(processesOf(stateDir)).toEqual([]);
    expect(alive(enginePid)).toBe(false);
    expect(existsSync(join(stateDir, "hatchet", "hatchet-lite.pid"))).toBe(false);
    console.info(`[faults] ${delivery}: Ctrl-C stopped npm run dev in ${(stopMs / 1000).toFixed(1)} s; nothing left`);

    dev = await start(RESTART_MS);
    const { readyToRunning } = await firstJob(dev, "after Ctrl-C");
    expect(readyToRunning).toBeLessThan(RESTART_START.ms);
  }, 300_000);

  it("starts again after a SIGKILL of the dev process, stopping the engine it left behind", async () => {
    if (!dev) throw new Error("the previous start failed");
    const enginePid = Number(await readFile(join(stateDir, "hatchet", "hatchet-lite.pid"), "utf8"));
    process.kill(dev.pid, "SIGKILL");
    await dev.exited;
    // The engine runs in a process group of its own: it outlives the dev process.
    expect(alive(enginePid), "the engine outlived the dev process").toBe(true);

    dev = await start(RESTART_MS);
    expect(alive(enginePid), "the next start stopped the engine left behind").toBe(false);
    const newEngine = Number(await readFile(join(stateDir, "hatchet", "hatchet-lite.pid"), "utf8"));
    expect(newEngine).not.toBe(enginePid);
    const { readyToRunning } = await firstJob(dev, "after SIGKILL");
    expect(readyToRunning).toBeLessThan(RESTART_START.ms);
  }, 300_000);

  it("stops on Ctrl-C with nothing left running", async () => {
    if (!dev) throw new Error("the previous start failed");
    const enginePid = Number(await readFile(join(stateDir, "hatchet", "hatchet-lite.pid"), "utf8"));
    expect(processesOf(stateDir).map((p) => p.pid)).toEqual(expect.arrayContaining([dev.pid, enginePid]));
    const stopMs = await ctrlC(dev);
    expect(processesOf(stateDir)).toEqual([]);
    expect(alive(enginePid)).toBe(false);
    console.info(`[faults] ${delivery}: Ctrl-C stopped npm run dev in ${(stopMs / 1000).toFixed(1)} s; nothing left`);
    dev = undefined;
  }, 60_000);
});
