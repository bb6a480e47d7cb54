// The Hatchet engine stops while jobs are queued and running, and starts again on the same
// database and ports. This file runs its own engine (the shared one serves the other files).
// While it is down the API still accepts jobs, which wait visibly in Postgres; after the restart
// every job converges. The new engine takes the tenant's partitions over before it schedules
// (about a minute here). A run the engine holds after the restart is released by the relay after
// 3 minutes, so convergence is given four.
import { randomUUID } from "node:crypto";
import { jobLogs } from "@switchyard/db";
import type { HatchetRest } from "@switchyard/hatchet";
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { dropDatabase, ensureDatabase, withClient } from "../../dev/postgres.ts";
import { poll } from "../support/poll.ts";
import { Cleanups, client, invariants, jobRows, privateEngineStack, type Stack, statusCounts } from "./harness.ts";

const cleanups = new Cleanups();
let own: Awaited<ReturnType<typeof privateEngineStack>>;
let s: Stack;
let rest: HatchetRest;

beforeAll(async () => {
  const server = inject("postgresUrl");
  const dbName = `sy_f_hatchet_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const databaseUrl = await ensureDatabase(server, dbName, { timezone: "UTC" });
  cleanups.add(`drop database ${dbName}`, () => dropDatabase(server, dbName));
  own = await privateEngineStack(cleanups, databaseUrl);
  ({ stack: s, rest } = own);
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

describe("Hatchet engine restart", () => {
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
      sleeps.push(await c.job(t, "sleep", { ms: 4000 }));
      before.push(sleeps.at(-1) ?? "");
      before.push(await c.job(t, "echo", { behind: "sleep" }));
      before.push(await c.job(t, "fail", { retryable: true, succeed_on_attempt: 1 }));
    }
    const early: string[] = [];
    for (const t of idle) early.push(await c.job(t, "echo", { early: true }));
    before.push(...early);
    await poll(
      async () => {
        const rows = await jobRows(s.database.db, [...sleeps, ...early]);
        const running = sleeps.every((id) => rows.get(id)?.status === "running");
        return running && early.every((id) => rows.get(id)?.status === "success") ? true : undefined;
      },
      { timeoutMs: 30_000, label: "the sleep jobs to run and the early jobs to end" },
    );
    // Last-moment hand-overs: runs triggered right before the engine stops (measured below).
    const handedOver: string[] = [];
    for (const t of lastMoment) handedOver.push(await c.job(t, "echo", { lastMoment: true }));

    await own.stopEngine();
    const downAt = Date.now();
    console.info(`[faults] engine stopped with ${JSON.stringify(await statusCounts(s.database.db, [tenant.id]))}`);

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
    await poll(
      async () => {
        const rows = await jobRows(s.database.db, sleeps);
        return sleeps.every((id) => rows.get(id)?.status === "success") ? true : undefined;
      },
      { timeoutMs: 30_000, label: "the sleeps to finish while the engine is down" },
    );
    const waiting = await jobRows(s.database.db, during);
    for (const id of during) {
      const row = waiting.get(id);
      expect(row?.status).toBe("queued");
      // Either its hand-over failed (the reason is on the row) or it was never handed over.
      expect(row?.dispatchError !== null || row?.dispatchedAt === null, `job ${id} waits visibly`).toBe(true);
    }
    const withReason = [...waiting.values()].filter((r) => r.dispatchError).length;
    expect(withReason).toBeGreaterThan(0);
    const whileDown = await invariants("engine down", s.database.db, { tenantIds: [tenant.id] });
    expect(whileDown.violations).toEqual([]);
    console.info(
      `[faults] engine down ${Date.now() - downAt} ms; ${during.length} jobs accepted meanwhile, ${withReason} with a dispatch error`,
    );

    await own.startEngine();
    const upAt = Date.now();
    console.info(`[faults] engine restarted after ${upAt - downAt} ms down`);
    const main = [...before, ...during];
    let last: Record<string, number> = {};
    await poll(
      async () => {
        const rows = await jobRows(s.database.db, main);
        last = {};
        for (const r of rows.values()) last[r.status] = (last[r.status] ?? 0) + 1;
        return [...rows.values()].every((r) => r.status === "success") ? true : undefined;
      },
      // A run the engine holds after the restart delays its target until the relay releases it (3 min).
      { timeoutMs: 240_000, intervalMs: 250, label: "the jobs to converge after the restart" },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last counts ${JSON.stringify(last)}`);
    });
    console.info(`[faults] engine restart: converged ${Math.round((Date.now() - upAt) / 1000)} s after the restart`);

    // The last-moment hand-overs. Sometimes a run the engine assigned to the relay just before it
    // stopped never reached the relay, and the restarted engine keeps it assigned (until the
    // 16-minute execution timeout) while reporting it QUEUED. The relay withdraws a run held for
    // 3 minutes and hands the job over again (it checks every 30 s), so every one must end.
    const held = await poll(
      async () => {
        const rows = await jobRows(s.database.db, handedOver);
        return [...rows.values()].every((r) => r.status === "success") ? rows : undefined;
      },
      { timeoutMs: Math.max(0, upAt + 240_000 - Date.now()), label: "the last-moment hand-overs" },
    )
      .then(() =>
        s.database.db
          .select()
          .from(jobLogs)
          .where(inArray(jobLogs.jobId, [...main, ...handedOver])),
      )
      .then((logs) => logs.filter((l) => String(l.content).startsWith("Hatchet held run")))
      .catch(async (err: Error) => {
        for (const r of (await jobRows(s.database.db, handedOver)).values()) {
          if (r.status === "success") continue;
          const run = r.hatchetRunId ?? "";
          console.info(
            `[faults] last-moment hand-over ${r.id.slice(0, 8)} still ${r.status}; run ${run} is ${await rest.runState(run)}, engine: ${await engineTask(run)}`,
          );
        }
        throw err;
      });
    console.info(
      `[faults] engine restart: all ${handedOver.length} last-moment hand-overs ran; the relay released ${held.length} run(s) the engine held`,
    );
    const report = await invariants("engine restart", s.database.db, { tenantIds: [tenant.id], hatchet: rest });
    expect(report.violations).toEqual([]);
  }, 480_000);

  it("resync then finds no disagreement", async () => {
    const r = await s.call(key, "POST", "/api/jobs/queue/resync");
    expect(r.status).toBe(200);
    console.info(`[faults] engine restart: resync says "${r.body.message}" (${r.body.repairs.length} repairs)`);
    expect(r.body.repairs).toEqual([]);
    const counts = await statusCounts(s.database.db, [tenantId]);
    expect((counts.queued ?? 0) + (counts.running ?? 0)).toBe(0);
    const report = await invariants("engine restart, settled", s.database.db, { tenantIds: [tenantId], settled: true });
    expect(report.violations).toEqual([]);
  });
});
