// The native path: a plain Hatchet SDK worker in this process that runs the echo job type
// directly in its task. Its only guard for one run per target, in order, is the engine's
// per-target concurrency key, so the two paths differ by what switchyard adds (API, Postgres,
// relay → worker HTTP, worker DB writes) and by who keeps a target's order.
import { ConcurrencyLimitStrategy, type HatchetClient, type JsonObject } from "@hatchet-dev/typescript-sdk/v1/index.js";
import type { JobContext } from "@switchyard/core";
import { TARGET_CONCURRENCY_EXPRESSION } from "@switchyard/hatchet";
import { hatchetClient } from "@switchyard/hatchet/sdk";
import { echo } from "@switchyard/jobs";

export type NativeInput = {
  jobId: string;
  tenantId: string;
  targetId: string;
  apiName: string;
  parameters: JsonObject;
};

/** performance.now() marks taken inside the task, keyed by the input's jobId. */
export interface NativeMarks {
  start: number;
  end: number;
}

export interface NativeWorker {
  hatchet: HatchetClient;
  task: ReturnType<typeof declare>;
  marks: Map<string, NativeMarks>;
  stop(): Promise<void>;
}

export const NATIVE_TASK = "bench-native-echo";

function declare(hatchet: HatchetClient, marks: Map<string, NativeMarks>) {
  return hatchet.task<NativeInput, JsonObject>({
    name: NATIVE_TASK,
    concurrency: {
      expression: TARGET_CONCURRENCY_EXPRESSION,
      maxRuns: 1,
      limitStrategy: ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN,
    },
    retries: 0,
    fn: async (input, ctx) => {
      const start = performance.now();
      const jobCtx: JobContext = {
        jobId: input.jobId,
        tenantId: input.tenantId,
        targetId: input.targetId,
        attempt: ctx.retryCount(),
        signal: ctx.abortController.signal,
        log: async () => {},
        progress: async () => {},
        recordHttpExchange: async () => {},
      };
      const result = (await echo.run(input.parameters, jobCtx)) as JsonObject;
      marks.set(input.jobId, { start, end: performance.now() });
      return result;
    },
  });
}

export async function startNativeWorker(env: Record<string, string>, slots: number): Promise<NativeWorker> {
  const hatchet = hatchetClient({
    token: env.HATCHET_CLIENT_TOKEN ?? "",
    hostPort: env.HATCHET_CLIENT_HOST_PORT,
    apiUrl: env.HATCHET_CLIENT_API_URL,
    tlsStrategy: "none",
    namespace: env.HATCHET_CLIENT_NAMESPACE,
  });
  const marks = new Map<string, NativeMarks>();
  const task = declare(hatchet, marks);
  const worker = await hatchet.worker("bench-native", { workflows: [task], slots, handleKill: false });
  // The SDK rejects this when it gives up on the engine (about 20 failed subscriptions): an
  // unhandled rejection would end the benchmark without its cleanup, so it is only logged.
  worker.start().catch((err: Error) => console.error(`[bench] native worker stopped: ${err.message}`));
  await worker.waitUntilReady(60_000);
  return { hatchet, task, marks, stop: () => worker.stop() };
}
