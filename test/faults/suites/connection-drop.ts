// The network between the worker function and its caller fails: a TCP proxy sits in between (the
// relay, or in direct mode the engine's HTTP operator, knows the worker by the proxy's address)
// and resets every connection while runs are in flight. The worker itself lives on and finishes
// what it began; the caller sees a dropped connection and Hatchet retries the run, whose delivery
// waits ("busy") while the cut-off attempt still runs.
import { jobAttempts } from "@switchyard/db";
import { inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InvariantReport } from "../../support/invariants.ts";
import {
  attemptsOf,
  backoffUpTo,
  bound,
  Cleanups,
  client,
  type DeliveryMode,
  ENGINE,
  freePort,
  invariants,
  jobRows,
  SLACK_MS,
  type Stack,
  startStack,
  waitConverged,
  within,
} from "../harness.ts";
import { startProxy, type TcpProxy } from "../proxy.ts";
import { type SlowServer, startSlowServer } from "../slow-server.ts";

/** http-request's retries (packages/jobs/src/http-request.ts). */
const HTTP_RETRIES = 2;
const SLOW_MS = 1500;
const LONG_MS = 8000;

export function connectionDropSuite(delivery: DeliveryMode) {
  const caller = delivery === "relay" ? "relay" : "engine";
  describe(`connection drop between the ${caller} and the worker (${delivery} delivery)`, () => {
    const cleanups = new Cleanups();
    let s: Stack;
    let slow: SlowServer;
    let proxy: TcpProxy;

    beforeAll(async () => {
      slow = await startSlowServer(SLOW_MS);
      cleanups.add("close the slow server", () => slow.close());
      const workerPort = await freePort();
      proxy = await startProxy(workerPort);
      cleanups.add("close the proxy", () => proxy.close());
      s = await startStack({ delivery, workerPort, callerWorkerUrl: proxy.url, cleanups });
    });
    afterAll(() => cleanups.run());

    it("retries cut-off calls, runs each attempt once, and ends every job that may retry success", async () => {
      const tenant = await s.tenant();
      const c = client(s, tenant.key);
      const targets = await Promise.all([0, 1, 2, 3].map((i) => c.target(`http-${i}`)));
      // Echo jobs (no retries) each on a target of their own: one cut off may end `error`, which
      // blocks its target, and nothing else waits behind it.
      const echoTargets = await Promise.all([0, 1, 2].map((n) => c.target(`echo-${n}`)));
      const jobs: Array<{ id: string; key?: string }> = [];
      for (const n of [0, 1, 2]) {
        for (const [i, target] of targets.entries()) {
          const key = `${i}-${n}`;
          jobs.push({ id: await c.job(target, "http-request", { url: `${slow.url}/slow?key=${key}` }), key });
        }
        jobs.push({ id: await c.job(echoTargets[n] ?? "", "echo", { n }) });
      }
      const before = s.runCalls();

      // Three drops, each while at least one call not cut before is waiting on the slow server.
      const cut = new Set<string>();
      let dropped = 0;
      let lastDropAt = Date.now();
      for (let round = 0; round < 3; round++) {
        const { value: inFlight } = await within(
          `a call in flight (drop ${round + 1})`,
          // Each target's jobs run one after another: the next call starts within a slow answer
          // and a hand-over of the previous one, or after a cut call's retry (its backoff).
          bound({ "retry backoffs": backoffUpTo(HTTP_RETRIES), "slow answer": SLOW_MS, slack: SLACK_MS }),
          async () => {
            const waiting = slow.log.filter((e) => e.answeredAt === undefined && !cut.has(e.key)).map((e) => e.key);
            return waiting.length > 0 ? waiting : undefined;
          },
          { intervalMs: 10 },
        );
        dropped += proxy.drop();
        lastDropAt = Date.now();
        for (const k of inFlight) cut.add(k);
      }
      console.info(
        `[faults] ${delivery}: connection drop: 3 drops reset ${dropped} connections; calls cut: ${[...cut].join(", ")}`,
      );

      // What is left after the last drop: at most three calls per target in a row, each cut one
      // retried after its backoff (the retry waits while the cut attempt runs on the worker).
      const { counts } = await waitConverged(
        s.database.db,
        [tenant.id],
        bound({ "retry backoffs": backoffUpTo(HTTP_RETRIES), "three calls": 3 * SLOW_MS, slack: SLACK_MS }),
        { from: lastDropAt, label: `${delivery}: connection drop` },
      );
      console.info(`[faults] ${delivery}: connection drop: final statuses ${JSON.stringify(counts)}`);
      const rows = await jobRows(
        s.database.db,
        jobs.map((j) => j.id),
      );
      expect(jobs.filter((j) => !rows.has(j.id))).toEqual([]);
      for (const j of jobs.filter((j) => j.key)) expect(rows.get(j.id)?.status, `job ${j.key}`).toBe("success");
      // An echo call cut off ends `error` with the reason (no retries), or success when the
      // worker's answer was written before the caller gave up.
      for (const j of jobs.filter((j) => !j.key)) {
        const row = rows.get(j.id);
        if (row?.status !== "success") {
          expect(row?.status).toBe("error");
          expect(row?.error).toMatch(
            delivery === "relay"
              ? /^delivery failed \(attempt 0\): no answer from /
              : /^attempt 0 ended without an answer from its worker, and no retry is left$/,
          );
        }
      }
      const echoErrors = jobs.filter((j) => !j.key && rows.get(j.id)?.status === "error").length;
      console.info(`[faults] ${delivery}: connection drop: echo jobs (no retries) ended error: ${echoErrors}`);
      // The worker was called more often than there were jobs: the cut-off runs were retried. A
      // call is logged when its handler returns, after the hand-over of the target's next job, so
      // the last few lines may still be on their way.
      const { value: calls } = await within(
        `${delivery}: the worker's log to show the retried calls`,
        bound({ slack: SLACK_MS }),
        async () => (s.runCalls() - before > jobs.length ? s.runCalls() - before : undefined),
        { describe: async () => `${s.runCalls() - before} calls for ${jobs.length} jobs` },
      );
      console.info(`[faults] ${delivery}: connection drop: ${calls} calls of runs for ${jobs.length} jobs`);

      // Each attempt of each job ran the job type exactly once: one request to the slow server per
      // attempt row, and no (job, run, attempt) twice.
      const attempts = await attemptsOf(
        s.database.db,
        jobs.map((j) => j.id),
      );
      for (const j of jobs.filter((j) => j.key)) {
        const mine = attempts.filter((a) => a.jobId === j.id);
        expect(slow.received.get(j.key ?? ""), `requests for ${j.key}`).toBe(mine.length);
        expect(mine.every((a) => a.finishedAt !== null)).toBe(true);
      }
      const dup = await s.database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(jobAttempts)
        .where(
          inArray(
            jobAttempts.jobId,
            jobs.map((j) => j.id),
          ),
        )
        .groupBy(jobAttempts.jobId, jobAttempts.runId, jobAttempts.attempt)
        .having(sql`count(*) > 1`);
      expect(dup).toEqual([]);

      const report = await invariants(`${delivery}: connection drop`, s.database.db, {
        tenantIds: [tenant.id],
        settled: true,
      });
      expect(report.violations).toEqual([]);
    });

    let longCalls: SlowServer["log"] = [];
    let longReport: InvariantReport | undefined;

    it("ends a long call cut off early success too", async () => {
      const tenant = await s.tenant();
      const c = client(s, tenant.key);
      const target = await c.target("long");
      const id = await c.job(target, "http-request", { url: `${slow.url}/slow?key=long&delay=${LONG_MS}` });
      await within(
        "the long call in flight",
        bound({ "hand-over and start": SLACK_MS }),
        async () => (slow.received.has("long") ? true : undefined),
        { intervalMs: 10 },
      );
      const droppedAt = Date.now();
      expect(proxy.drop()).toBeGreaterThan(0);
      // The retry waits while the cut attempt runs on, and finds the job done.
      await waitConverged(
        s.database.db,
        [tenant.id],
        bound({ "the long call": LONG_MS, "retry backoff": ENGINE.retryBackoffMs(1), slack: SLACK_MS }),
        { from: droppedAt, label: `${delivery}: long call` },
      );
      expect((await jobRows(s.database.db, [id])).get(id)?.status).toBe("success");
      longCalls = slow.log.filter((e) => e.key === "long");
      console.info(
        `[faults] ${delivery}: connection drop, long request: ${longCalls.length} request(s) at +${longCalls.map((e) => e.at - (longCalls[0]?.at ?? 0)).join(" ms, +")} ms`,
      );
      longReport = await invariants(`${delivery}: connection drop, long request`, s.database.db, {
        tenantIds: [tenant.id],
      });
    });

    // The worker goes on with a call whose connection dropped; the retry's delivery is answered
    // "busy" (relay) or waits in the worker (direct) while that attempt heartbeats, so the job runs
    // once (one request to the slow server).
    it("does not start the retry while the cut-off attempt still runs on the worker", () => {
      expect(longReport?.violations).toEqual([]);
      expect(longCalls).toHaveLength(1);
    });
  });
}
