// Registers the deployed webhook worker with switchyard; invoked by the deploy (infra/worker.ts)
// with the worker's Function URL. Safe to repeat: an unchanged worker is only re-probed, so its
// job types follow the code just deployed. Failing here fails the deploy, which is the point:
// a worker switchyard cannot reach should not go unnoticed.
import { SwitchyardError } from "@switchyard/core";
import { type Db, sharedDatabase, webhookWorkers } from "@switchyard/db";
import * as Workers from "@switchyard/relay/registry";
import { eq } from "drizzle-orm";
import { z } from "zod";

const Input = z.object({ name: z.string().min(1), url: z.url() });

/** Register, or keep the existing registration when it already points here with the same secret. */
export async function upsertWorker(db: Db, input: Workers.WorkerInput) {
  const [existing] = await db.select().from(webhookWorkers).where(eq(webhookWorkers.name, input.name));
  if (existing && existing.url === input.url && existing.secret === input.secret) {
    const result = (await Workers.refresh(db)).find((w) => w.id === existing.id);
    if (!result?.healthy) {
      throw new SwitchyardError("worker.unreachable", `Worker '${input.name}' did not answer: ${result?.error}`);
    }
    return Workers.get(db, existing.id);
  }
  // A moved URL or a rotated secret: replace the row (register refuses a taken name).
  if (existing) await Workers.remove(db, existing.id);
  return Workers.register(db, input);
}

export const handler = async (event: unknown) => {
  const { name, url } = Input.parse(event);
  const secret = process.env.WEBHOOK_SIGNING_SECRET;
  if (!secret) throw new Error("WEBHOOK_SIGNING_SECRET is not set");
  const worker = await upsertWorker(sharedDatabase().db, { name, url, secret });
  console.log(`worker '${worker.name}' registered at ${worker.url}: ${worker.job_types.length} job types`);
  return { id: worker.id, name: worker.name, job_types: worker.job_types.map((t) => t.name) };
};
