// Self-healing, proven with short timing rules so each proof takes seconds: what a dispatch host
// can lose is repaired by the sweep (the relay's timer, or in direct mode the worker's health
// call, polled by the engine every 5 s), within the bound its timing rules give, and no one has to
// ask for a resync.
// - A hand-over lost between its claim and its trigger (its dispatcher died): back to waiting after
//   `lostHandOverMs`, handed over again by the next sweep.
// - A job nobody was told about (relay mode: committed without its NOTIFY; direct mode: committed
//   without its inline hand-over, the API died between the two): dispatched by the next sweep.
// - A job whose hand-over failed because the engine was unreachable: handed over once the engine
//   is back.
// The file runs its own engine (stopped in the last test) on a Postgres of its own.
import { randomUUID } from "node:crypto";
import { jobLogs, jobs } from "@switchyard/db";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
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
  stuckJobs,
  sweepPeriodMs,
  within,
} from "../harness.ts";

/** Short rules: a lost hand-over is put back after 3 s; a process that hosts a sweep runs it every second. */
const TIMING = { lostHandOverMs: 3000, sweepMs: 1000 };
/**
 * From a sweep's hand-over to the job's end: the trigger, the engine assigning the run and calling
 * the worker (or the relay), an echo. Under a second on a quiet machine.
 */
const RUN_SLACK_MS = 5000;

export function selfHealingSuite(delivery: DeliveryMode) {
  describe(`self-healing (${delivery} delivery)`, () => {
    const cleanups = new Cleanups();
    let own: PrivateEngineStack;
    let s: Stack;
    let c: ReturnType<typeof client>;
    let tenant: { id: string; key: string };

    beforeAll(async () => {
      own = await privateEngineStack(cleanups, (await privateEngineDatabase(cleanups)).url, {
        delivery,
        timing: TIMING,
      });
      s = own.stack;
      tenant = await s.tenant();
      c = client(s, tenant.key);
    });
    afterAll(() => cleanups.run());

    /** A queued echo job written straight into Postgres, as if by a process that then died. */
    async function forgeJob(targetId: string, handedOver: boolean): Promise<{ id: string; at: number }> {
      const id = randomUUID();
      // Taken before the insert: `dispatched_at` (Postgres's now()) is never earlier.
      const at = Date.now();
      await s.database.db.insert(jobs).values({
        id,
        tenantId: tenant.id,
        targetId,
        apiName: "echo",
        parameters: { forged: true },
        status: "queued",
        dispatchedAt: handedOver ? sql`now()` : null,
      });
      return { id, at };
    }

    async function waitSuccess(label: string, id: string, b: Bound, from: number) {
      return within(
        label,
        b,
        async () => ((await jobRows(s.database.db, [id])).get(id)?.status === "success" ? true : undefined),
        { from, describe: () => stuckJobs(s.database.db, [tenant.id]) },
      );
    }

    async function logsOf(id: string): Promise<string[]> {
      const rows = await s.database.db.select().from(jobLogs).where(eq(jobLogs.jobId, id)).orderBy(jobLogs.id);
      return rows.map((r) => String(r.content));
    }

    it("puts back a hand-over lost between its claim and its trigger, and runs the job", async () => {
      const target = await c.target("lost-hand-over");
      // Claimed just now (dispatched_at set), no run id: its dispatcher died before the trigger.
      const { id, at } = await forgeJob(target, true);
      const { ms } = await waitSuccess(
        `${delivery}: a lost hand-over repaired and run`,
        id,
        bound({
          lostHandOverMs: s.timing.lostHandOverMs,
          "sweep period": sweepPeriodMs(delivery, s.timing),
          "hand-over and run": RUN_SLACK_MS,
        }),
        at,
      );
      // Not before its time: a hand-over is put back only once `lostHandOverMs` has passed.
      expect(ms).toBeGreaterThanOrEqual(s.timing.lostHandOverMs);
      expect(await logsOf(id)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^the hand-over to Hatchet got no run within 3 s/)]),
      );
      const report = await invariants(`${delivery}: lost hand-over`, s.database.db, { tenantIds: [tenant.id] });
      expect(report.violations).toEqual([]);
    });

    const untold = delivery === "relay" ? "committed without its NOTIFY" : "committed without its inline hand-over";
    it(`dispatches a job ${untold}`, async () => {
      const target = await c.target("untold");
      const { id, at } = await forgeJob(target, false);
      await waitSuccess(
        `${delivery}: a job ${untold} dispatched and run`,
        id,
        bound({ "sweep period": sweepPeriodMs(delivery, s.timing), "hand-over and run": RUN_SLACK_MS }),
        at,
      );
      const report = await invariants(`${delivery}: untold job`, s.database.db, { tenantIds: [tenant.id] });
      expect(report.violations).toEqual([]);
    });

    it("hands over a job created while the engine was unreachable once it is back, without a resync", async () => {
      const target = await c.target("engine-down");
      await own.stopEngine();
      const r = await c.call("POST", `/api/targets/${target}/jobs/`, { api_name: "echo", parameters: { down: true } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const id: string = r.body.id;
      // It waits visibly. Direct mode: the API's own hand-over, right after the commit, failed and
      // says why. Relay mode: the relay's attempts fail the same way (or have not happened yet).
      const waiting = await within(
        `${delivery}: the create's hand-over failed visibly`,
        bound({ "sweep period": sweepPeriodMs(delivery, s.timing), slack: SLACK_MS }),
        async () => {
          const row = (await jobRows(s.database.db, [id])).get(id);
          return row?.status === "queued" && row.dispatchError && !row.dispatchedAt ? row : undefined;
        },
      );
      console.info(`[faults] ${delivery}: created while the engine was down: ${waiting.value.dispatchError}`);
      const down = await invariants(`${delivery}: engine down`, s.database.db, { tenantIds: [tenant.id] });
      expect(down.violations).toEqual([]);

      await own.startEngine();
      const upAt = Date.now();
      // Direct mode: the engine claims the worker's operator on its tick and polls its health (the
      // sweep) one period later. Relay mode: the relay's gRPC channels connect again after their
      // capped backoff, and its next sweep hands the job over.
      const limit =
        delivery === "direct"
          ? bound({
              "operator claim": ENGINE.operatorClaimMs,
              "first health poll": ENGINE.healthPollMs,
              "hand-over and run": RUN_SLACK_MS,
              slack: SLACK_MS,
            })
          : bound({
              "gRPC reconnect": GRPC.reconnectMs,
              "listener retry": GRPC.listenerRetryMs,
              "sweep period": sweepPeriodMs(delivery, s.timing),
              "hand-over and run": RUN_SLACK_MS,
              slack: SLACK_MS,
            });
      const { ms } = await waitSuccess(`${delivery}: the job created while the engine was down ran`, id, limit, upAt);
      console.info(`[faults] ${delivery}: engine back: the waiting job ran ${(ms / 1000).toFixed(1)} s after it`);
      const report = await invariants(`${delivery}: engine back`, s.database.db, {
        tenantIds: [tenant.id],
        settled: true,
        hatchet: s.rest,
      });
      expect(report.violations).toEqual([]);
    });
  });
}
