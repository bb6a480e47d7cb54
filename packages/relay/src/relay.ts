// The relay: a Hatchet worker (gRPC) that holds the slots and, for each run, POSTs a signed
// delivery to the webhook worker serving the job's type. Hatchet keeps the retries, timeouts and
// the one-run-per-target concurrency; Postgres keeps the job's truth.

import { setTimeout as sleep } from "node:timers/promises";
import {
  ConcurrencyLimitStrategy,
  type Context,
  type HatchetClient,
  type JsonObject,
  NonRetryableError,
} from "@hatchet-dev/typescript-sdk/v1";
import { Dispatch, Execution, type JobRunInput, JobTypes, type Scheduler } from "@switchyard/core";
import { type Database, type Db, jobs } from "@switchyard/db";
import { CONCURRENCY_EXPRESSION, JOB_WORKFLOW, MAX_EXECUTION, MAX_RETRIES } from "@switchyard/hatchet";
import { and, eq } from "drizzle-orm";
import type { DeliveryResponse } from "./contract.ts";
import { startDispatcher } from "./dispatcher.ts";
import * as Registry from "./registry.ts";
import { deliver, WorkerCallError } from "./worker-client.ts";

export interface RelayOptions {
  database: Database;
  hatchet: HatchetClient;
  /**
   * Triggers the runs the relay hands over and cancels held ones (HatchetBulkTrigger: one attempt
   * per call, so a failure returns the job to waiting instead of stalling the dispatcher).
   */
  scheduler: Scheduler;
  slots?: number;
  /** How often targets with waiting jobs are checked (a safety net: notifications dispatch at once). */
  sweepIntervalMs?: number;
  /** How often workers' health and job types are refreshed. */
  refreshIntervalMs?: number;
  /** How long a stop waits for running deliveries. */
  graceMs?: number;
  /**
   * A run handed over this long ago that has not started while this relay had free slots all
   * along is held by the engine (seen after an engine restart: assigned, never sent): it is
   * withdrawn and the job handed over again.
   */
  heldAfterMs?: number;
  log?: (msg: string) => void;
}

export interface Relay {
  stop(): Promise<void>;
  /** Dispatches every target that has a job waiting and nothing in flight. */
  sweep(): Promise<number>;
  /** Withdraws and hands over again the runs the engine holds without starting; returns how many. */
  releaseHeldRuns(heldAfterMs?: number): Promise<number>;
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const { hatchet } = opts;
  const { db } = opts.database;
  const log = opts.log ?? ((m: string) => console.log(`[relay] ${m}`));
  const inFlight = new Set<Promise<unknown>>();
  const slots = opts.slots ?? 100;
  // Since when this relay has had a free slot (a run not started meanwhile was not waiting for one).
  let freeSince = Date.now();

  const task = hatchet.task<JobRunInput, JsonObject>({
    name: JOB_WORKFLOW,
    concurrency: {
      expression: CONCURRENCY_EXPRESSION,
      maxRuns: 1,
      limitStrategy: ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN,
    },
    executionTimeout: MAX_EXECUTION,
    retries: MAX_RETRIES,
    backoff: { factor: 2, maxSeconds: 30 },
    fn: async (input, ctx) => {
      const work = relayRun(db, input, ctx);
      inFlight.add(work);
      if (inFlight.size >= slots) freeSince = Number.POSITIVE_INFINITY;
      try {
        // The worker's answer is parsed JSON, so it is a JSON object as the SDK wants.
        return (await work) as unknown as JsonObject;
      } finally {
        if (inFlight.size >= slots) freeSince = Date.now();
        inFlight.delete(work);
        handOverNext(input.targetId);
      }
    },
  });

  const dispatcher = await startDispatcher({ database: opts.database, scheduler: opts.scheduler, log });
  // The end of a run is the moment the target's next job can go. It is handed over just after
  // this run's completion leaves for Hatchet: triggered earlier, the next run would queue behind
  // this run's concurrency slot until the engine has recorded the completion.
  const handOverNext = (targetId: string) => void setTimeout(() => void dispatcher.wake(targetId), 0);

  const worker = await hatchet.worker("switchyard-relay", {
    workflows: [task],
    slots,
    handleKill: false,
  });
  void worker.start();
  await worker.waitUntilReady(60_000);

  const refresh = () => Registry.refresh(db).catch((err: Error) => log(`worker refresh failed: ${err.message}`));
  await refresh();
  const sweep = () =>
    dispatcher.sweep().catch((err: Error) => {
      log(`sweep failed: ${err.message}`);
      return 0;
    });
  await sweep();
  const releaseHeldRuns = async (heldAfterMs = opts.heldAfterMs ?? 3 * 60_000) => {
    if (Date.now() - freeSince < heldAfterMs) return 0;
    let released = 0;
    for (const job of await Dispatch.staleHandOvers(db, heldAfterMs)) {
      const runId = job.hatchetRunId ?? "";
      // Withdrawn first, so a run that starts after all finds the job no longer its own.
      const why = `Hatchet held run ${runId} for over ${Math.round(heldAfterMs / 1000)} s without starting it`;
      if (!(await Dispatch.withdrawHandOver(db, job.id, runId, why))) continue;
      // Until the engine drops it, the held run keeps the target's concurrency slot.
      await opts.scheduler
        .cancel(runId)
        .catch((err: Error) => log(`cancel of held run ${runId} failed: ${err.message}`));
      void dispatcher.wake(job.targetId);
      released++;
    }
    if (released) log(`released ${released} run(s) the engine held without starting`);
    return released;
  };
  const timers = [
    setInterval(() => void sweep(), opts.sweepIntervalMs ?? 2000),
    setInterval(() => {
      void refresh();
      void releaseHeldRuns().catch((err: Error) => log(`held-run check failed: ${err.message}`));
    }, opts.refreshIntervalMs ?? 30_000),
  ];

  return {
    sweep: dispatcher.sweep,
    releaseHeldRuns,
    async stop() {
      for (const t of timers) clearInterval(t);
      // Stop taking work, then let running deliveries finish within the grace period.
      await worker.pause().catch(() => {});
      const grace = new Promise((r) => setTimeout(r, opts.graceMs ?? 30_000).unref());
      await Promise.race([Promise.allSettled([...inFlight]), grace]);
      await dispatcher.stop();
      await worker.stop();
    },
  };
}

/** How often a delivery answered "busy" is tried again. */
const BUSY_RECHECK_MS = 500;

async function relayRun(db: Db, input: JobRunInput, ctx: Context<JobRunInput>): Promise<DeliveryResponse> {
  const attempt = ctx.retryCount();
  const type = await JobTypes.findDelivery(db, input.apiName);
  if (!type) return fail(db, input.jobId, `no registered worker serves job type '${input.apiName}'`);

  // A cancel of the run in Hatchet becomes a stop request the worker sees (it cannot receive a
  // second request for the invocation), so its executor is aborted too.
  const hatchetSignal = ctx.abortController.signal;
  const onCancel = () => {
    void db
      .update(jobs)
      .set({ stopRequested: "cancel" })
      .where(and(eq(jobs.id, input.jobId), eq(jobs.status, "running")))
      .catch(() => {});
  };
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
  // Whatever an earlier, cut-off delivery still runs cannot outlast its own timeout plus the lease.
  const busyUntil = Date.now() + (type.timeoutSeconds + Execution.ATTEMPT_LEASE_MS / 1000 + 5) * 1000;
  try {
    let res: DeliveryResponse;
    for (;;) {
      const signal = AbortSignal.any([hatchetSignal, AbortSignal.timeout((type.timeoutSeconds + 15) * 1000)]);
      res = await deliver(type.url, type.secret, request, signal);
      // Waiting here rather than failing the attempt keeps the job's retries for real failures.
      if (res.status !== "busy" || Date.now() > busyUntil || hatchetSignal.aborted) break;
      await sleep(BUSY_RECHECK_MS, undefined, { signal: hatchetSignal }).catch(() => {});
    }
    if (res.status === "busy") throw new Error(res.reason);
    if (res.status === "retry") throw new Error(res.error);
    if (res.status === "error") throw new NonRetryableError(res.error);
    return res;
  } catch (err) {
    if (err instanceof NonRetryableError || hatchetSignal.aborted) throw err;
    const transient = !(err instanceof WorkerCallError) || err.status === 0 || err.status >= 500;
    const message = err instanceof Error ? err.message : String(err);
    if (transient && attempt < type.retries) throw err;
    // 4xx, or the last attempt: the job cannot finish on its own any more.
    return fail(db, input.jobId, `delivery failed (attempt ${attempt}): ${message}`);
  } finally {
    hatchetSignal.removeEventListener("abort", onCancel);
  }
}

async function fail(db: Db, jobId: string, error: string): Promise<never> {
  await Execution.failFromOrchestrator(db, jobId, error);
  throw new NonRetryableError(error);
}
