// The webhook worker: one function behind a Function URL (response streaming), every request
// signed. In direct mode the Hatchet engine's HTTP operator calls it; in relay mode the relay
// does. Registered on each deploy: with switchyard (its job types) and, in direct mode, with the
// engine (the job task's declaration and the worker's HTTP operator).
import { delivery } from "./delivery.ts";
import { hatchetEnv } from "./hatchet.ts";
import { migration } from "./migrate.ts";
import { databaseUrl, db, vpc } from "./network.ts";
import { workerFunction } from "./routes.ts";
import { hatchetToken, webhookSecret } from "./secrets.ts";

/** What the worker and its registrar need to reach Hatchet (direct mode hands over next jobs itself). */
const hatchet = { HATCHET_CLIENT_TOKEN: hatchetToken.value, SWITCHYARD_DELIVERY: delivery, ...hatchetEnv };

export const worker = new sst.aws.Function("Worker", {
  handler: workerFunction.handler,
  // Public URL without IAM auth: the handler refuses anything not signed with WebhookSigningSecret.
  url: true,
  // It answers the engine's call and may go on working (an attempt that outlives the engine's
  // call, the next job's hand-over, a sweep): functions/_lib/streaming.ts.
  streaming: true,
  runtime: "nodejs22.x",
  architecture: "arm64",
  memory: "1024 MB",
  // A job attempt may run this long.
  timeout: "15 minutes",
  vpc,
  link: [db, webhookSecret, hatchetToken],
  environment: {
    DATABASE_URL: databaseUrl,
    WEBHOOK_SIGNING_SECRET: webhookSecret.value,
    ...hatchet,
  },
});

/** Registers (or refreshes) the worker under this name; see functions/register-worker.ts. */
export const WORKER_NAME = "lambda";

export const registrar = new sst.aws.Function("WorkerRegistrar", {
  handler: "functions/register-worker.handler",
  runtime: "nodejs22.x",
  architecture: "arm64",
  timeout: "1 minute",
  vpc,
  environment: {
    DATABASE_URL: databaseUrl,
    WEBHOOK_SIGNING_SECRET: webhookSecret.value,
    ...hatchet,
  },
});

/**
 * Runs after the migrations and the worker's own update on every deploy. The secret stays in the
 * functions' environment, out of the invocation's state. `sst dev` registers from the developer's
 * machine instead (below, or the local relay in relay mode).
 */
export const registration = $dev
  ? undefined
  : new aws.lambda.Invocation(
      "WorkerRegistration",
      {
        functionName: registrar.name,
        input: $jsonStringify({ name: WORKER_NAME, url: worker.url, deployedAt: Date.now() }),
      },
      { dependsOn: migration ? [migration, worker] : [worker] },
    );

/**
 * `sst dev` in direct mode: the engine calls the stage's Function URL, which SST's live mode
 * forwards to the worker code on the developer's machine; this registers that URL.
 */
export const devRegistration =
  $dev && delivery === "direct"
    ? new sst.x.DevCommand("WorkerRegistration", {
        dev: { command: $interpolate`npm run register -- --name ${WORKER_NAME} --url ${worker.url}`, autostart: true },
        environment: { DATABASE_URL: databaseUrl, WEBHOOK_SIGNING_SECRET: webhookSecret.value, ...hatchet },
      })
    : undefined;
