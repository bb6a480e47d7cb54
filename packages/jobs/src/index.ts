// The job types this code base serves. Adding a job type is one file next to this one and one
// line in `jobTypes` below; the API, the workers and the docs' schemas pick it up from here.
import { echo } from "./echo.ts";
import { fail } from "./fail.ts";
import { httpRequest } from "./http-request.ts";
import { sleep } from "./sleep.ts";

export { echo, fail, httpRequest, sleep };

export const jobTypes = [echo, sleep, fail, httpRequest] as const;

export type BuiltinJobType = (typeof jobTypes)[number];

const byName = new Map<string, BuiltinJobType>(jobTypes.map((t) => [t.name, t]));
if (byName.size !== jobTypes.length) throw new Error("duplicate job type name in jobTypes");

export function findJobType(name: string): BuiltinJobType | undefined {
  return byName.get(name);
}
