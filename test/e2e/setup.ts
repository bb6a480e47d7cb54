// The product as separate processes: the API in the test process (served over HTTP by the local
// adapter), the worker function and the relay each in a process of their own, as in production.
import type { Role } from "../../dev/app.ts";
import { spawnRole, startTestApp, type TestApp } from "../support/app.ts";

export interface Processes {
  t: TestApp;
  workerUrl: string;
  relay: Awaited<ReturnType<typeof spawnRole>>;
  worker: Awaited<ReturnType<typeof spawnRole>>;
  restartRelay(): Promise<void>;
  stop(): Promise<void>;
}

export async function startProcesses(): Promise<Processes> {
  const t = await startTestApp({ roles: ["api"] as Role[] });
  const worker = await spawnRole("worker", t.env, ["--worker-port", "0"]);
  const workerUrl = /worker (http:\/\/127\.0\.0\.1:\d+)/.exec(
    worker.output.find((l) => l.includes("[dev] ready:")) ?? "",
  )?.[1];
  if (!workerUrl) throw new Error(`worker printed no URL: ${worker.output.join("\n")}`);
  const procs: Processes = {
    t,
    workerUrl,
    worker,
    relay: await spawnRole("relay", t.env, ["--worker-url", workerUrl]),
    async restartRelay() {
      procs.relay = await spawnRole("relay", t.env, ["--worker-url", workerUrl]);
    },
    async stop() {
      await procs.relay.kill("SIGKILL");
      await procs.worker.kill("SIGKILL");
      await t.stop();
    },
  };
  return procs;
}
