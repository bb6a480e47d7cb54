// The webhook worker's runtime, independent of Lambda: publish the job types, run one attempt
// of one job with its context, write the outcome. The function in functions/worker only verifies
// the request and calls into here.
import { Execution, type JobContext, JobFailure, type JobType } from "@switchyard/core";
import type { Db } from "@switchyard/db";
import { JOB_WORKFLOW } from "@switchyard/hatchet/workflow";
import type { DeliveryRequest, DeliveryResponse, HealthResponse } from "@switchyard/relay/contract";
import { z } from "zod";
import { jobTypes } from "./index.ts";

export const WORKER_VERSION = "1";

export function healthInfo(types: readonly JobType[] = jobTypes): HealthResponse {
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
    actions: types.map((t) => `${JOB_WORKFLOW}:${t.name}`),
  };
}

export interface RunOptions {
  /** Milliseconds the invocation has left (Lambda's getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** How often the job row is read for a stop request; the executor's signal fires within one period. */
  pollMs?: number;
  types?: readonly JobType[];
}

/** Time kept back before the invocation's end to write the outcome. */
const DEADLINE_MARGIN_MS = 3000;

export async function runDelivery(db: Db, req: DeliveryRequest, opts: RunOptions): Promise<DeliveryResponse> {
  const begin = await Execution.beginAttempt(db, {
    jobId: req.job_id,
    tenantId: req.tenant_id,
    runId: req.run_id,
    attempt: req.attempt,
  });
  if (begin.kind === "skip") return { status: "skipped", reason: begin.reason };
  if (begin.kind === "replay") return begin.outcome as DeliveryResponse;
  if (begin.kind === "busy") return { status: "busy", reason: begin.reason };
  const { job } = begin;
  const finish = (o: Execution.Outcome) =>
    Execution.finishAttempt(db, job, req.run_id, req.attempt, o) as Promise<DeliveryResponse>;

  const type = (opts.types ?? jobTypes).find((t) => t.name === req.api_name);
  if (!type)
    return finish({ status: "error", error: `this worker does not serve '${req.api_name}'`, retryable: false });
  const parsed = type.parameters.safeParse(job.parameters);
  if (!parsed.success) {
    return finish({ status: "error", error: `invalid parameters: ${z.prettifyError(parsed.error)}`, retryable: false });
  }

  const controller = new AbortController();
  let stopReason: keyof typeof abortMessages | undefined;
  const abort = (why: NonNullable<typeof stopReason>) => {
    if (controller.signal.aborted) return;
    stopReason = why;
    controller.abort(new Error(abortMessages[why]));
  };
  const budget = Math.min(type.defaults.timeoutSeconds * 1000, opts.remainingMs() - DEADLINE_MARGIN_MS);
  const timer = setTimeout(() => abort("timeout"), Math.max(0, budget));
  // A Lambda cannot take a second request for this invocation, so it learns of a stop by polling;
  // the same call is the attempt's heartbeat. Without one for half the lease, the attempt is given
  // up before another delivery may take it over (Execution.ATTEMPT_LEASE_MS).
  let lastBeatSentAt = Date.now();
  const key = { jobId: job.id, runId: req.run_id, attempt: req.attempt };
  const poller = setInterval(() => {
    if (Date.now() - lastBeatSentAt > Execution.ATTEMPT_LEASE_MS / 2) abort("lease");
    const sentAt = Date.now();
    Execution.heartbeat(db, key)
      .then((stop) => {
        lastBeatSentAt = Math.max(lastBeatSentAt, sentAt);
        if (stop) abort(stop);
      })
      .catch(() => {});
  }, opts.pollMs ?? 250);

  const ctx: JobContext = {
    jobId: job.id,
    tenantId: job.tenantId,
    targetId: job.targetId,
    attempt: req.attempt,
    signal: controller.signal,
    log: (content, logType = "message") => Execution.addLog(db, job.id, logType, content),
    progress: (fraction, message) => Execution.addLog(db, job.id, "progress", { fraction, message }),
    recordHttpExchange: (ex) => Execution.recordExchange(db, job.id, req.attempt, { ...ex }),
  };
  try {
    const result = await type.run(parsed.data, ctx);
    if (stopReason === "cancel" || stopReason === "interrupt") return finish(stopped(stopReason));
    return finish({ status: "success", result: result ?? {} });
  } catch (err) {
    if (stopReason === "cancel" || stopReason === "interrupt") return finish(stopped(stopReason));
    const message = err instanceof Error ? err.message : String(err);
    // Unexpected exceptions may be transient; job types say otherwise with JobFailure(…, false).
    const retryable = stopReason === "lease" || (err instanceof JobFailure ? err.retryable : true);
    const error =
      stopReason === "timeout"
        ? `timed out after ${Math.round(budget / 1000)} s`
        : stopReason === "lease"
          ? abortMessages.lease
          : message;
    if (retryable && req.attempt < req.retries) return finish({ status: "retry", error });
    return finish({ status: "error", error, retryable });
  } finally {
    clearTimeout(timer);
    clearInterval(poller);
  }
}

const abortMessages = {
  cancel: "job canceled",
  interrupt: "job interrupted",
  timeout: "job timed out",
  lease: "lost contact with the database; stopped so that a later attempt can take over",
} as const;

function stopped(why: "cancel" | "interrupt"): Execution.Outcome {
  return why === "cancel"
    ? { status: "canceled", error: "Job was canceled by user" }
    : { status: "paused", error: "Job was interrupted by user" };
}
