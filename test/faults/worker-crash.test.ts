// The worker function's process dies (SIGKILL) while deliveries are in flight and comes back on
// the same port. The relay sees the dropped connections: jobs whose type retries run again and
// succeed; a job type without retries ends `error` with the reason, visible and not stuck.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InvariantReport } from "../support/invariants.ts";
import { poll } from "../support/poll.ts";
import {
  attemptsOf,
  Cleanups,
  client,
  invariants,
  jobRows,
  notFromOpenAttempts,
  openAttempts,
  type Stack,
  startStack,
  waitConverged,
} from "./harness.ts";
import { type SlowServer, startSlowServer } from "./slow-server.ts";

const cleanups = new Cleanups();
let s: Stack;
let slow: SlowServer;
let report: InvariantReport;
let abandoned = 0;

beforeAll(async () => {
  slow = await startSlowServer(3000);
  cleanups.add("close the slow server", () => slow.close());
  s = await startStack({ cleanups });
});
afterAll(() => cleanups.run());

describe("worker crash", () => {
  it("retries the deliveries it cut off, fails the one that may not retry, and loses nothing", async () => {
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

    // Mid-request: the worker has called the slow server for every first job, none answered yet.
    await poll(
      async () => {
        const rows = await jobRows(s.database.db, [sleeper]);
        const inFlight = first.every((h) => slow.received.has(h.key));
        return inFlight && rows.get(sleeper)?.status === "running" ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, label: "the first deliveries to be in flight" },
    );
    const cutOff = first.filter((h) => !slow.answered.has(h.key));
    expect(cutOff.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    await s.worker?.kill("SIGKILL");
    await s.startWorker();
    console.info(
      `[faults] worker killed with ${cutOff.length} http deliveries in flight; back after ${Date.now() - killedAt} ms`,
    );

    const counts = await waitConverged(s.database.db, [tenant.id], { timeoutMs: 90_000 });
    console.info(`[faults] worker crash: final statuses ${JSON.stringify(counts)}`);
    const rows = await jobRows(s.database.db, [sleeper, ...http.map((h) => h.id)]);
    for (const h of http) expect(rows.get(h.id)?.status, `http job ${h.key}`).toBe("success");
    const sleeperRow = rows.get(sleeper);
    expect(sleeperRow?.status).toBe("error");
    expect(sleeperRow?.error).toMatch(/^delivery failed \(attempt 0\): no answer from http:\/\/127\.0\.0\.1:\d+/);

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
    report = await invariants("worker crash", s.database.db, { tenantIds: [tenant.id], settled: true });
    const open = await openAttempts(s.database.db, [tenant.id]);
    abandoned = open.length;
    console.info(`[faults] worker crash: attempts left open: ${open.length}`);
    const cutOffIds = new Set([sleeper, ...cutOff.map((h) => h.id)]);
    expect(open.filter((a) => !cutOffIds.has(a.jobId) || a.attempt !== 0)).toEqual([]);
    // Every violation is one of those open attempts "overlapping" what ran after it on its target.
    expect(notFromOpenAttempts(report.violations, open)).toEqual([]);
  });

  // An attempt whose worker died stops heartbeating; the retry closes it as abandoned.
  it("closes the attempts the crash abandoned, so the invariants hold", () => {
    expect(abandoned).toBe(0);
    expect(report.violations).toEqual([]);
  });
});
