// The relay (relay mode): a Hatchet worker (gRPC) that holds the slots and, for each run, POSTs a
// signed delivery to the webhook worker serving the job's type. For engines that cannot reach the
// worker (a private network); direct mode needs no relay. Hatchet keeps the retries and timeouts;
// Postgres keeps the job's truth and gives each target one job at a time.
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Clock,
  type DeliveryAnswer,
  Dispatch,
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
  /**
   * A cheap call to the engine. When it answers again after failing, the relay takes its runs on a
   * fresh Hatchet worker at once (see `EngineWatch`). Without it, the SDK's listener reconnects on
   * its own clock.
   */
  probe?: () => Promise<unknown>;
}

export interface Relay {
  stop(): Promise<void>;
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
      return (await deliveries.track(ctx.workflowRunId(), run)) as unknown as Record<string, never>;
    } finally {
      // The end of a run is the moment the target's next job can go: the worker ended the job in
      // Postgres before it answered. Woken after this turn, so the run's completion leaves for
      // Hatchet first and frees this relay's slot for the next run.
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
  const startWorker = async () => {
    const w = await opts.hatchet.worker("switchyard-relay", { workflows: [task, webhooks], slots, handleKill: false });
    // A worker whose registration failed ends its start() at once: fail then, not after the wait.
    const stopped = w.start().then(
      () => new Error("the worker stopped before it was ready"),
      (err: Error) => {
        log(`relay worker stopped: ${err.message}`);
        return err;
      },
    );
    const ready = w.waitUntilReady(60_000).then(
      () => undefined,
      (err: Error) => err,
    );
    const failure = await Promise.race([ready, stopped]);
    if (failure) {
      await w.stop().catch(() => {});
      throw failure;
    }
    return w;
  };
  let worker = await startWorker();
  const replaced = new Replaced(opts.orchestrator, deliveries, timing.heldRunMs, opts.clock);
  const renewWorker = async () => {
    const old = worker;
    try {
      worker = await startWorker();
    } catch (err) {
      log(`worker renewal failed: ${(err as Error).message}`);
      throw err;
    }
    log("the engine answers again: the relay takes runs on a fresh worker");
    const oldId = old._internal?.workerId;
    if (oldId) replaced.add(oldId);
    void retire(old, log);
    // Runs the engine had assigned to the replaced worker are released now, not at the next sweep.
    runSweep();
  };
  const watch =
    opts.probe &&
    watchEngine(opts.probe, {
      everyMs: timing.sweepMs,
      retryMs: timing.engineRetryMs,
      down: (err) =>
        log(`the engine does not answer (${err.message}); the relay asks it again every ${timing.engineRetryMs} ms`),
      back: renewWorker,
    });

  const refreshWorkers = () => Workers.refresh(db).catch((err: Error) => log(`worker refresh failed: ${err.message}`));
  await refreshWorkers();
  const release = (held: HandOver[], why: (runId: string) => string) =>
    Dispatch.releaseRuns({ db, orchestrator: opts.orchestrator }, held, why, dispatcher.wake, log);
  const assigned = new AssignedUnstarted(opts.orchestrator, deliveries, timing.assignedUnstartedMs, opts.clock);
  /** The rules for runs the engine holds, on one read of the hand-overs that have waited. */
  const releaseHeldRuns = async () => {
    const sooner = Math.min(timing.assignedUnstartedMs, timing.heldRunMs);
    // Right after a replacement, hand-overs of any age: a run assigned to the replaced worker may
    // be seconds old, and nothing will send it. Whether this relay's slots are free plays no part.
    const stale = await Lifecycle.staleHandOvers(db, replaced.recent() ? 0 : sooner);
    const orphaned = await replaced.orphans(stale);
    await release(
      orphaned,
      (runId) =>
        `Hatchet assigned run ${runId} to a worker the relay replaced after an engine outage, where it never arrives`,
    );
    const free = deliveries.freeFor();
    // With every slot taken, runs wait for this relay; a run assigned meanwhile arrives as one frees.
    if (free < sooner) return;
    const waiting = stale.filter((h) => h.waitedMs >= sooner && !orphaned.includes(h));
    const lost = await assigned.check(waiting);
    await release(
      lost,
      (runId) =>
        `Hatchet assigned run ${runId} to a worker but no worker started it within ${Math.round(timing.assignedUnstartedMs / 1000)} s (an engine restart lost it)`,
    );
    if (free < timing.heldRunMs) return;
    await release(
      waiting.filter((h) => h.waitedMs >= timing.heldRunMs && !lost.includes(h)),
      (runId) => `Hatchet held run ${runId} for over ${Math.round(timing.heldRunMs / 1000)} s without starting it`,
    );
  };
  // On the sweep's clock: a held run is a lost hand-over, repaired as promptly as the others.
  let sweeping = false;
  function runSweep() {
    if (sweeping) return;
    sweeping = true;
    void releaseHeldRuns()
      .catch((err: Error) => log(`held-run check failed: ${err.message}`))
      .finally(() => {
        sweeping = false;
      });
  }
  const timers = [
    setInterval(() => void refreshWorkers(), timing.workerRefreshMs),
    setInterval(runSweep, timing.sweepMs),
  ];

  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      watch?.stop();
      // Stop taking work, then let running deliveries finish within the grace period.
      await worker.pause().catch(() => {});
      await deliveries.drain(timing.drainMs);
      await dispatcher.stop();
      await worker.stop();
    },
  };
}

type RelayWorker = Awaited<ReturnType<HatchetClient["worker"]>>;

/**
 * Watches the engine for its return after an outage. The SDK's action listener (1.33.2) waits a
 * fixed 5 s before each reconnect and 5 s more after each failed one, so after an engine restart a
 * relay took runs again only 7 to 18 s later. The SDK has no setting for this and no event for a
 * lost stream, so the relay asks the engine itself: every `everyMs` while it answers, every
 * `retryMs` once it has not. Two failures in a row (one may be a slow answer) are an outage
 * (`down`); the next answer calls `back` (the relay registers a fresh worker, whose listener
 * connects at once). A `back` that fails, say because the engine's REST side answers before its
 * gRPC side, is tried again on the next answer.
 */
function watchEngine(
  probe: () => Promise<unknown>,
  on: { everyMs: number; retryMs: number; down: (err: Error) => void; back: () => Promise<void> },
): { stop(): void } {
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async () => {
    try {
      await probe();
    } catch (err) {
      if (++failures === 2) on.down(err as Error);
      return;
    }
    if (failures >= 2) await on.back();
    failures = 0;
  };
  const next = () => {
    if (stopped) return;
    timer = setTimeout(
      () =>
        void check()
          .catch(() => {})
          .finally(next),
      failures > 0 ? on.retryMs : on.everyMs,
    );
  };
  next();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Stops a worker the relay replaced: paused, so the engine assigns it nothing more, its running
 * deliveries finish. Its listener, if asleep in a reconnect wait, subscribes once more when it
 * wakes (the SDK checks for a stop only between attempts), so it is unregistered again after the
 * longest such wait; otherwise its heartbeat would keep a paused worker alive for good.
 */
async function retire(old: RelayWorker, log: (msg: string) => void): Promise<void> {
  await old.stop().catch((err: Error) => log(`stopping the replaced worker failed: ${err.message}`));
  setTimeout(() => void old._internal.listener?.unregister().catch(() => {}), 11_000).unref();
}

/** The relay's deliveries in flight (by run), and since when it has had a free slot. */
class Deliveries {
  private readonly inFlight = new Map<Promise<unknown>, string>();
  /** A run not started while this relay had a free slot was not waiting for one. */
  private freeSince: number;

  constructor(
    private readonly slots: number,
    private readonly clock: Clock,
  ) {
    this.freeSince = clock.now();
  }

  async track<T>(runId: string, work: Promise<T>): Promise<T> {
    this.inFlight.set(work, runId);
    if (this.inFlight.size >= this.slots) this.freeSince = Number.POSITIVE_INFINITY;
    try {
      return await work;
    } finally {
      if (this.inFlight.size >= this.slots) this.freeSince = this.clock.now();
      this.inFlight.delete(work);
    }
  }

  /** The runs this relay is delivering now. */
  runs(): Set<string> {
    return new Set(this.inFlight.values());
  }

  /** How long a slot has been free without interruption (0 while every slot is taken). */
  freeFor(): number {
    return Math.max(0, this.clock.now() - this.freeSince);
  }

  async drain(graceMs: number): Promise<void> {
    const grace = new Promise((r) => setTimeout(r, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.inFlight.keys()]), grace]);
  }
}

type HandOver = Dispatch.HandOver;

/**
 * Hand-overs whose run the engine reports running (assigned to a worker) although it has not
 * started, no delivery of this relay holds it, and the engine said so on checks `confirmMs` apart.
 * An engine that dies between assigning a run and sending it leaves such a run: its successor
 * never sends it, and the run keeps its worker slot until its execution timeout (16 min). The
 * slower `heldRunMs` check stays for what this one cannot see (the engine's read side may not have
 * recorded the assignment before it died, and then reports the run queued).
 */
class AssignedUnstarted {
  /** Run id → when the engine was first seen reporting it running while it had not started. */
  private readonly since = new Map<string, number>();

  constructor(
    private readonly orchestrator: Orchestrator,
    private readonly deliveries: Deliveries,
    private readonly confirmMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Of these hand-overs, the ones to release now. */
  async check(waiting: HandOver[]): Promise<HandOver[]> {
    if (this.deliveries.freeFor() < this.confirmMs) return [];
    const delivering = this.deliveries.runs();
    const held: HandOver[] = [];
    const seen = new Set<string>();
    for (const job of waiting) {
      if (job.waitedMs < this.confirmMs) continue;
      const runId = job.hatchetRunId;
      if (!runId || delivering.has(runId)) continue;
      if ((await this.orchestrator.runState(runId).catch(() => undefined)) !== "RUNNING") continue;
      seen.add(runId);
      const since = this.since.get(runId) ?? this.clock.now();
      this.since.set(runId, since);
      if (this.clock.now() - since >= this.confirmMs) held.push(job);
    }
    for (const runId of this.since.keys()) if (!seen.has(runId)) this.since.delete(runId);
    return held;
  }
}

/** How many hand-overs one look for orphans asks the engine about. */
const ORPHAN_CHECKS = 20;

/**
 * The workers this relay replaced after an outage, and the runs the engine left assigned to them:
 * such a run never arrives (the replaced worker no longer listens), so it is released without
 * the two checks `AssignedUnstarted` needs. Looked for during `windowMs` after each replacement;
 * a run assigned later goes to the fresh worker, and the other rules cover what this one misses.
 */
class Replaced {
  private readonly ids: string[] = [];
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly orchestrator: Orchestrator,
    private readonly deliveries: Deliveries,
    private readonly windowMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  add(workerId: string): void {
    // The latest few: a relay replaces its worker once per engine outage.
    if (this.ids.push(workerId) > 10) this.ids.shift();
    this.lastAt = this.clock.now();
  }

  /** True while hand-overs of any age are to be looked at. */
  recent(): boolean {
    return this.clock.now() - this.lastAt < this.windowMs;
  }

  /**
   * Of these hand-overs, those whose run the engine assigned to a replaced worker. Only hand-overs
   * made before the latest replacement can be (the engine assigns nothing to a paused worker), and
   * at most `ORPHAN_CHECKS` are asked about per call, each costing the engine a read.
   */
  async orphans(waiting: HandOver[]): Promise<HandOver[]> {
    if (!this.recent()) return [];
    const sinceReplaced = this.clock.now() - this.lastAt;
    const delivering = this.deliveries.runs();
    const candidates = waiting.filter(
      (job) => job.hatchetRunId && job.waitedMs >= sinceReplaced && !delivering.has(job.hatchetRunId),
    );
    const out: HandOver[] = [];
    for (const job of candidates.slice(0, ORPHAN_CHECKS)) {
      const runId = job.hatchetRunId ?? "";
      const worker = await this.orchestrator.runWorker(runId).catch(() => undefined);
      if (worker && this.ids.includes(worker)) out.push(job);
    }
    return out;
  }
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
