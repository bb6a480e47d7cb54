// The Hatchet engine stops while jobs are queued and running, and starts again on the same
// database and ports. This file runs its own engine (the shared one serves the other files).
// While it is down the API still accepts jobs, which wait visibly in Postgres; after the restart
// every job converges. The new engine takes the tenant's partitions over before it schedules
// (about a minute here), so convergence is given two and a half.
import { randomUUID } from "node:crypto";
import type { HatchetRest } from "@switchyard/hatchet";
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
  const stuck: Array<{ id: string; run: string }> = [];
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
      { timeoutMs: 150_000, intervalMs: 250, label: "the jobs to converge after the restart" },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last counts ${JSON.stringify(last)}`);
    });
    console.info(`[faults] engine restart: converged ${Math.round((Date.now() - upAt) / 1000)} s after the restart`);

    // The last-moment hand-overs: each ran, or still waits visibly (queued with a run that the
    // engine reports QUEUED or RUNNING; the checker with `hatchet` verifies exactly that).
    // Sometimes a run the engine assigned to the relay just before it stopped never reached the
    // relay, and the restarted engine keeps it assigned (until the 16-minute execution timeout)
    // while reporting it QUEUED. The relay withdraws such runs after 3 minutes, longer than this
    // file waits; it happens in some runs only, so the count is printed, not asserted.
    await poll(
      async () => {
        const rows = await jobRows(s.database.db, handedOver);
        return [...rows.values()].every((r) => r.status === "success") ? true : undefined;
      },
      { timeoutMs: Math.max(0, upAt + 120_000 - Date.now()), label: "the last-moment hand-overs" },
    ).catch(() => {});
    for (const r of (await jobRows(s.database.db, handedOver)).values()) {
      if (r.status === "success") continue;
      const run = r.hatchetRunId ?? "";
      stuck.push({ id: r.id, run });
      console.info(
        `[faults] last-moment hand-over ${r.id.slice(0, 8)} still ${r.status} 120 s after the restart; run ${run} is ${await rest.runStatus(run)}, engine: ${await engineTask(run)}`,
      );
    }
    console.info(
      `[faults] engine restart: ${handedOver.length - stuck.length} of ${handedOver.length} last-moment hand-overs ran within 120 s`,
    );
    const report = await invariants("engine restart", s.database.db, { tenantIds: [tenant.id], hatchet: rest });
    expect(report.violations).toEqual([]);
  });

  it("resync then finds no disagreement, and a cancel ends any hand-over the engine still holds", async () => {
    // Resync compares Postgres with Hatchet: a run that the engine reports QUEUED is not a
    // disagreement, so it repairs nothing. Cancelling ends such a job for good.
    const r = await s.call(key, "POST", "/api/jobs/queue/resync");
    expect(r.status).toBe(200);
    console.info(`[faults] engine restart: resync says "${r.body.message}" (${r.body.repairs.length} repairs)`);
    for (const j of stuck) {
      const row = (await jobRows(s.database.db, [j.id])).get(j.id);
      const c = await s.call(key, "POST", `/api/targets/${row?.targetId}/jobs/${j.id}/cancel/`);
      expect(c.status).toBe(200);
    }
    const counts = await statusCounts(s.database.db, [tenantId]);
    expect((counts.queued ?? 0) + (counts.running ?? 0)).toBe(0);
    const report = await invariants("engine restart, settled", s.database.db, { tenantIds: [tenantId], settled: true });
    expect(report.violations).toEqual([]);
  });
});
