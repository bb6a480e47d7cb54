// The network between the relay and the worker function fails: a TCP proxy sits in between (the
// relay knows the worker by the proxy's address) and resets every connection while deliveries are
// in flight. The worker itself lives on and finishes what it began; the relay sees a dropped
// connection and Hatchet retries the run.
import { jobAttempts } from "@switchyard/db";
import { inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InvariantReport } from "../support/invariants.ts";
import { poll } from "../support/poll.ts";
import {
  attemptsOf,
  Cleanups,
  client,
  freePort,
  invariants,
  jobRows,
  type Stack,
  startStack,
  waitConverged,
} from "./harness.ts";
import { startProxy, type TcpProxy } from "./proxy.ts";
import { type SlowServer, startSlowServer } from "./slow-server.ts";

const cleanups = new Cleanups();
let s: Stack;
let slow: SlowServer;
let proxy: TcpProxy;

beforeAll(async () => {
  slow = await startSlowServer(1500);
  cleanups.add("close the slow server", () => slow.close());
  const workerPort = await freePort();
  proxy = await startProxy(workerPort);
  cleanups.add("close the proxy", () => proxy.close());
  s = await startStack({ workerPort, relayWorkerUrl: proxy.url, cleanups });
});
afterAll(() => cleanups.run());

/** Deliveries the worker served (each line of its request log), by answer. */
const deliveries = () => (s.worker?.output ?? []).filter((l) => / POST \/deliver \d+ /.test(l)).length;

describe("connection drop between relay and worker", () => {
  it("retries cut-off deliveries, runs each attempt once, and ends every job that may retry success", async () => {
    const tenant = await s.tenant();
    const c = client(s, tenant.key);
    const targets = await Promise.all([0, 1, 2, 3].map((i) => c.target(`http-${i}`)));
    // Echo jobs (no retries) each on a target of their own: one cut off ends `error`, which
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
    const before = deliveries();

    // Three drops, each while at least one delivery not cut before is waiting on the slow server.
    const cut = new Set<string>();
    let dropped = 0;
    for (let round = 0; round < 3; round++) {
      const inFlight = await poll(
        () => {
          const waiting = slow.log.filter((e) => e.answeredAt === undefined && !cut.has(e.key)).map((e) => e.key);
          return waiting.length > 0 ? waiting : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 10, label: `a delivery in flight (drop ${round + 1})` },
      );
      dropped += proxy.drop();
      for (const k of inFlight) cut.add(k);
    }
    console.info(
      `[faults] connection drop: 3 drops reset ${dropped} connections; deliveries cut: ${[...cut].join(", ")}`,
    );

    const counts = await waitConverged(s.database.db, [tenant.id], { timeoutMs: 120_000 });
    console.info(`[faults] connection drop: final statuses ${JSON.stringify(counts)}`);
    const rows = await jobRows(
      s.database.db,
      jobs.map((j) => j.id),
    );
    for (const j of jobs.filter((j) => j.key)) expect(rows.get(j.id)?.status, `job ${j.key}`).toBe("success");
    // An echo delivery cut off ends `error` with the reason (no retries), or success when the
    // worker's answer was written before the relay gave up.
    for (const j of jobs.filter((j) => !j.key)) {
      const row = rows.get(j.id);
      if (row?.status !== "success") {
        expect(row?.status).toBe("error");
        expect(row?.error).toMatch(/^delivery failed \(attempt 0\): no answer from /);
      }
    }
    const echoErrors = jobs.filter((j) => !j.key && rows.get(j.id)?.status === "error").length;
    console.info(`[faults] connection drop: echo jobs (no retries) ended error: ${echoErrors}`);
    // The relay delivered more often than there were jobs: the cut-off runs were retried.
    expect(deliveries() - before).toBeGreaterThan(jobs.length);

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

    const report = await invariants("connection drop", s.database.db, { tenantIds: [tenant.id], settled: true });
    expect(report.violations).toEqual([]);
  });

  let longCalls: SlowServer["log"] = [];
  let longReport: InvariantReport | undefined;

  it("ends a long delivery cut off early success too", async () => {
    const tenant = await s.tenant();
    const c = client(s, tenant.key);
    const target = await c.target("long");
    const id = await c.job(target, "http-request", { url: `${slow.url}/slow?key=long&delay=8000` });
    await poll(() => (slow.received.has("long") ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 10,
      label: "the long delivery to be in flight",
    });
    expect(proxy.drop()).toBeGreaterThan(0);
    await waitConverged(s.database.db, [tenant.id], { timeoutMs: 60_000 });
    expect((await jobRows(s.database.db, [id])).get(id)?.status).toBe("success");
    longCalls = slow.log.filter((e) => e.key === "long");
    console.info(
      `[faults] connection drop, long request: ${longCalls.length} request(s) at +${longCalls.map((e) => e.at - (longCalls[0]?.at ?? 0)).join(" ms, +")} ms`,
    );
    longReport = await invariants("connection drop, long request", s.database.db, { tenantIds: [tenant.id] });
  });

  // The worker goes on with a delivery whose connection dropped; the relay's retry is answered
  // "busy" while that attempt heartbeats, so the job runs once (one request to the slow server).
  it("does not start the retry while the cut-off attempt still runs on the worker", () => {
    expect(longReport?.violations).toEqual([]);
    expect(longCalls).toHaveLength(1);
  });
});
