// A Hatchet worker that completes every run of switchyard's job workflow at once, without touching
// switchyard's database. Run as its own process (`node --import tsx bench/lib/noop-worker.ts`)
// under a namespace of its own, it lets the API handlers be timed in the benchmark process while
// their runs are triggered, assigned and finished as in a live system (runs left queued without a
// worker make the engine requeue them over and over, which would load the machine instead).
import { ConcurrencyLimitStrategy } from "@hatchet-dev/typescript-sdk/v1";
import { CONCURRENCY_EXPRESSION, hatchetClient, hatchetSettingsFromEnv, JOB_WORKFLOW } from "@switchyard/hatchet";

async function main() {
  const hatchet = hatchetClient(hatchetSettingsFromEnv());
  const task = hatchet.task({
    name: JOB_WORKFLOW,
    concurrency: {
      expression: CONCURRENCY_EXPRESSION,
      maxRuns: 1,
      limitStrategy: ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN,
    },
    fn: async () => ({}),
  });
  const worker = await hatchet.worker("bench-noop", { workflows: [task], slots: 100, handleKill: false });
  void worker.start();
  await worker.waitUntilReady(60_000);
  console.log("noop worker ready");
  const stop = async () => {
    await worker.stop().catch(() => {});
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
