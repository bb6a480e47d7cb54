// Registers the deployed webhook worker; invoked by the deploy (infra/worker.ts) with the worker's
// Function URL. In direct mode (the default) it also declares the job task to the engine and
// makes the worker its HTTP operator. Safe to repeat: an unchanged worker is only re-probed (its
// job types follow the code just deployed) and keeps its operator. Failing here fails the deploy,
// which is the point: a worker nobody can reach should not go unnoticed.
import { log, timingFromEnv } from "@switchyard/core";
import { sharedDatabase } from "@switchyard/db";
import { deliveryFromEnv, ensureOperator, HatchetRest, hatchetSettingsFromEnv } from "@switchyard/hatchet";
import { hatchetClient, registerTasks } from "@switchyard/hatchet/sdk";
import { Workers } from "@switchyard/workers";
import { z } from "zod";

const Input = z.object({ name: z.string().min(1), url: z.url() });

export const handler = async (event: unknown) => {
  const { name, url } = Input.parse(event);
  const secret = process.env.WEBHOOK_SIGNING_SECRET;
  if (!secret) throw new Error("WEBHOOK_SIGNING_SECRET is not set");
  const worker = await Workers.upsert(sharedDatabase().db, { name, url, secret });
  const delivery = deliveryFromEnv();
  let operator: string | undefined;
  if (delivery === "direct") {
    const settings = hatchetSettingsFromEnv();
    await registerTasks(hatchetClient(settings), timingFromEnv());
    operator = (await ensureOperator(new HatchetRest(settings), { name, url, secret, namespace: settings.namespace }))
      .name;
  }
  log.info("worker registered", {
    worker: worker.name,
    url: worker.url,
    job_types: worker.job_types.length,
    delivery,
    operator,
  });
  return { id: worker.id, name: worker.name, delivery, operator, job_types: worker.job_types.map((t) => t.name) };
};
