// Who used the CPU during a scenario: user + system time per process from /proc, grouped into the
// benchmark process, the product processes of each delivery mode, the engine, Postgres backends per
// database, and everything else on the machine (other people's work shares these two cores too).
// Linux only; elsewhere every figure is absent.
import { readdir, readFile } from "node:fs/promises";
import type { Role } from "../../dev/app.ts";

export interface CpuSnapshot {
  at: number;
  /** pid → [group, cpu ticks]. */
  procs: Map<number, [string, number]>;
  /** Machine-wide [busy, total] ticks from /proc/stat. */
  machine: [number, number];
}

export interface CpuUse {
  seconds: number;
  /** Seconds of CPU per group over the window. */
  byGroup: Record<string, number>;
  /** Share of both cores busy over the window, 0..1. */
  machineBusy: number;
}

export interface CpuGroups {
  benchPid: number;
  /** Per deployment (delivery mode): the process of each role (the same pid for all when they share one). */
  products: Array<{ mode: string; pids: Record<Role, number | undefined> }>;
  enginePid?: number;
  /** Per deployment: the name of its switchyard database. */
  appDbs: Array<{ mode: string; name: string }>;
  engineDb: string;
  /** The benchmark's own Postgres server, when it runs one: other Postgres servers are other people's work. */
  postmasterPid?: number;
}

const TICKS = 100; // USER_HZ on Linux

const HELPERS = "benchmark helpers (esbuild, node imports, handler processes)";
/** Not a process: the benchmark's children that have exited (their CPU moves to its cutime). */
const EXITED_HELPERS = -1;

async function stat(
  pid: number,
): Promise<{ ticks: number; childTicks: number; comm: string; ppid: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const fields = text.slice(close + 2).split(" ");
    // fields[11] = utime, fields[12] = stime (fields 14 and 15 of proc(5), after pid and comm);
    // fields[13] and [14] = cutime, cstime: the children it has waited for.
    return {
      ticks: Number(fields[11]) + Number(fields[12]),
      childTicks: Number(fields[13]) + Number(fields[14]),
      comm,
      ppid: Number(fields[1]),
    };
  } catch {
    return undefined;
  }
}

async function groupOf(pid: number, comm: string, ppid: number, g: CpuGroups): Promise<string> {
  if (pid === g.benchPid) return "benchmark process";
  for (const { mode, pids } of g.products) {
    const roles = Object.entries(pids).flatMap(([role, p]) => (p === pid ? [role] : []));
    if (roles.length > 0) return `product (${mode} mode): ${roles.join(" + ")} process`;
  }
  if (ppid === g.benchPid && pid !== g.enginePid) return HELPERS;
  if (pid === g.enginePid) return "Hatchet engine";
  if (comm === "postgres" && g.postmasterPid !== undefined && pid !== g.postmasterPid && ppid !== g.postmasterPid) {
    return "other processes";
  }
  if (comm === "postgres") {
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    for (const { mode, name } of g.appDbs) {
      if (cmd.includes(` ${name} `)) return `Postgres: switchyard database (${mode} mode)`;
    }
    if (cmd.includes(` ${g.engineDb} `)) return "Postgres: engine database";
    return g.postmasterPid === undefined
      ? "Postgres: other (background, other databases)"
      : "Postgres: background (this run's server)";
  }
  return "other processes";
}

export async function cpuSnapshot(g: CpuGroups): Promise<CpuSnapshot | undefined> {
  if (process.platform !== "linux") return undefined;
  const procs = new Map<number, [string, number]>();
  const entries = await readdir("/proc").catch(() => [] as string[]);
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const s = await stat(pid);
    if (!s) continue;
    procs.set(pid, [await groupOf(pid, s.comm, s.ppid, g), s.ticks]);
    // A helper that ran and exited within the window (the in-process handlers' child) counts too.
    if (pid === g.benchPid) procs.set(EXITED_HELPERS, [HELPERS, s.childTicks]);
  }
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
  const nums = line.trim().split(/\s+/).slice(1).map(Number);
  const total = nums.reduce((a, b) => a + b, 0);
  const idle = (nums[3] ?? 0) + (nums[4] ?? 0);
  return { at: Date.now(), procs, machine: [total - idle, total] };
}

export function cpuUse(a: CpuSnapshot | undefined, b: CpuSnapshot | undefined): CpuUse | undefined {
  if (!a || !b) return undefined;
  const byGroup: Record<string, number> = {};
  for (const [pid, [group, ticks]] of b.procs) {
    // A process born during the window counts from zero.
    const before = a.procs.get(pid)?.[1] ?? 0;
    byGroup[group] = (byGroup[group] ?? 0) + Math.max(0, ticks - before) / TICKS;
  }
  for (const k of Object.keys(byGroup)) byGroup[k] = Math.round((byGroup[k] ?? 0) * 100) / 100;
  const busy = b.machine[0] - a.machine[0];
  const total = b.machine[1] - a.machine[1];
  return {
    seconds: Math.round(b.at - a.at) / 1000,
    byGroup,
    machineBusy: total > 0 ? Math.round((busy / total) * 100) / 100 : 0,
  };
}
