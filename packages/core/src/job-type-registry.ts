// Job types as the API knows them: what registered webhook workers published (name, JSON Schema
// of the parameters, defaults). The API validates against these schemas so it needs no code of
// the job types, which may live in workers it has never seen.

import { type OutputUnit, Validator } from "@cfworker/json-schema";
import { type Db, webhookWorkers, workerJobTypes } from "@switchyard/db";
import { desc, eq } from "drizzle-orm";
import { coerceLegacyScalars } from "./coerce.ts";
import { SwitchyardError } from "./errors.ts";

// @cfworker/json-schema interprets the schema instead of compiling it to code as Ajv does: about
// 22 KB in a bundle against Ajv's 145 KB with its formats, nothing to load or compile at cold
// start, and draft 2020-12 (what zod's toJSONSchema writes) with the usual formats.
const validators = new Map<string, Validator>();

function validatorFor(schema: Record<string, unknown>): Validator {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    v = new Validator(schema, "2020-12", false);
    validators.set(key, v);
  }
  return v;
}

/**
 * Keywords whose error only says that a subschema failed; that subschema's own error follows it
 * and says what is wrong, so these are left out of the answer.
 */
const WRAPPER_KEYWORDS = new Set([
  "$ref",
  "allOf",
  "properties",
  "patternProperties",
  "additionalProperties",
  "items",
  "prefixItems",
  "dependentSchemas",
  "unevaluatedProperties",
  "unevaluatedItems",
]);

export interface ParameterIssue {
  /** JSON Pointer into the parameters; `/` for the object itself. */
  path: string;
  message: string;
}

/** What is wrong with the parameters against the job type's JSON Schema: nothing when they are valid. */
export function parameterIssues(schema: Record<string, unknown>, parameters: unknown): ParameterIssue[] {
  const { valid, errors } = validatorFor(schema).validate(parameters);
  return valid ? [] : describe(errors);
}

function describe(errors: OutputUnit[]): ParameterIssue[] {
  const specific = errors.filter((e) => !WRAPPER_KEYWORDS.has(e.keyword));
  return (specific.length > 0 ? specific : errors).map((e) => ({
    path: e.instanceLocation.replace(/^#/, "") || "/",
    // A `false` subschema is how zod's strict objects forbid other properties.
    message: e.keyword === "false" ? "is not allowed" : e.error,
  }));
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
  const issues = parameterIssues(type.parameterSchema, parameters);
  if (issues.length > 0) {
    const first = issues[0];
    throw new SwitchyardError(
      "job.invalid_parameters",
      `Invalid parameters for '${apiName}': ${first ? `${first.path} ${first.message}` : "invalid"}`,
      issues,
    );
  }
  return parameters;
}
