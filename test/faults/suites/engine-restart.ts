// The Hatchet engine stops while jobs are queued and running, and starts again on the same
// database and ports. This file runs its own engine (the shared one serves the other files), on a
// Postgres of its own (two engines would take two thirds of a shared server's connections). While
// it is down the API still accepts jobs, which wait visibly in Postgres; after the restart every
// job converges without a resync: the relay's sweep, or in direct mode the worker's health sweep
// (polled by the restarted engine), hands over what waits. A run the engine holds after the
// restart is released by the relay: after `assignedUnstartedMs` when the engine reports it
// assigned, after `heldRunMs` otherwise (relay mode).
import { jobLogs } from "@switchyard/db";
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../../dev/postgres.ts";
import {
  attemptsOf,
  type Bound,
  bound,
  Cleanups,
  client,
  type DeliveryMode,
  ENGINE,
  GRPC,
  invariants,
  jobRows,
  type PrivateEngineStack,
  privateEngineDatabase,
  privateEngineStack,
  SLACK_MS,
  type Stack,
  statusCounts,
  sweepPeriodMs,
  within,
} from "../harness.ts";

const SLEEP_MS = 4000;

/**
 * How long after the restart every job must have run. Both modes: the engine's scheduler and
 * the callers reconnect (slack), a job waiting in Postgres is seen by the next sweep, and a run
 * the dead engine had assigned is reassigned once its worker missed the heartbeat timeout (then
 * waits for the queue's backed-off poll). Relay mode: a run the engine holds without starting is
 * released after `heldRunMs` (checked every sweep), and the relay's gRPC channels
 * connect again after their capped backoff. Direct mode: the
 * restarted engine claims the worker's operator on its tick and polls its health (the sweep) after
 * one more period.
 */
export function restartBound(delivery: DeliveryMode, s: Stack): Bound {
  const common = {
    "sweep period": sweepPeriodMs(delivery, s.timing),
    "heartbeat timeout": ENGINE.workerHeartbeatTimeoutMs,
    "idle queue poll": ENGINE.idleQueuePollMs,
    slack: SLACK_MS,
  };
  return delivery === "relay"
    ? bound({
        ...common,
        "gRPC reconnect": GRPC.reconnectMs,
        "listener retry": GRPC.listenerRetryMs,
        "held run": s.timing.heldRunMs,
        "held-run check": s.timing.sweepMs,
      })
    : bound({ ...common, "operator claim": ENGINE.operatorClaimMs, "first health poll": ENGINE.healthPollMs });
}

export function engineRestartSuite(delivery: DeliveryMode) {
  describe(`Hatchet engine restart (${delivery} delivery)`, () => {
    const cleanups = new Cleanups();
    let own: PrivateEngineStack;
    let s: Stack;

    beforeAll(async () => {
      own = await privateEngineStack(cleanups, (await privateEngineDatabase(cleanups)).url, { delivery });
      s = own.stack;
    });
    afterAll(() => cleanups.run());

    /** The engine's own record of a run's task: which worker holds it and until when. */
    async function engineTask(runId: string): Promise<string> {
      return withClient(own.engineDatabaseUrl, async (db) => {
        const r = await db.query(
          `select rt.worker_id, rt.timeout_at from v1_task t left join v1_task_runtime rt
             on rt.task_id = t.id and rt.task_inserted_at = t.inserted_at where t.external_id = $1`,
          [runId],
        );
        const row = r.rows[0] as { worker_id: string | null; timeout_at: Date | null } | undefined;
        if (!row) return "no task";
        return row.worker_id
          ? `assigned to worker ${row.worker_id.slice(0, 8)} until ${new Date(row.timeout_at ?? 0).toISOString()}`
          : "not assigned";
      }).catch((err: Error) => `unreadable (${err.message})`);
    }

    /** A stuck job's row, its run's state and the engine's record of it. */
    async function describeJobs(ids: string[]): Promise<string> {
      const lines: string[] = [];
      for (const r of (await jobRows(s.database.db, ids)).values()) {
        if (r.status === "success") continue;
        const run = r.hatchetRunId ?? "";
        const state = run
          ? `${await s.rest.runState(run).catch((e: Error) => e.message)}, ${await engineTask(run)}`
          : "";
        lines.push(
          `${r.id.slice(0, 8)} ${r.status} dispatched=${r.dispatchedAt?.toISOString() ?? null} error=${r.dispatchError} run=${run} ${state}`,
        );
      }
      return lines.join("\n");
    }

    let tenantId = "";
    let key = "";

    it("accepts jobs while the engine is down, keeps them visibly waiting, and converges after the restart", async () => {
      const tenant = await s.tenant();
      [tenantId, key] = [tenant.id, tenant.key];
      const c = client(s, tenant.key);
      const busy = await Promise.all([0, 1, 2].map((i) => c.target(`busy-${i}`)));
      const idle = await Promise.all([0, 1, 2].map((i) => c.target(`idle-${i}`)));
      const lastMoment = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => c.target(`last-moment-${i}`)));
      const before: string[] = [];
      const sleeps: string[] = [];
      // Busy targets: a sleep runs when the engine stops, two jobs wait behind it in Postgres.
      for (const t of busy) {
        sleeps.push(await c.job(t, "sleep", { ms: SLEEP_MS }));
        before.push(sleeps.at(-1) ?? "");
        before.push(await c.job(t, "echo", { behind: "sleep" }));
        before.push(await c.job(t, "fail", { retryable: true, succeed_on_attempt: 1 }));
      }
      const early: string[] = [];
      for (const t of idle) early.push(await c.job(t, "echo", { early: true }));
      before.push(...early);
      await within(
        "the sleep jobs to run and the early jobs to end",
        bound({ "hand-over and start": SLACK_MS }),
        async () => {
          const rows = await jobRows(s.database.db, [...sleeps, ...early]);
          const running = sleeps.every((id) => rows.get(id)?.status === "running");
          return running && early.every((id) => rows.get(id)?.status === "success") ? true : undefined;
        },
      );
      // Last-moment hand-overs: runs triggered right before the engine stops.
      const handedOver: string[] = [];
      for (const t of lastMoment) handedOver.push(await c.job(t, "echo", { lastMoment: true }));

      await own.stopEngine();
      const downAt = Date.now();
      console.info(
        `[faults] ${delivery}: engine stopped with ${JSON.stringify(await statusCounts(s.database.db, [tenant.id]))}`,
      );

      // While it is down: creates answer 200, and the jobs wait in Postgres, visibly.
      const during: string[] = [];
      for (const t of [...idle, ...busy]) {
        for (let n = 0; n < 2; n++) {
          const r = await c.call("POST", `/api/targets/${t}/jobs/`, { api_name: "echo", parameters: { during: n } });
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          expect(r.body.status).toBe("queued");
          during.push(r.body.id);
        }
      }
      const fresh = await c.target("created-while-down");
      during.push(await c.job(fresh, "echo", { fresh: true }));
      // The running sleeps finish on the worker meanwhile; their completion cannot reach the engine.
      await within(
        "the sleeps to finish while the engine is down",
        bound({ sleep: SLEEP_MS, slack: SLACK_MS }),
        async () => {
          const rows = await jobRows(s.database.db, sleeps);
          return sleeps.every((id) => rows.get(id)?.status === "success") ? true : undefined;
        },
      );
      const waiting = await jobRows(s.database.db, during);
      for (const id of during) {
        const row = waiting.get(id);
        expect(row?.status).toBe("queued");
        // Its hand-over failed (the reason is on the row), it was never handed over, or a hand-over
        // is in flight: claimed less than `lostHandOverMs` ago (the sweep keeps trying, and a
        // claim clears the last reason), as the invariant checker allows.
        const claimedFor = row?.dispatchedAt ? Date.now() - row.dispatchedAt.getTime() : undefined;
        const inFlight = claimedFor !== undefined && !row?.hatchetRunId && claimedFor < s.timing.lostHandOverMs;
        expect(
          row?.dispatchError !== null || row?.dispatchedAt === null || inFlight,
          `job ${id} waits visibly: ${JSON.stringify(row)}`,
        ).toBe(true);
      }
      // The failed hand-overs are in the jobs' logs too.
      const failures = (await s.database.db.select().from(jobLogs).where(inArray(jobLogs.jobId, during))).filter((l) =>
        String(l.content).startsWith("could not reach the orchestrator"),
      );
      const withReason = new Set(failures.map((l) => l.jobId)).size;
      expect(withReason).toBeGreaterThan(0);
      const whileDown = await invariants(`${delivery}: engine down`, s.database.db, { tenantIds: [tenant.id] });
      expect(whileDown.violations).toEqual([]);
      console.info(
        `[faults] ${delivery}: engine down ${Date.now() - downAt} ms; ${during.length} jobs accepted meanwhile, ${withReason} with a dispatch error`,
      );

      await own.startEngine();
      const upAt = Date.now();
      console.info(`[faults] ${delivery}: engine restarted after ${upAt - downAt} ms down`);
      const all = [...before, ...during, ...handedOver];
      const limit = restartBound(delivery, s);
      let last: Record<string, number> = {};
      // When each job was first seen done, after the restart: which group took longest.
      const doneAfter = new Map<string, number>();
      const { ms } = await within(
        `${delivery}: every job after the engine restart`,
        limit,
        async () => {
          const rows = await jobRows(s.database.db, all);
          last = {};
          for (const r of rows.values()) {
            last[r.status] = (last[r.status] ?? 0) + 1;
            if (r.status === "success" && !doneAfter.has(r.id)) doneAfter.set(r.id, Date.now() - upAt);
          }
          return [...rows.values()].every((r) => r.status === "success") ? true : undefined;
        },
        { from: upAt, describe: async () => `last counts ${JSON.stringify(last)}\n${await describeJobs(all)}` },
      );
      // The goal's figure: how long after the restart each target that had work waiting started
      // its first job (the engine's restart counted as done once it answers).
      const firstStart = new Map<string, number>();
      for (const a of await attemptsOf(s.database.db, all)) {
        const after = a.startedAt.getTime() - upAt;
        if (after >= 0 && !firstStart.has(a.targetId)) firstStart.set(a.targetId, after);
      }
      const starts = [...firstStart.values()].sort((a, b) => a - b);
      console.info(
        `[faults] ${delivery}: engine restart: first job of each of ${starts.length} waiting targets started ${(starts[0] ?? 0) / 1000}–${(starts.at(-1) ?? 0) / 1000} s after the restart`,
      );
      const released = (await s.database.db.select().from(jobLogs).where(inArray(jobLogs.jobId, all))).filter((l) =>
        /^Hatchet (held|assigned) run/.test(String(l.content)),
      );
      const slowest = (ids: string[]) =>
        `${(Math.max(0, ...ids.map((id) => doneAfter.get(id) ?? 0)) / 1000).toFixed(1)} s`;
      console.info(
        `[faults] ${delivery}: engine restart: last job done after the restart, by group: busy targets (sleep and the two behind) ${slowest(before.filter((id) => !early.includes(id)))}, created while down ${slowest(during)}, last-moment hand-overs ${slowest(handedOver)}`,
      );
      console.info(
        `[faults] ${delivery}: engine restart: converged ${(ms / 1000).toFixed(1)} s after the restart (bound ${limit.ms / 1000} s); ${handedOver.length} last-moment hand-overs ran; the relay released ${released.length} run(s) the engine held`,
      );
      const report = await invariants(`${delivery}: engine restart`, s.database.db, {
        tenantIds: [tenant.id],
        hatchet: s.rest,
      });
      expect(report.violations).toEqual([]);
    });

    it("resync then finds no disagreement", async () => {
      const r = await s.call(key, "POST", "/api/jobs/queue/resync");
      expect(r.status).toBe(200);
      console.info(
        `[faults] ${delivery}: engine restart: resync says "${r.body.message}" (${r.body.repairs.length} repairs)`,
      );
      expect(r.body.repairs).toEqual([]);
      const counts = await statusCounts(s.database.db, [tenantId]);
      expect((counts.queued ?? 0) + (counts.running ?? 0)).toBe(0);
      const report = await invariants(`${delivery}: engine restart, settled`, s.database.db, {
        tenantIds: [tenantId],
        settled: true,
      });
      expect(report.violations).toEqual([]);
    });
  });
}
