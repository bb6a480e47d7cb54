// The engine's HTTP operator contract (direct mode, the default): the engine POSTs each assigned
// run (its AssignedAction as protobuf JSON) to `/operator/run` and polls `/operator/health` for the
// actions the worker serves, every call signed with X-Hatchet-Signature (see @switchyard/workers).
//
// What the answer means to the engine (v0.105.0): a 2xx body is the run's output; anything else
// fails the run, which the engine retries under the workflow's policy. So:
// - success, a final failure, a stop, a skipped delivery: 200 with the answer (the job's truth is
//   in Postgres; the engine has no way to fail a run for good, so a final failure completes it
//   with {status: "error"} as its output);
// - a failure with attempts left, or an earlier attempt still running: 503, and the engine retries;
// - an attempt still running when the engine's call nears its limit (25 s in v0.105.0): 200
//   {status: "detached"}, and the attempt runs on in this invocation. It then ends the job itself,
//   or starts its retry as a run of its own.
// After the answer, the invocation hands over the target's next job (direct mode has no relay).
// The same endpoint delivers completion-webhook events (the switchyard-webhook workflow's runs).
import { setTimeout as sleep } from "node:timers/promises";
import {
  type DeliveryAnswer,
  type DetachedAnswer,
  Dispatch,
  type JobRunInput,
  type JobType,
  Lifecycle,
  type Orchestrator,
  type Timing,
  type WebhookRunInput,
  Webhooks,
} from "@switchyard/core";
import type { Db } from "@switchyard/db";
import { deliverEvent, type OutboundPolicy } from "@switchyard/workers";
import { z } from "zod";
import { type Parsed, parseJsonAs } from "./parse.ts";
import { healthInfo, runAttempt, servedType } from "./runtime.ts";

export interface OperatorDeps {
  db: Db;
  /** Hands over the target's next job, and a detached attempt's retry. */
  orchestrator: Orchestrator;
  timing: Timing;
  /** The actions the engine routes runs by (`<namespace>_switchyard-job:switchyard-job` and the webhook's). */
  actions: { job: string; webhook: string };
  /** Where webhook events may be sent (local runs allow http and local addresses). */
  webhooks: OutboundPolicy;
  types?: readonly JobType[];
  log: (msg: string) => void;
}

/** Answers the HTTP call (once); the caller's code may go on after it. */
export type Respond = (status: number, body: unknown) => void;

const JobRunInputSchema = z.object({
  jobId: z.uuid(),
  tenantId: z.uuid(),
  targetId: z.uuid(),
  apiName: z.string().min(1),
  attempt: z.number().int().min(0).optional(),
}) satisfies z.ZodType<JobRunInput>;

// protojson leaves out fields at their zero value: no actionType for START_STEP_RUN, no retryCount
// on the first attempt. Fields this worker does not use are ignored.
const WebhookRunInputSchema = z.object({ eventId: z.uuid(), tenantId: z.uuid() }) satisfies z.ZodType<WebhookRunInput>;

const AssignedActionSchema = z.object({
  actionId: z.string().min(1),
  workflowRunId: z.string().min(1),
  taskRunExternalId: z.string().min(1),
  actionType: z.string().optional(),
  actionPayload: z.string(),
  retryCount: z.number().int().min(0).optional(),
});

export interface OperatorRun {
  /** The run the job was handed to (what the trigger answered). */
  runId: string;
  /** The engine's retry of the run: 0 first, then 1, 2 … */
  retryCount: number;
  input: JobRunInput;
}

/** What an operator call asks: one attempt of a job, one delivery of a webhook event, or nothing. */
export type OperatorCall =
  | { kind: "job"; run: OperatorRun }
  | { kind: "webhook"; input: WebhookRunInput; retryCount: number }
  | { kind: "none"; reason: string };

export function parseOperatorCall(raw: string, actions: OperatorDeps["actions"]): Parsed<OperatorCall> {
  const action = parseJsonAs(raw, AssignedActionSchema);
  if (!action.ok) return action;
  // Only START_STEP_RUN is ever POSTed; anything else is nothing to run.
  const { actionId, actionType, actionPayload, workflowRunId, retryCount = 0 } = action.value;
  if (actionType && actionType !== "START_STEP_RUN") return { ok: true, value: { kind: "none", reason: "not a run" } };
  if (actionId.toLowerCase() === actions.webhook) {
    const payload = parseJsonAs(actionPayload, z.object({ input: WebhookRunInputSchema }), "actionPayload");
    return payload.ok ? { ok: true, value: { kind: "webhook", input: payload.value.input, retryCount } } : payload;
  }
  if (actionId.toLowerCase() !== actions.job) {
    return { ok: true, value: { kind: "none", reason: `this worker does not serve ${actionId}` } };
  }
  const payload = parseJsonAs(actionPayload, z.object({ input: JobRunInputSchema }), "actionPayload");
  if (!payload.ok) return payload;
  return { ok: true, value: { kind: "job", run: { runId: workflowRunId, retryCount, input: payload.value.input } } };
}

/** One delivery of a webhook event: 200 when it is done (delivered, failed for good, nothing to do), 503 to retry. */
export async function serveWebhookRun(
  deps: OperatorDeps,
  call: { input: WebhookRunInput; retryCount: number },
  respond: Respond,
): Promise<void> {
  const outcome = await deliverEvent(deps.db, call.input.eventId, call.retryCount, deps.webhooks);
  respond(outcome.status === "retry" ? 503 : 200, outcome);
}

/**
 * The health poll: the actions served, then (at most once per sweep period, across callers) the
 * sweep that repairs what direct mode can lose: hand-overs whose dispatcher died before the
 * trigger answered, targets nobody dispatched, detached attempts whose worker stopped, and runs a
 * stopped engine assigned to its operator worker and never sent.
 */
export async function serveOperatorHealth(deps: OperatorDeps, respond: Respond): Promise<void> {
  respond(200, healthInfo([deps.actions.job, deps.actions.webhook], deps.types));
  if (!(await Dispatch.takeSweepTurn(deps.db, "direct", deps.timing.sweepMs))) return;
  await Webhooks.dispatchPending(deps.db, deps.orchestrator, deps.timing);
  for (const lost of await Lifecycle.closeAbandonedDetached(deps.db, deps.timing)) {
    await retryOrFail(deps, lost, `attempt ${lost.attempt} outlived the engine's call and then its worker stopped`);
  }
  const swept = await Dispatch.sweep(deps.db, deps.timing, (targetId) => dispatchNext(deps, targetId));
  if (swept.withdrawn.length > 0) deps.log(`put back ${swept.withdrawn.length} hand-over(s) that never got a run`);
  // After an engine restart, runs its operator worker was given and never sent: released here, on
  // the new engine's first health poll, rather than when the engine times that worker out.
  await Dispatch.releaseDeadAssignments(
    deps,
    deps.timing.assignedUnstartedMs,
    (targetId) => dispatchNext(deps, targetId),
    deps.log,
  );
}

/** A detached attempt that ended without an outcome: the job's next attempt if its type allows one. */
async function retryOrFail(deps: OperatorDeps, lost: Lifecycle.AbandonedAttempt, why: string): Promise<void> {
  const retries = servedType(lost.apiName, deps.types)?.defaults.retries ?? 0;
  const input = { jobId: lost.jobId, tenantId: lost.tenantId, targetId: lost.targetId, apiName: lost.apiName };
  if (lost.attempt < retries) return startRetryRun(deps, input, lost, why);
  await Lifecycle.failFromOrchestrator(deps.db, lost.jobId, `${why}, and no retry is left`);
  await dispatchNext(deps, lost.targetId);
}

/** One operator call: runs the attempt, answers within the call budget, finishes after answering. */
export async function serveOperatorRun(
  deps: OperatorDeps,
  run: OperatorRun,
  respond: Respond,
  remainingMs: () => number,
): Promise<void> {
  const { input } = run;
  const type = servedType(input.apiName, deps.types);
  const req = {
    jobId: input.jobId,
    tenantId: input.tenantId,
    apiName: input.apiName,
    runId: run.runId,
    attempt: (input.attempt ?? 0) + run.retryCount,
    retries: type?.defaults.retries ?? 0,
  };
  const attempt = runWhenFree(deps, req, remainingMs);
  const inTime = await Promise.race([attempt, sleep(deps.timing.operatorCallMs, undefined, { ref: false })]);
  if (inTime) {
    respond(...httpAnswer(inTime));
    await afterAttempt(deps, input, req, inTime, false);
    return;
  }
  const detached: DetachedAnswer = {
    status: "detached",
    job_id: input.jobId,
    attempt: req.attempt,
    reason: "the attempt runs on past the engine's call limit and ends the job itself",
  };
  respond(200, detached);
  await Lifecycle.markDetached(deps.db, req).catch((err: Error) => deps.log(`could not mark detached: ${err.message}`));
  await afterAttempt(deps, input, req, await attempt, true);
}

/**
 * Runs the attempt; while an earlier delivery of the job still runs on a worker ("busy": a call
 * the engine gave up on, still working), asks again until it has ended or time runs short.
 */
async function runWhenFree(
  deps: OperatorDeps,
  req: Parameters<typeof runAttempt>[1],
  remainingMs: () => number,
): Promise<DeliveryAnswer> {
  const opts = { timing: deps.timing, remainingMs, types: deps.types };
  for (;;) {
    const answer = await runAttempt(deps.db, req, opts);
    if (answer.status !== "busy" || remainingMs() < deps.timing.deadlineMarginMs * 2) return answer;
    await sleep(deps.timing.busyRecheckMs);
  }
}

function httpAnswer(answer: DeliveryAnswer): [number, DeliveryAnswer] {
  return answer.status === "retry" || answer.status === "busy" ? [503, answer] : [200, answer];
}

async function afterAttempt(
  deps: OperatorDeps,
  input: JobRunInput,
  req: { jobId: string; runId: string; attempt: number },
  answer: DeliveryAnswer,
  detached: boolean,
): Promise<void> {
  if (answer.status === "busy") return;
  if (answer.status === "retry") {
    if (detached) await retryInNewRun(deps, input, req, answer.error);
    return;
  }
  // The job ended (or was not this run's to run): the target's next job may go, and the tenant's
  // webhooks hear of the end.
  await dispatchNext(deps, input.targetId);
  await Webhooks.dispatchPending(deps.db, deps.orchestrator, deps.timing).catch((err: Error) =>
    deps.log(`webhook dispatch failed: ${err.message}`),
  );
}

const dispatchNext = (deps: OperatorDeps, targetId: string) =>
  Dispatch.dispatchTarget(deps, targetId).catch((err: Error) =>
    deps.log(`hand-over of target ${targetId}'s next job failed: ${err.message}`),
  );

/**
 * The retry of an attempt that outlived the operator's call: the engine completed that run when it
 * was answered, so the retry is a run of its own, after the workflow's backoff (2^n s, at most 30).
 */
async function retryInNewRun(
  deps: OperatorDeps,
  input: JobRunInput,
  req: { jobId: string; runId: string; attempt: number },
  error: string,
): Promise<void> {
  await sleep(Math.min(2 ** (req.attempt + 1), 30) * 1000);
  await startRetryRun(deps, input, req, `attempt ${req.attempt} failed (${error})`);
}

/** Starts the job's next attempt as a run of its own; the job fails when that cannot be started. */
async function startRetryRun(
  deps: OperatorDeps,
  input: JobRunInput,
  req: { jobId: string; runId: string; attempt: number },
  why: string,
): Promise<void> {
  try {
    const runId = await deps.orchestrator.submit({ ...input, attempt: req.attempt + 1 });
    if (!(await Lifecycle.replaceRun(deps.db, req.jobId, req.runId, runId))) await deps.orchestrator.cancel(runId);
  } catch (err) {
    await Lifecycle.failFromOrchestrator(
      deps.db,
      req.jobId,
      `${why} and its retry could not be started: ${(err as Error).message}`,
    );
    await dispatchNext(deps, input.targetId);
  }
}
