// The relay (relay mode): a Hatchet worker (gRPC) that holds the slots and, for each run, POSTs a
// signed delivery to the webhook worker serving the job's type. For engines that cannot reach the
// worker (a private network); direct mode needs no relay. Hatchet keeps the retries, timeouts and
// the one-run-per-target concurrency; Postgres keeps the job's truth.
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Clock,
  type DeliveryAnswer,
  type JobRunInput,
  JobTypes,
  Lifecycle,
  metric,
  type Orchestrator,
  log as observe,
  systemClock,
  type Timing,
  traced,
} from "@switchyard/core";
import type { Database, Db } from "@switchyard/db";
import { type Context, type HatchetClient, jobTask, NonRetryableError, webhookTask } from "@switchyard/hatchet/sdk";
import { deliver, deliverEvent, type OutboundPolicy, WorkerCallError, Workers } from "@switchyard/workers";
import { startDispatcher } from "./dispatcher.ts";

export interface RelayOptions {
  database: Database;
  hatchet: HatchetClient;
  /**
   * Triggers the runs the relay hands over and cancels held ones (HatchetBulkTrigger: one attempt
   * per call, so a failure returns the job to waiting instead of stalling the dispatcher).
   */
  orchestrator: Orchestrator;
  timing: Timing;
  clock?: Clock;
  /** Where webhook events may be sent (local runs allow http and local addresses). */
  webhookPolicy?: OutboundPolicy;
  slots?: number;
  log?: (msg: string) => void;
}

export interface Relay {
  stop(): Promise<void>;
  /**
   * Withdraws and hands over again the runs the engine holds without starting (for longer than
   * `heldRunMs`, or the given time); returns how many.
   */
  releaseHeldRuns(olderThanMs?: number): Promise<number>;
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const { database, timing } = opts;
  const { db } = database;
  // What the relay reports unasked is trouble: a failed check, a repair it made.
  const log = opts.log ?? ((m: string) => observe.warn(m, { role: "relay" }));
  const slots = opts.slots ?? 100;
  const deliveries = new Deliveries(slots, opts.clock ?? systemClock);

  const dispatcher = await startDispatcher({ database, orchestrator: opts.orchestrator, timing, log });
  const task = jobTask(opts.hatchet, async (input, ctx) => {
    try {
      // The worker's answer is parsed JSON, so it is a JSON object as the SDK wants.
      const ids = {
        role: "relay",
        job_id: input.jobId,
        tenant_id: input.tenantId,
        target_id: input.targetId,
        hatchet_run_id: ctx.workflowRunId(),
        attempt: ctx.retryCount(),
      };
      const run = traced(ids, () => relayRun(db, timing, input, ctx));
      return (await deliveries.track(run)) as unknown as Record<string, never>;
    } finally {
      // The end of a run is the moment the target's next job can go. It is handed over just after
      // this run's completion leaves for Hatchet: triggered earlier, the next run would queue
      // behind this run's concurrency slot until the engine has recorded the completion.
      setTimeout(() => void dispatcher.wake(input.targetId), 0);
    }
  });
  // Completion-webhook events are delivered from here too, in relay mode.
  const webhooks = webhookTask(opts.hatchet, timing.webhookBackoffMaxMs, async (input, ctx) => {
    const outcome = await deliverEvent(
      db,
      input.eventId,
      ctx.retryCount(),
      opts.webhookPolicy ?? { allowLocal: false },
    );
    if (outcome.status === "retry") throw new Error(outcome.error);
    return outcome as unknown as Record<string, never>;
  });
  const worker = await opts.hatchet.worker("switchyard-relay", {
    workflows: [task, webhooks],
    slots,
    handleKill: false,
  });
  void worker.start();
  await worker.waitUntilReady(60_000);

  const refreshWorkers = () => Workers.refresh(db).catch((err: Error) => log(`worker refresh failed: ${err.message}`));
  await refreshWorkers();
  const releaseHeldRuns = (heldRunMs = timing.heldRunMs) =>
    releaseHeld(db, opts.orchestrator, heldRunMs, deliveries, dispatcher.wake, log);
  const timers = [
    setInterval(() => {
      void refreshWorkers();
      void releaseHeldRuns(timing.heldRunMs).catch((err: Error) => log(`held-run check failed: ${err.message}`));
    }, timing.workerRefreshMs),
  ];

  return {
    releaseHeldRuns,
    async stop() {
      for (const t of timers) clearInterval(t);
      // Stop taking work, then let running deliveries finish within the grace period.
      await worker.pause().catch(() => {});
      await deliveries.drain(timing.drainMs);
      await dispatcher.stop();
      await worker.stop();
    },
  };
}

/** The relay's deliveries in flight, and since when it has had a free slot. */
class Deliveries {
  private readonly inFlight = new Set<Promise<unknown>>();
  /** A run not started while this relay had a free slot was not waiting for one. */
  private freeSince: number;

  constructor(
    private readonly slots: number,
    private readonly clock: Clock,
  ) {
    this.freeSince = clock.now();
  }

  async track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    if (this.inFlight.size >= this.slots) this.freeSince = Number.POSITIVE_INFINITY;
    try {
      return await work;
    } finally {
      if (this.inFlight.size >= this.slots) this.freeSince = this.clock.now();
      this.inFlight.delete(work);
    }
  }

  /** How long a slot has been free without interruption (0 while every slot is taken). */
  freeFor(): number {
    return Math.max(0, this.clock.now() - this.freeSince);
  }

  async drain(graceMs: number): Promise<void> {
    const grace = new Promise((r) => setTimeout(r, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
  }
}

/**
 * A run handed over more than `heldRunMs` ago that has not started, while this relay had a free
 * slot all along, is held by the engine (seen after an engine restart: assigned, never sent). It
 * is withdrawn first (so a run that starts after all finds the job no longer its own), cancelled
 * (until the engine drops it, it keeps the target's concurrency slot), and the job handed over again.
 */
async function releaseHeld(
  db: Db,
  orchestrator: Orchestrator,
  heldRunMs: number,
  deliveries: Deliveries,
  wake: (targetId: string) => Promise<void>,
  log: (msg: string) => void,
): Promise<number> {
  if (deliveries.freeFor() < heldRunMs) return 0;
  let released = 0;
  for (const job of await Lifecycle.staleHandOvers(db, heldRunMs)) {
    const runId = job.hatchetRunId ?? "";
    const why = `Hatchet held run ${runId} for over ${Math.round(heldRunMs / 1000)} s without starting it`;
    if (!(await Lifecycle.withdraw(db, job.id, runId, why))) continue;
    await orchestrator.cancel(runId).catch((err: Error) => log(`cancel of held run ${runId} failed: ${err.message}`));
    void wake(job.targetId);
    released++;
  }
  if (released) log(`released ${released} run(s) the engine held without starting`);
  return released;
}

/** One delivery of one run to the worker serving the job's type; its answer becomes the run's. */
async function relayRun(
  db: Db,
  timing: Timing,
  input: JobRunInput,
  ctx: Context<JobRunInput>,
): Promise<DeliveryAnswer> {
  const attempt = ctx.retryCount();
  const type = await JobTypes.findDelivery(db, input.apiName);
  if (!type) return failJob(db, input.jobId, `no registered worker serves job type '${input.apiName}'`);

  // A cancel of the run in Hatchet becomes a stop request the worker sees (it cannot receive a
  // second request for the invocation), so its executor is aborted too.
  const hatchetSignal = ctx.abortController.signal;
  const onCancel = () => void Lifecycle.requestStop(db, input.jobId, "cancel").catch(() => {});
  hatchetSignal.addEventListener("abort", onCancel, { once: true });
  const request = {
    job_id: input.jobId,
    tenant_id: input.tenantId,
    target_id: input.targetId,
    api_name: input.apiName,
    run_id: ctx.workflowRunId(),
    attempt,
    retries: type.retries,
    timeout_seconds: type.timeoutSeconds,
  };
  try {
    const res = await deliverUntilFree(type, request, hatchetSignal, timing);
    if (res.status === "busy") throw new Error(res.reason);
    if (res.status === "retry") throw new Error(res.error);
    if (res.status === "error") throw new NonRetryableError(res.error);
    return res;
  } catch (err) {
    if (err instanceof NonRetryableError || hatchetSignal.aborted) throw err;
    const transient = !(err instanceof WorkerCallError) || err.status === 0 || err.status >= 500;
    const message = err instanceof Error ? err.message : String(err);
    observe.warn("delivery to the worker failed", { reason: message, transient });
    metric("DeliveryFailures", 1, { kind: "job" });
    if (transient && attempt < type.retries) throw err;
    // 4xx, or the last attempt: the job cannot finish on its own any more.
    return failJob(db, input.jobId, `delivery failed (attempt ${attempt}): ${message}`);
  } finally {
    hatchetSignal.removeEventListener("abort", onCancel);
  }
}

/**
 * Delivers, and while the worker answers "busy" (an earlier, cut-off delivery of the job still
 * runs) delivers again: waiting here keeps the job's retries for real failures. Whatever runs
 * cannot outlast its own timeout plus the lease.
 */
async function deliverUntilFree(
  type: { url: string; secret: string; timeoutSeconds: number },
  request: Parameters<typeof deliver>[2],
  hatchetSignal: AbortSignal,
  timing: Timing,
): Promise<DeliveryAnswer> {
  const busyUntil = Date.now() + type.timeoutSeconds * 1000 + timing.attemptLeaseMs + 5000;
  for (;;) {
    const signal = AbortSignal.any([hatchetSignal, AbortSignal.timeout((type.timeoutSeconds + 15) * 1000)]);
    const res = await deliver(type.url, type.secret, request, signal);
    if (res.status !== "busy" || Date.now() > busyUntil || hatchetSignal.aborted) return res;
    await sleep(timing.busyRecheckMs, undefined, { signal: hatchetSignal }).catch(() => {});
  }
}

async function failJob(db: Db, jobId: string, error: string): Promise<never> {
  await Lifecycle.failFromOrchestrator(db, jobId, error);
  throw new NonRetryableError(error);
}
