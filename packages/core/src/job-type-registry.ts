// Job types as the API knows them: what registered webhook workers published (name, JSON Schema
// of the parameters, defaults). The API validates against these schemas so it needs no code of
// the job types, which may live in workers it has never seen.
import { type Db, webhookWorkers, workerJobTypes } from "@switchyard/db";
import type { Ajv2020, ValidateFunction } from "ajv/dist/2020.js";
import { desc, eq } from "drizzle-orm";
import { coerceLegacyScalars } from "./coerce.ts";
import { SwitchyardError } from "./errors.ts";

// Ajv is loaded on the first validation, not at import: every API function imports core, and
// only job creation validates (loading Ajv cost about 70 ms of cold start in each of them).
let ajv: Promise<Ajv2020> | undefined;
const loadAjv = () => {
  ajv ??= Promise.all([import("ajv/dist/2020.js"), import("ajv-formats")]).then(([{ Ajv2020 }, formats]) => {
    const instance = new Ajv2020({ allErrors: true, strict: false });
    formats.default.default(instance);
    return instance;
  });
  return ajv;
};
const compiled = new Map<string, ValidateFunction>();

async function validatorFor(schema: Record<string, unknown>): Promise<ValidateFunction> {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    v = (await loadAjv()).compile(schema);
    compiled.set(key, v);
  }
  return v;
}

export interface KnownJobType {
  name: string;
  description: string;
  parameterSchema: Record<string, unknown>;
  timeoutSeconds: number;
  retries: number;
  workerId: string;
  workerUrl: string;
  healthy: boolean;
}

/** The job type's row and the worker that serves it, healthy workers first. */
async function servedBy(db: Db, name: string) {
  const [row] = await db
    .select({ type: workerJobTypes, worker: webhookWorkers })
    .from(workerJobTypes)
    .innerJoin(webhookWorkers, eq(webhookWorkers.id, workerJobTypes.workerId))
    .where(eq(workerJobTypes.name, name))
    .orderBy(desc(webhookWorkers.healthy))
    .limit(1);
  return row;
}

/** The job type as served by a worker, preferring healthy workers. */
export async function findJobType(db: Db, name: string): Promise<KnownJobType | undefined> {
  const row = await servedBy(db, name);
  return (
    row && {
      name: row.type.name,
      description: row.type.description,
      parameterSchema: row.type.parameterSchema,
      timeoutSeconds: row.type.timeoutSeconds,
      retries: row.type.retries,
      workerId: row.worker.id,
      workerUrl: row.worker.url,
      healthy: row.worker.healthy,
    }
  );
}

/**
 * The job types tenants may create jobs of, one entry per name (from a healthy worker when one
 * serves it): what `GET /api/job-types/` answers.
 */
export async function catalog(db: Db) {
  const rows = await db
    .selectDistinctOn([workerJobTypes.name], { type: workerJobTypes })
    .from(workerJobTypes)
    .innerJoin(webhookWorkers, eq(webhookWorkers.id, workerJobTypes.workerId))
    .orderBy(workerJobTypes.name, desc(webhookWorkers.healthy), desc(webhookWorkers.updatedAt));
  return rows.map(({ type }) => ({
    name: type.name,
    description: type.description,
    parameters: type.parameterSchema,
    defaults: { timeout_seconds: type.timeoutSeconds, retries: type.retries },
  }));
}

/** Where the relay delivers a run of the job type: the same worker, with its signing secret. */
export async function findDelivery(db: Db, name: string) {
  const row = await servedBy(db, name);
  if (!row) return undefined;
  const { timeoutSeconds, retries } = row.type;
  return { timeoutSeconds, retries, url: row.worker.url, secret: row.worker.secret };
}

/**
 * Checks the parameters against the job type's published JSON Schema, after the legacy clients'
 * string scalars are coerced (coerce.ts); returns the parameters to store.
 */
export async function validateJobParameters(
  db: Db,
  apiName: string,
  given: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const type = await findJobType(db, apiName);
  if (!type) {
    throw new SwitchyardError(
      "job.unknown_type",
      `API definition '${apiName}' not found: no registered worker serves it`,
    );
  }
  const parameters = coerceLegacyScalars(type.parameterSchema, given) as Record<string, unknown>;
  const validate = await validatorFor(type.parameterSchema);
  if (!validate(parameters)) {
    const issues = (validate.errors ?? []).map((e) => ({
      path: e.instancePath || "/",
      message: e.message ?? "invalid",
    }));
    const first = issues[0];
    throw new SwitchyardError(
      "job.invalid_parameters",
      `Invalid parameters for '${apiName}': ${first ? `${first.path} ${first.message}` : "invalid"}`,
      issues,
    );
  }
  return parameters;
}
