// Schema migrations: a function that applies the committed drizzle-kit migrations, run on every deploy.
import { databaseUrl, vpc } from "./network.ts";

export const migrator = new sst.aws.Function("Migrator", {
  handler: "functions/migrate.handler",
  runtime: "nodejs22.x",
  architecture: "arm64",
  timeout: "5 minutes",
  vpc,
  // The bundle has no packages/db folder; migrate.ts reads the copied folder through this variable
  // (relative to the function's working directory).
  copyFiles: [{ from: "packages/db/migrations", to: "migrations" }],
  environment: {
    DATABASE_URL: databaseUrl,
    SWITCHYARD_MIGRATIONS_DIR: "migrations",
  },
});

/**
 * Runs the migrator once per deploy (the changing input makes Pulumi invoke it again). `sst dev`
 * skips it: the local processes migrate on start.
 */
export const migration = $dev
  ? undefined
  : new aws.lambda.Invocation("MigratorInvocation", {
      functionName: migrator.name,
      input: JSON.stringify({ deployedAt: Date.now() }),
    });
