// Webhook workers as switchyard knows them: registered with a URL and a signing secret, their job
// types discovered from their health call, refreshed periodically, marked unhealthy when silent.
import { type HealthResponse, iso, notFound, SwitchyardError } from "@switchyard/core";
import { type Db, type DbOrTx, webhookWorkers, workerJobTypes } from "@switchyard/db";
import { asc, eq, sql } from "drizzle-orm";
import { assertSecret } from "./signing.ts";
import { health } from "./worker-client.ts";

export interface WorkerInput {
  name: string;
  url: string;
  secret: string;
}

export async function register(db: Db, input: WorkerInput, probe = health) {
  try {
    assertSecret(input.secret);
  } catch (err) {
    throw new SwitchyardError("request.invalid", (err as Error).message);
  }
  const [taken] = await db
    .select({ id: webhookWorkers.id })
    .from(webhookWorkers)
    .where(eq(webhookWorkers.name, input.name));
  if (taken) throw new SwitchyardError("worker.name_taken", `A worker named '${input.name}' is already registered`);
  let info: HealthResponse;
  try {
    info = await probe(input.url, input.secret);
  } catch (err) {
    throw new SwitchyardError(
      "worker.unreachable",
      `The worker did not answer its health call: ${(err as Error).message}`,
    );
  }
  const id = await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(webhookWorkers)
      .values({ ...input, healthy: true, lastCheckedAt: new Date() })
      .returning({ id: webhookWorkers.id });
    if (!row) throw new Error("insert returned no row");
    await replaceJobTypes(tx, row.id, info);
    return row.id;
  });
  return get(db, id);
}

export async function list(db: Db) {
  const rows = await db.select().from(webhookWorkers).orderBy(asc(webhookWorkers.createdAt));
  const types = await db.select().from(workerJobTypes);
  return rows.map((w) =>
    view(
      w,
      types.filter((t) => t.workerId === w.id),
    ),
  );
}

export async function get(db: Db, id: string) {
  const [w] = await db.select().from(webhookWorkers).where(eq(webhookWorkers.id, id));
  if (!w) throw notFound("worker", id);
  const types = await db.select().from(workerJobTypes).where(eq(workerJobTypes.workerId, id));
  return view(w, types);
}

export async function remove(db: Db, id: string) {
  const deleted = await db.delete(webhookWorkers).where(eq(webhookWorkers.id, id)).returning({ id: webhookWorkers.id });
  if (deleted.length === 0) throw notFound("worker", id);
  return { message: `Worker ${id} deleted` };
}

/**
 * Registers the worker, or keeps its registration when it already points at the same URL with the
 * same secret (its job types are then read again). Safe to repeat on every deploy and start.
 */
export async function upsert(db: Db, input: WorkerInput, probe = health) {
  const [existing] = await db.select().from(webhookWorkers).where(eq(webhookWorkers.name, input.name));
  if (existing && existing.url === input.url && existing.secret === input.secret) {
    const [result] = await refresh(db, probe, existing.id);
    if (!result?.healthy) {
      throw new SwitchyardError("worker.unreachable", `Worker '${input.name}' did not answer: ${result?.error}`);
    }
    return get(db, existing.id);
  }
  // A moved URL or a rotated secret: replace the row (register refuses a taken name).
  if (existing) await remove(db, existing.id);
  return register(db, input, probe);
}

/** Calls the workers' health endpoints (one worker's, or all); updates job types and health. */
export async function refresh(db: Db, probe = health, workerId?: string) {
  const workers = await db
    .select()
    .from(webhookWorkers)
    .where(workerId ? eq(webhookWorkers.id, workerId) : undefined);
  return Promise.all(
    workers.map(async (w) => {
      try {
        const info = await probe(w.url, w.secret);
        await db.transaction(async (tx) => {
          await tx
            .update(webhookWorkers)
            .set({ healthy: true, lastError: null, lastCheckedAt: sql`now()` })
            .where(eq(webhookWorkers.id, w.id));
          await replaceJobTypes(tx, w.id, info);
        });
        return { id: w.id, name: w.name, healthy: true };
      } catch (err) {
        const lastError = (err as Error).message.slice(0, 500);
        await db
          .update(webhookWorkers)
          .set({ healthy: false, lastError, lastCheckedAt: sql`now()` })
          .where(eq(webhookWorkers.id, w.id));
        return { id: w.id, name: w.name, healthy: false, error: lastError };
      }
    }),
  );
}

async function replaceJobTypes(db: DbOrTx, workerId: string, info: HealthResponse) {
  await db.delete(workerJobTypes).where(eq(workerJobTypes.workerId, workerId));
  if (info.job_types.length === 0) return;
  await db.insert(workerJobTypes).values(
    info.job_types.map((t) => ({
      workerId,
      name: t.name,
      description: t.description,
      parameterSchema: t.parameters,
      timeoutSeconds: t.defaults.timeout_seconds,
      retries: t.defaults.retries,
    })),
  );
}

function view(w: typeof webhookWorkers.$inferSelect, types: (typeof workerJobTypes.$inferSelect)[]) {
  return {
    id: w.id,
    name: w.name,
    url: w.url,
    healthy: w.healthy,
    last_checked_at: w.lastCheckedAt ? iso(w.lastCheckedAt) : null,
    last_error: w.lastError,
    created_at: iso(w.createdAt),
    job_types: types.map((t) => ({
      name: t.name,
      description: t.description,
      parameters: t.parameterSchema,
      defaults: { timeout_seconds: t.timeoutSeconds, retries: t.retries },
    })),
  };
}
