// The webhook worker's runtime, independent of Lambda and of who delivers: publish the job types,
// run one attempt of one job with its context, store the outcome. functions/worker verifies the
// request (relay or engine operator), then calls into here.
import {
  type DeliveryAnswer,
  type HealthResponse,
  type JobContext,
  JobFailure,
  type JobType,
  Lifecycle,
  type Outcome,
  type Timing,
  traced,
} from "@switchyard/core";
import type { Db } from "@switchyard/db";
import { z } from "zod";
import { jobTypes } from "./index.ts";

export const WORKER_VERSION = "1";

/** The worker's health answer; `actions` are the Hatchet action ids it serves. */
export function healthInfo(actions: string[], types: readonly JobType[] = jobTypes): HealthResponse {
  return {
    name: "switchyard-worker",
    version: WORKER_VERSION,
    job_types: types.map((t) => ({
      name: t.name,
      description: t.description,
      // "input": fields with defaults are optional to callers, as the API must see them.
      parameters: z.toJSONSchema(t.parameters, { io: "input" }) as Record<string, unknown>,
      defaults: { timeout_seconds: t.defaults.timeoutSeconds, retries: t.defaults.retries },
    })),
    actions,
  };
}

/** One attempt of one job, whoever delivered it. */
export interface AttemptRequest {
  jobId: string;
  tenantId: string;
  apiName: string;
  /** The orchestrator's run id. */
  runId: string;
  attempt: number;
  /** Attempts after the first that the job may have; the last one's failure is final. */
  retries: number;
}

export interface RunOptions {
  timing: Pick<Timing, "attemptLeaseMs" | "heartbeatMs" | "deadlineMarginMs">;
  /** Milliseconds the invocation has left (Lambda's getRemainingTimeInMillis). */
  remainingMs: () => number;
  types?: readonly JobType[];
}

/** The job type a worker serves under `name`, from its own list. */
export function servedType(name: string, types: readonly JobType[] = jobTypes): JobType | undefined {
  return types.find((t) => t.name === name);
}

export function runAttempt(db: Db, req: AttemptRequest, opts: RunOptions): Promise<DeliveryAnswer> {
  // Every line of the attempt, the executor's included, carries the job's and the run's ids.
  const ids = { job_id: req.jobId, tenant_id: req.tenantId, hatchet_run_id: req.runId, attempt: req.attempt };
  return traced(ids, () => attempt(db, req, opts));
}

async function attempt(db: Db, req: AttemptRequest, opts: RunOptions): Promise<DeliveryAnswer> {
  const key = { jobId: req.jobId, runId: req.runId, attempt: req.attempt };
  const begin = await Lifecycle.beginAttempt(db, { ...key, tenantId: req.tenantId }, opts.timing);
  if (begin.kind === "skip") return { status: "skipped", reason: begin.reason };
  if (begin.kind === "replay") return begin.outcome;
  if (begin.kind === "busy") return { status: "busy", reason: begin.reason };
  const finish = (o: Outcome) => Lifecycle.finishAttempt(db, begin.job, key, o);
  // The orchestrator delivered more often than the job's retries allow. If an earlier attempt of
  // this run did start, it ended without an answer (its worker stopped, or its call was cut) and
  // was the last one allowed. (If none started, the earlier deliveries never reached a worker, as
  // when a relay dies between the engine's assignment and its call, and this one runs.)
  if (req.attempt > req.retries && (await Lifecycle.startedAttempts(db, key)) > 0) {
    const error = `attempt ${req.attempt - 1} ended without an answer from its worker, and no retry is left`;
    return finish({ status: "error", error, retryable: true });
  }

  const type = servedType(req.apiName, opts.types);
  if (!type) return finish({ status: "error", error: `this worker does not serve '${req.apiName}'`, retryable: false });
  const parsed = type.parameters.safeParse(begin.job.parameters);
  if (!parsed.success) {
    return finish({ status: "error", error: `invalid parameters: ${z.prettifyError(parsed.error)}`, retryable: false });
  }
  const budgetMs = Math.min(type.defaults.timeoutSeconds * 1000, opts.remainingMs() - opts.timing.deadlineMarginMs);
  const watch = watchAttempt(db, key, budgetMs, opts.timing);
  const ctx: JobContext = {
    jobId: begin.job.id,
    tenantId: begin.job.tenantId,
    targetId: begin.job.targetId,
    attempt: req.attempt,
    signal: watch.signal,
    log: (content, logType = "message") => Lifecycle.addLog(db, req.jobId, logType, content),
    progress: (fraction, message) => Lifecycle.addLog(db, req.jobId, "progress", { fraction, message }),
    recordHttpExchange: (ex) => Lifecycle.recordExchange(db, req.jobId, req.attempt, { ...ex }),
  };
  try {
    const result = await type.run(parsed.data, ctx);
    return finish(watch.stopped() ?? { status: "success", result: result ?? {} });
  } catch (err) {
    return finish(watch.stopped() ?? failureOutcome(err, watch.reason(), budgetMs, req));
  } finally {
    watch.end();
  }
}

/** How an executor's exception ends the attempt: another attempt, or the job's failure. */
function failureOutcome(err: unknown, reason: AbortReason | undefined, budgetMs: number, req: AttemptRequest): Outcome {
  // Unexpected exceptions may be transient; job types say otherwise with JobFailure(…, false).
  const retryable = reason === "lease" || (err instanceof JobFailure ? err.retryable : true);
  const error =
    reason === "timeout"
      ? `timed out after ${Math.round(budgetMs / 1000)} s`
      : reason === "lease"
        ? abortMessages.lease
        : err instanceof Error
          ? err.message
          : String(err);
  if (retryable && req.attempt < req.retries) return { status: "retry", error };
  return { status: "error", error, retryable };
}

const abortMessages = {
  cancel: "job canceled",
  interrupt: "job interrupted",
  timeout: "job timed out",
  lease: "lost contact with the database; stopped so that a later attempt can take over",
} as const;

type AbortReason = keyof typeof abortMessages;

/**
 * The executor's AbortSignal and what fires it: the time budget, a stop request, or losing the
 * attempt's lease. A Lambda cannot take a second request for its invocation, so it learns of a
 * stop by polling; the same call is the attempt's heartbeat. Without one written for half the
 * lease, the executor is stopped before another delivery may take the attempt over.
 */
function watchAttempt(db: Db, key: Lifecycle.AttemptKey, budgetMs: number, timing: RunOptions["timing"]) {
  const controller = new AbortController();
  let reason: AbortReason | undefined;
  const abort = (why: AbortReason) => {
    if (controller.signal.aborted) return;
    reason = why;
    controller.abort(new Error(abortMessages[why]));
  };
  const timer = setTimeout(() => abort("timeout"), Math.max(0, budgetMs));
  let lastBeatSentAt = Date.now();
  const poller = setInterval(() => {
    if (Date.now() - lastBeatSentAt > timing.attemptLeaseMs / 2) abort("lease");
    const sentAt = Date.now();
    Lifecycle.heartbeat(db, key)
      .then((stop) => {
        lastBeatSentAt = Math.max(lastBeatSentAt, sentAt);
        if (stop) abort(stop);
      })
      .catch(() => {});
  }, timing.heartbeatMs);
  return {
    signal: controller.signal,
    reason: () => reason,
    /** The outcome a stop request imposes, whatever the executor returned or threw. */
    stopped: (): Outcome | undefined =>
      reason === "cancel" || reason === "interrupt" ? Lifecycle.stoppedOutcome(reason) : undefined,
    end() {
      clearTimeout(timer);
      clearInterval(poller);
    },
  };
}
