// Each process's settings as one zod schema of environment variables, checked once at start-up: a
// misconfigured process stops with one error listing every missing or bad variable, not with the
// first one some code path happens to read. The packages that read a variable own its rule (a
// `setting` wrapping their reader), so the schema and the code that uses the value never differ.
import * as z from "zod/mini";

/** Every problem with a process's settings, one line per variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly role: string,
    readonly problems: string[],
  ) {
    super(`switchyard's ${role} cannot start; fix these settings:\n  - ${problems.join("\n  - ")}`);
  }
}

type Raw = string | undefined;

/**
 * A variable whose rule is a reader: it gets the raw value (undefined when unset) and returns the
 * setting or throws a message that says what is wrong (naming the variable, as the process's
 * error lists it).
 */
export function setting<T>(read: (raw: Raw) => T) {
  return z.pipe(
    z.optional(z.string()),
    z.transform((raw: Raw, ctx) => {
      try {
        return read(raw === "" ? undefined : raw);
      } catch (err) {
        ctx.issues.push({ code: "custom", message: (err as Error).message, input: raw });
        return z.NEVER;
      }
    }),
  );
}

/** A variable that must be set (to anything but an empty string). */
export const required = (name: string, hint = "") =>
  setting((raw) => {
    if (raw === undefined) throw new Error(`${name} is not set${hint ? `: ${hint}` : ""}`);
    return raw;
  });

/** One of the values listed, or the default when unset. */
export const oneOf = <const T extends string>(name: string, values: readonly T[], fallback?: T) =>
  setting((raw): T | undefined => {
    if (raw === undefined) return fallback;
    if (!(values as readonly string[]).includes(raw)) {
      throw new Error(`${name} must be ${values.join(", ")}, not ${JSON.stringify(raw)}`);
    }
    return raw as T;
  });

/** A whole number of at least 1, or the default when unset (`Number()` alone would take "abc" as NaN). */
export const positiveInteger = (name: string, fallback: number) =>
  setting((raw) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
      throw new Error(`${name} must be a whole number of at least 1, not ${JSON.stringify(raw)}`);
    }
    return n;
  });

export type ConfigShape = Record<string, z.ZodMiniType<unknown, Raw>>;
export type Config<S extends ConfigShape> = { [K in keyof S]: z.output<S[K]> };

/** Checks every variable of the schema at once; throws a ConfigError listing each problem. */
export function loadConfig<S extends ConfigShape>(role: string, shape: S, env: NodeJS.ProcessEnv = process.env) {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data as Config<S>;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "");
    return issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
  });
  throw new ConfigError(role, problems);
}

/** Where switchyard's own Postgres is; `poolMax` is the process's default pool size. */
export const databaseEnv = (poolMax: number) => ({
  DATABASE_URL: required("DATABASE_URL", "a postgres:// URL of switchyard's database"),
  DATABASE_POOL_MAX: positiveInteger("DATABASE_POOL_MAX", poolMax),
});
