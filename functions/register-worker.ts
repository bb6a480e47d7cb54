// Registers the deployed webhook worker with switchyard; invoked by the deploy (infra/worker.ts)
// with the worker's Function URL. Safe to repeat: an unchanged worker is only re-probed, so its
// job types follow the code just deployed. Failing here fails the deploy, which is the point:
// a worker switchyard cannot reach should not go unnoticed.
import { sharedDatabase } from "@switchyard/db";
import { Workers } from "@switchyard/workers";
import { z } from "zod";

const Input = z.object({ name: z.string().min(1), url: z.url() });

export const handler = async (event: unknown) => {
  const { name, url } = Input.parse(event);
  const secret = process.env.WEBHOOK_SIGNING_SECRET;
  if (!secret) throw new Error("WEBHOOK_SIGNING_SECRET is not set");
  const worker = await Workers.upsert(sharedDatabase().db, { name, url, secret });
  console.log(`worker '${worker.name}' registered at ${worker.url}: ${worker.job_types.length} job types`);
  return { id: worker.id, name: worker.name, job_types: worker.job_types.map((t) => t.name) };
};
