// The real engine, driven only through the SDK: a task runs, a running task is cancelled, a task
// whose worker dies is retried on another worker.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { HatchetClient, type Worker } from "@hatchet-dev/typescript-sdk/v1/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flakyTask } from "../fixtures/smoke-tasks.ts";
import { hatchetTestEnv } from "../support/hatchet.ts";
import { poll } from "../support/poll.ts";

const env = hatchetTestEnv();
const hatchet = HatchetClient.init({
  token: env.HATCHET_CLIENT_TOKEN,
  host_port: env.HATCHET_CLIENT_HOST_PORT,
  api_url: env.HATCHET_CLIENT_API_URL,
  tls_config: { tls_strategy: env.HATCHET_CLIENT_TLS_STRATEGY === "none" ? "none" : "tls" },
  namespace: env.HATCHET_CLIENT_NAMESPACE,
  log_level: "ERROR",
});

const workers: Worker[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

async function startWorker(name: string, workflows: Parameters<HatchetClient["worker"]>[1]): Promise<Worker> {
  const worker = await hatchet.worker(name, workflows);
  workers.push(worker);
  void worker.start();
  await worker.waitUntilReady(30_000);
  return worker;
}

describe("Hatchet engine (real, via the SDK)", () => {
  const upper = hatchet.task<{ text: string }, { upper: string; attempt: number }>({
    name: "upper",
    fn: async (input, ctx) => ({ upper: input.text.toUpperCase(), attempt: ctx.retryCount() }),
  });

  const aborted: string[] = [];
  const started: string[] = [];
  const waiter = hatchet.task<{ id: string }, { finished: boolean }>({
    name: "waiter",
    executionTimeout: "60s",
    fn: async (input, ctx) => {
      started.push(input.id);
      await new Promise<void>((resolve) => {
        if (ctx.abortController.signal.aborted) return resolve();
        ctx.abortController.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      aborted.push(input.id);
      return { finished: false };
    },
  });

  beforeAll(async () => {
    await startWorker("smoke-worker", { workflows: [upper, waiter], slots: 5, handleKill: false });
  });

  it("runs a task on an SDK worker and returns its output", async () => {
    const out = await upper.run({ text: "switchyard" });
    expect(out).toEqual({ upper: "SWITCHYARD", attempt: 0 });
  });

  it("cancels a running task through the engine and the task sees its abort signal", async () => {
    const ref = await waiter.runNoWait({ id: "c1" });
    const runId = await ref.getWorkflowRunId();
    await poll(() => (started.includes("c1") ? true : undefined), { label: "task start" });
    await hatchet.runs.cancel({ ids: [runId] });
    await poll(() => (aborted.includes("c1") ? true : undefined), { label: "abort signal", timeoutMs: 5000 });
    const status = await poll(
      async () => {
        const s = await hatchet.runs.get_status(runId);
        return s === "CANCELLED" ? s : undefined;
      },
      { label: "CANCELLED status", timeoutMs: 10_000, intervalMs: 200 },
    );
    expect(status).toBe("CANCELLED");
  });

  it("retries a task on another worker when its worker dies", async () => {
    const doomed = await spawnDoomedWorker();
    try {
      const task = flakyTask(hatchet, async (_input, ctx) => ({ worker: "survivor", attempt: ctx.retryCount() }));
      const ref = await task.runNoWait({ n: 1 });
      const runId = await ref.getWorkflowRunId();
      const firstStart = await doomed.nextLine((l) => l.startsWith("started"));
      expect(firstStart).toContain("attempt=0");
      doomed.child.kill("SIGKILL");
      await new Promise((r) => doomed.child.once("exit", r));

      await startWorker("survivor-worker", { workflows: [task], slots: 1, handleKill: false });
      // A run's output is keyed by task name.
      const out = await hatchet.runRef<{ flaky: { worker: string; attempt: number } }>(runId).output;
      expect(out.flaky.worker).toBe("survivor");
      expect(out.flaky.attempt).toBeGreaterThanOrEqual(1);
    } finally {
      doomed.child.kill("SIGKILL");
    }
  }, 90_000);
});

async function spawnDoomedWorker() {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "..", "fixtures", "smoke-worker.ts")],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  if (!child.stdout) throw new Error("no stdout");
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const w of waiters.splice(0)) w();
  });
  const nextLine = async (match: (l: string) => boolean, timeoutMs = 30_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find(match);
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`worker never printed the line; saw: ${lines.join(" | ")}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  await nextLine((l) => l === "ready");
  return { child, nextLine };
}
