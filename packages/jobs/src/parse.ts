// What a worker receives is text it must read as JSON of a given shape, with a message that says
// what was wrong (safe to answer: it names fields, never the request's secrets).
import { z } from "zod";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses `text` as JSON and checks it against `schema`; `what` names it in the messages. */
export function parseJsonAs<T>(text: string, schema: z.ZodType<T>, what = "body"): Parsed<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: `${what} is not JSON` };
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: z.prettifyError(parsed.error) };
}
