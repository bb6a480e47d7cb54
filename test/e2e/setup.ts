// The product as separate processes: the API in the test process (served over HTTP by the local
// adapter), the worker function in a process of its own, and in relay mode the relay in another,
// as deployed. In direct mode the worker registers itself as the engine's HTTP operator.
import type { DeliveryMode } from "@switchyard/hatchet";
import { spawnRole, startTestApp, type TestApp } from "../support/app.ts";

type Proc = Awaited<ReturnType<typeof spawnRole>>;

export interface Processes {
  t: TestApp;
  delivery: DeliveryMode;
  workerUrl: string;
  worker: Proc;
  /** Relay mode only. */
  relay?: Proc;
  restartWorker(): Promise<void>;
  restartRelay(): Promise<void>;
  stop(): Promise<void>;
}

export async function startProcesses(delivery: DeliveryMode): Promise<Processes> {
  const t = await startTestApp({ roles: ["api"], delivery });
  const spawnWorker = async (port = "0") => {
    const worker = await spawnRole("worker", t.env, ["--worker-port", port]);
    const url = /worker (http:\/\/127\.0\.0\.1:\d+)/.exec(
      worker.output.find((l) => l.includes("[dev] ready:")) ?? "",
    )?.[1];
    if (!url) throw new Error(`worker printed no URL: ${worker.output.join("\n")}`);
    return { worker, url };
  };
  const first = await spawnWorker();
  const spawnRelay = () => spawnRole("relay", t.env, ["--worker-url", first.url]);
  const procs: Processes = {
    t,
    delivery,
    workerUrl: first.url,
    worker: first.worker,
    relay: delivery === "relay" ? await spawnRelay() : undefined,
    async restartWorker() {
      // The same port, so the registered URL (the engine's operator, the relay's registry) holds.
      procs.worker = (await spawnWorker(new URL(procs.workerUrl).port)).worker;
    },
    async restartRelay() {
      procs.relay = await spawnRelay();
    },
    async stop() {
      await procs.relay?.kill("SIGKILL");
      await procs.worker.kill("SIGKILL");
      await t.stop();
    },
  };
  return procs;
}
