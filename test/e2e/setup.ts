// The product as separate processes: the API in the test process (served over HTTP by the local
// adapter), the worker function in a process of its own, and in relay mode the relay in another,
// run from its bundle as its container runs it. In direct mode the worker registers itself as the
// engine's HTTP operator; in relay mode the test registers it, as the deploy's registrar does.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Timing } from "@switchyard/core";
import type { DeliveryMode } from "@switchyard/hatchet";
import { Workers } from "@switchyard/workers";
import { ROOT } from "../../dev/app.ts";
import { bundleRelay } from "../../scripts/bundle.ts";
import { type Proc, spawnReady, spawnRole, startTestApp, type TestApp } from "../support/app.ts";

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

export async function startProcesses(delivery: DeliveryMode, timing?: Partial<Timing>): Promise<Processes> {
  const t = await startTestApp({ roles: ["api"], delivery, timing });
  const spawnWorker = async (port = "0") => {
    const worker = await spawnRole("worker", t.env, ["--worker-port", port]);
    const url = /worker (http:\/\/127\.0\.0\.1:\d+)/.exec(
      worker.output.find((l) => l.includes("[dev] ready:")) ?? "",
    )?.[1];
    if (!url) throw new Error(`worker printed no URL: ${worker.output.join("\n")}`);
    return { worker, url };
  };
  const first = await spawnWorker();
  // Inside the checkout: the bundle resolves Hatchet's SDK from its node_modules, as in the image.
  // A fresh clone has no .switchyard yet.
  await mkdir(join(ROOT, ".switchyard"), { recursive: true });
  const bundleDir = await mkdtemp(join(ROOT, ".switchyard", "relay-"));
  let spawnRelay = async (): Promise<Proc | undefined> => undefined;
  if (delivery === "relay") {
    await Workers.upsert(t.database.db, { name: "local", url: first.url, secret: t.signingSecret });
    const bundle = await bundleRelay(join(bundleDir, "relay.mjs"));
    // The relay says it is ready in a structured line at info level, which the tests' env
    // (POWERTOOLS_LOG_LEVEL=WARN) would keep quiet: this process logs at info.
    const env = { ...t.env, DATABASE_POOL_MAX: "10", POWERTOOLS_LOG_LEVEL: "INFO" };
    spawnRelay = () => spawnReady([bundle], env, "relay ready", "relay");
  }
  const procs: Processes = {
    t,
    delivery,
    workerUrl: first.url,
    worker: first.worker,
    relay: await spawnRelay(),
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
      await rm(bundleDir, { recursive: true, force: true });
    },
  };
  return procs;
}
