// The relay's trigger: job runs started with the engine's gRPC bulk call, the submits that arrive
// while one call is in flight going together in the next. Cancels and run states go over REST.
//
// Why not REST, one run per call: in a burst every hand-over waited for its own trigger (116 ms
// p50 with 40 at once), and the dispatcher's claims queued behind them. Why not the SDK's default
// gRPC client: it retries a failed trigger for ~25 s, which stalled the dispatcher while the
// engine was away; this client makes one attempt and the job goes back to waiting (the relay's
// sweep tries again), as with REST.
import type { HatchetClient } from "@hatchet-dev/typescript-sdk/v1/index.js";
import type { JobRunInput, Orchestrator, RunState, WebhookRunInput } from "@switchyard/core";
import type { HatchetRest } from "./rest.ts";
import { JOB_WORKFLOW } from "./workflow.ts";

interface Pending {
  input: JobRunInput;
  resolve: (runId: string) => void;
  reject: (err: Error) => void;
}

export interface BulkTriggerOptions {
  /** An SDK client made with `hatchetClient(settings, { retries: false })`. */
  hatchet: HatchetClient;
  rest: HatchetRest;
  /** Runs per call at most (the engine takes up to 1,000). */
  maxBatch?: number;
  /** A call that has not answered by then fails its runs; the jobs go back to waiting. */
  timeoutMs?: number;
}

export class HatchetBulkTrigger implements Orchestrator {
  private queue: Pending[] = [];
  private inFlight = false;

  constructor(private readonly opts: BulkTriggerOptions) {}

  submit(input: JobRunInput): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      // The first submit schedules the call; the others made in the same turn of the event loop
      // join it. While a call is in flight, its end starts the next one.
      if (!this.inFlight && this.queue.length === 1) setImmediate(() => void this.flush());
    });
  }

  cancel(runId: string): Promise<void> {
    return this.opts.rest.cancel(runId);
  }

  runState(runId: string): Promise<RunState> {
    return this.opts.rest.runState(runId);
  }

  runWorker(runId: string): Promise<string | undefined> {
    return this.opts.rest.runWorker(runId);
  }

  heldByDeadWorker(runId: string): Promise<boolean> {
    return this.opts.rest.heldByDeadWorker(runId);
  }

  /** Webhook events are few and not batched: one REST trigger each. */
  submitWebhook(input: WebhookRunInput): Promise<string> {
    return this.opts.rest.submitWebhook(input);
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch = this.queue.splice(0, this.opts.maxBatch ?? 500);
    try {
      const ids = await this.trigger(batch.map((p) => p.input));
      batch.forEach((p, i) => {
        const id = ids[i];
        if (id) p.resolve(id);
        else p.reject(new Error("the engine answered without a run id"));
      });
    } catch (err) {
      for (const p of batch) p.reject(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.inFlight = false;
      // What arrived meanwhile goes in the next call.
      if (this.queue.length > 0) void this.flush();
    }
  }

  private async trigger(inputs: JobRunInput[]): Promise<string[]> {
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`bulk trigger timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const call = this.opts.hatchet.admin.runWorkflows(
        inputs.map((input) => ({
          workflowName: JOB_WORKFLOW,
          input,
          options: {
            additionalMetadata: { job_id: input.jobId, target_id: input.targetId, tenant_id: input.tenantId },
          },
        })),
      );
      const refs = await Promise.race([call, timeout]);
      return await Promise.all(refs.map((r) => r.getWorkflowRunId()));
    } finally {
      clearTimeout(timer);
    }
  }
}
