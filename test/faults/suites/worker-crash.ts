// The worker function's process dies (SIGKILL) while runs are in flight and comes back on the same
// port. Its caller (the relay, or in direct mode the engine's HTTP operator) sees the calls fail:
// Hatchet retries the runs, and the retry's delivery closes the dead attempt once its lease ran out
// and takes over. Jobs whose type retries run again and succeed; a job type without retries ends
// `error` with the reason, visible and not stuck.
//
// Direct mode also: an attempt that outlived the engine's call (answered "detached", so the engine
// completed its run) when its worker dies. Nobody will deliver it again, so the worker's health
// sweep closes it once its lease ran out, and starts the job's next attempt as a run of its own (or
// fails the job when no retry is left).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InvariantReport } from "../../support/invariants.ts";
import {
  attemptsOf,
  type Bound,
  backoffUpTo,
  bound,
  Cleanups,
  client,
  type DeliveryMode,
  invariants,
  jobRows,
  notFromOpenAttempts,
  openAttempts,
  SLACK_MS,
  type Stack,
  startStack,
  sweepPeriodMs,
  waitConverged,
  within,
} from "../harness.ts";
import { type SlowServer, startSlowServer } from "../slow-server.ts";

/** http-request's retries (packages/jobs/src/http-request.ts). */
const HTTP_RETRIES = 2;

export function workerCrashSuite(delivery: DeliveryMode) {
  describe(`worker crash mid-call (${delivery} delivery)`, () => {
    const cleanups = new Cleanups();
    const SLOW_MS = 3000;
    let s: Stack;
    let slow: SlowServer;
    let report: InvariantReport | undefined;
    let abandoned = -1;

    beforeAll(async () => {
      slow = await startSlowServer(SLOW_MS);
      cleanups.add("close the slow server", () => slow.close());
      s = await startStack({ delivery, cleanups });
    });
    afterAll(() => cleanups.run());

    it("retries the calls it cut off, fails the one that may not retry, and loses nothing", async () => {
      const tenant = await s.tenant();
      const c = client(s, tenant.key);
      const sleeperTarget = await c.target("sleeper");
      const sleeper = await c.job(sleeperTarget, "sleep", { ms: 30_000 });
      const targets = await Promise.all([0, 1, 2, 3].map((i) => c.target(`http-${i}`)));
      // Two per target: the first is in flight when the worker dies, the second waits behind it.
      const http: Array<{ target: string; id: string; key: string }> = [];
      for (const n of [0, 1]) {
        for (const [i, target] of targets.entries()) {
          const key = `${i}-${n}`;
          const id = await c.job(target, "http-request", { url: `${slow.url}/slow?key=${key}`, timeout_ms: 20_000 });
          http.push({ target, id, key });
        }
      }
      const first = http.filter((h) => h.key.endsWith("-0"));
      const accepted = [sleeper, ...http.map((h) => h.id)];

      // Mid-request: the worker has called the slow server for every first job, none answered yet.
      await within(
        "the first calls in flight",
        bound({ "hand-over and start": SLACK_MS, "slow answer": SLOW_MS }),
        async () => {
          const rows = await jobRows(s.database.db, [sleeper]);
          const inFlight = first.every((h) => slow.received.has(h.key));
          return inFlight && rows.get(sleeper)?.status === "running" ? true : undefined;
        },
        { intervalMs: 20 },
      );
      const cutOff = first.filter((h) => !slow.answered.has(h.key));
      expect(cutOff.length).toBeGreaterThan(0);
      const killedAt = Date.now();
      await s.worker?.kill("SIGKILL");
      await s.startWorker();
      const restartMs = Date.now() - killedAt;
      console.info(
        `[faults] ${delivery}: worker killed with ${cutOff.length} http calls in flight; back after ${restartMs} ms`,
      );

      // A cut-off job's retry takes over once the dead attempt's lease ran out, after the retries
      // that hit the worker while it was down have backed off; then it and the job behind it run.
      const limit = bound({
        "worker restart": restartMs,
        "attempt lease": s.timing.attemptLeaseMs,
        "retry backoffs": backoffUpTo(HTTP_RETRIES),
        "two calls": 2 * SLOW_MS,
        slack: SLACK_MS,
      });
      const { counts } = await waitConverged(s.database.db, [tenant.id], limit, {
        from: killedAt,
        label: `${delivery}: worker crash`,
      });
      console.info(`[faults] ${delivery}: worker crash: final statuses ${JSON.stringify(counts)}`);
      const rows = await jobRows(s.database.db, accepted);
      expect(accepted.filter((id) => !rows.has(id))).toEqual([]);
      for (const h of http) expect(rows.get(h.id)?.status, `http job ${h.key}`).toBe("success");
      const sleeperRow = rows.get(sleeper);
      expect(sleeperRow?.status).toBe("error");
      // The relay gives up at once on a job without retries; in direct mode the engine retries the
      // failed call and the worker ends the job: its only attempt ended without an answer (or the
      // engine's retry that found the worker still down did).
      expect(sleeperRow?.error).toMatch(
        delivery === "relay"
          ? /^delivery failed \(attempt 0\): no answer from http:\/\/127\.0\.0\.1:\d+/
          : /^attempt \d ended without an answer from its worker, and no retry is left$/,
      );

      // The cut-off jobs ran again in a later attempt of the same run; the others once.
      const attempts = await attemptsOf(
        s.database.db,
        http.map((h) => h.id),
      );
      for (const h of cutOff) {
        const mine = attempts.filter((a) => a.jobId === h.id);
        expect(mine.length, `attempts of ${h.key}`).toBeGreaterThanOrEqual(2);
        expect(new Set(mine.map((a) => a.runId)).size).toBe(1);
        expect(mine.at(-1)?.attempt).toBeGreaterThanOrEqual(1);
      }
      // What the crash may leave behind: only attempts it cut off are still open.
      report = await invariants(`${delivery}: worker crash`, s.database.db, {
        tenantIds: [tenant.id],
        settled: true,
        hatchet: s.rest,
      });
      const open = await openAttempts(s.database.db, [tenant.id]);
      abandoned = open.length;
      console.info(`[faults] ${delivery}: worker crash: attempts left open: ${open.length}`);
      const cutOffIds = new Set([sleeper, ...cutOff.map((h) => h.id)]);
      expect(open.filter((a) => !cutOffIds.has(a.jobId) || a.attempt !== 0)).toEqual([]);
      // Every violation is one of those open attempts "overlapping" what ran after it on its target.
      expect(notFromOpenAttempts(report.violations, open)).toEqual([]);
    });

    // An attempt whose worker died stops heartbeating; the retry closes it as abandoned.
    it("closes the attempts the crash abandoned, so the invariants hold", () => {
      expect(abandoned).toBe(0);
      expect(report?.violations).toEqual([]);
    });
  });

  if (delivery === "direct") detachedSuite();
}

function detachedSuite() {
  describe("worker crash while an attempt runs detached (direct delivery)", () => {
    const cleanups = new Cleanups();
    /** The worker answers the engine's call after this long and lets the attempt run on. */
    const CALL_MS = 2000;
    /** The slow server's answer: well past the call, so each attempt of the http job detaches. */
    const SLOW_MS = 10_000;
    let s: Stack;
    let slow: SlowServer;

    beforeAll(async () => {
      slow = await startSlowServer(SLOW_MS);
      cleanups.add("close the slow server", () => slow.close());
      s = await startStack({ delivery: "direct", timing: { operatorCallMs: CALL_MS }, cleanups });
    });
    afterAll(() => cleanups.run());

    it("retries a detached attempt whose worker died in a run of its own and fails one without retries", async () => {
      const tenant = await s.tenant();
      const c = client(s, tenant.key);
      const [httpTarget, sleepTarget] = [await c.target("detached-http"), await c.target("detached-sleep")];
      const httpJob = await c.job(httpTarget, "http-request", { url: `${slow.url}/slow?key=detached` });
      const sleepJob = await c.job(sleepTarget, "sleep", { ms: 60_000 });
      // Behind the http job only: the sleep ends `error`, which blocks its target.
      const behind = await c.job(httpTarget, "echo", { behind: "http" });
      const accepted = [httpJob, sleepJob, behind];

      // Both attempts outlived the engine's call: the engine completed their runs (the worker
      // answered "detached") while the jobs still run on the worker.
      const firstRuns = await within(
        "both attempts detached",
        bound({ "hand-over and start": SLACK_MS, "operator call": CALL_MS }),
        async () => {
          const rows = await jobRows(s.database.db, [httpJob, sleepJob]);
          const runs = [rows.get(httpJob), rows.get(sleepJob)].map((r) =>
            r?.status === "running" ? r.hatchetRunId : null,
          );
          if (runs.some((r) => !r) || !slow.received.has("detached")) return undefined;
          const states = await Promise.all(runs.map((r) => s.rest.runState(r ?? "")));
          return states.every((st) => st === "COMPLETED") ? (runs as string[]) : undefined;
        },
      );
      expect(slow.answered.has("detached")).toBe(false);

      const killedAt = Date.now();
      await s.worker?.kill("SIGKILL");
      await s.startWorker();
      const restartMs = Date.now() - killedAt;
      console.info(`[faults] direct: worker killed with 2 detached attempts; back after ${restartMs} ms`);

      // The sweep finds each attempt silent for the lease (at the latest one sweep period after),
      // then the http job's retry runs (one more slow call) and the echo behind it.
      const sweep = sweepPeriodMs("direct", s.timing);
      const limit: Bound = bound({
        "attempt lease": s.timing.attemptLeaseMs,
        "sweep period": sweep,
        "worker restart": restartMs,
        "retry's call": SLOW_MS,
        slack: SLACK_MS,
      });
      await waitConverged(s.database.db, [tenant.id], limit, { from: killedAt, label: "direct: detached crash" });
      const rows = await jobRows(s.database.db, accepted);
      expect(accepted.filter((id) => !rows.has(id))).toEqual([]);
      const http = rows.get(httpJob);
      expect(http?.status, JSON.stringify(http)).toBe("success");
      // The retry is a run of its own, started by the sweep: the engine had completed the first.
      expect(http?.hatchetRunId).not.toBe(firstRuns.value[0]);
      expect(slow.received.get("detached")).toBe(2);
      const sleepRow = rows.get(sleepJob);
      expect(sleepRow?.status).toBe("error");
      expect(sleepRow?.error).toMatch(/no retry is left/);
      expect(rows.get(behind)?.status).toBe("success");
      const attempts = await attemptsOf(s.database.db, [httpJob]);
      expect(attempts.map((a) => [a.attempt, (a.outcome as { status?: string } | null)?.status])).toEqual([
        [0, "abandoned"],
        [1, "success"],
      ]);

      expect(await openAttempts(s.database.db, [tenant.id])).toEqual([]);
      const report = await invariants("direct: detached crash", s.database.db, {
        tenantIds: [tenant.id],
        settled: true,
      });
      expect(report.violations).toEqual([]);
    });
  });
}
