// What /api/diagnostics reports: can each part be reached, which versions run, how far behind
// the queue is. Each probe is bounded and reported on its own; one failing never hides the rest.
import { type Db, jobs, webhookWorkers } from "@switchyard/db";
import { sql } from "drizzle-orm";
import { lastSweepAge } from "./job/dispatch.ts";
import { iso } from "./job/view.ts";

export interface HatchetProbe {
  version(): Promise<string>;
  workers(): Promise<Array<{ name: string; status?: string; lastHeartbeatAt?: string }>>;
  apiUrl: string;
}

async function timed<T>(fn: () => Promise<T>) {
  const start = performance.now();
  try {
    const value = await fn();
    return { ok: true as const, latency_ms: Math.round(performance.now() - start), value };
  } catch (err) {
    return { ok: false as const, latency_ms: Math.round(performance.now() - start), error: (err as Error).message };
  }
}

/**
 * How runs reach the worker: "direct" (the engine's HTTP operators, whose workers are named
 * `operatorPrefix…`) or "relay" (switchyard's relays, named `…switchyard-relay`).
 */
export interface DeliveryProbe {
  mode: "direct" | "relay";
  operatorPrefix: string;
}

export async function report(db: Db, tenantId: string, hatchet: () => HatchetProbe, delivery: DeliveryProbe) {
  const [pg, engine, engineWorkers, lag, workers, sweptAgo] = await Promise.all([
    timed(
      async () =>
        (await db.execute<{ server_version: string }>(sql`show server_version`)).rows[0]?.server_version ?? "unknown",
    ),
    timed(() => hatchet().version()),
    timed(() => hatchet().workers()),
    db.execute<{ waiting: number | null; handed_over: number | null }>(sql`
      select extract(epoch from now() - min(created_at) filter (where status = 'queued' and dispatched_at is null))::float as waiting,
             extract(epoch from now() - min(dispatched_at) filter (where status = 'queued' and dispatched_at is not null))::float as handed_over
      from ${jobs} where status = 'queued' and tenant_id = ${tenantId}`),
    db.select().from(webhookWorkers),
    lastSweepAge(db),
  ]);
  const serving = (w: { name: string }) =>
    delivery.mode === "relay" ? w.name.endsWith("switchyard-relay") : w.name.startsWith(delivery.operatorPrefix);
  const active = engineWorkers.ok ? engineWorkers.value.filter((w) => serving(w) && w.status === "ACTIVE") : [];
  return {
    postgres: pg.ok ? { ok: true, version: pg.value, latency_ms: pg.latency_ms } : { ok: false, error: pg.error },
    hatchet: engine.ok
      ? { ok: true, version: engine.value, latency_ms: engine.latency_ms }
      : { ok: false, error: engine.error },
    // What delivers runs to the worker: the engine's operators, or the relays, as the engine sees them.
    delivery: engineWorkers.ok
      ? {
          mode: delivery.mode,
          ok: active.length > 0,
          active_workers: active.length,
          last_heartbeat_at: active[0]?.lastHeartbeatAt ? iso(new Date(active[0].lastHeartbeatAt)) : null,
          last_sweep_seconds_ago: sweptAgo === null ? null : sweptAgo / 1000,
        }
      : { mode: delivery.mode, ok: false, error: engineWorkers.error },
    webhook_workers: workers.map((w) => ({
      name: w.name,
      healthy: w.healthy,
      last_checked_at: w.lastCheckedAt ? iso(w.lastCheckedAt) : null,
      last_error: w.lastError,
    })),
    lag: {
      oldest_waiting_job_seconds: lag.rows[0]?.waiting ?? null,
      oldest_handed_over_job_seconds: lag.rows[0]?.handed_over ?? null,
    },
    versions: { node: process.version },
  };
}
