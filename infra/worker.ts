// The webhook worker: one function behind a Function URL (the relay calls /health and /deliver,
// every request signed), registered with switchyard on each deploy.
import { migration } from "./migrate.ts";
import { databaseUrl, db, vpc } from "./network.ts";
import { workerFunction } from "./routes.ts";
import { webhookSecret } from "./secrets.ts";

export const worker = new sst.aws.Function("Worker", {
  handler: workerFunction.handler,
  // Public URL without IAM auth: the handler refuses anything not signed with WebhookSigningSecret.
  url: true,
  runtime: "nodejs22.x",
  architecture: "arm64",
  memory: "1024 MB",
  // A job attempt may run this long; the relay's call waits for it.
  timeout: "15 minutes",
  vpc,
  link: [db, webhookSecret],
  environment: {
    DATABASE_URL: databaseUrl,
    WEBHOOK_SIGNING_SECRET: webhookSecret.value,
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
  },
});

/**
 * Runs after the migrations and the worker's own update on every deploy, so switchyard re-reads the
 * worker's job types. The secret stays in the functions' environment, out of the invocation's state.
 * `sst dev` skips it: the local relay registers the worker itself (infra/relay.ts).
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
