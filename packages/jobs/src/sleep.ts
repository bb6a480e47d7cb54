// Waits a given time; exercises timeouts, cancellation and interrupts without side effects.

import { defineJobType } from "@switchyard/core/job-type";
import { z } from "zod";

export const sleep = defineJobType({
  name: "sleep",
  description: "Waits `ms` milliseconds, stopping early when the job is cancelled or interrupted.",
  parameters: z.strictObject({
    ms: z.number().int().min(0).max(900_000),
  }),
  defaults: { timeoutSeconds: 900, retries: 0 },
  async run({ ms }, ctx) {
    const { signal } = ctx;
    signal.throwIfAborted();
    await ctx.log(`sleeping ${ms} ms`);
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      // The signal may have fired while the log call was in flight; a late listener would never run.
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    return { slept_ms: Math.round(performance.now() - started) };
  },
});
