// Which failures the API answers 503 (an outage: try again) rather than 500 (a bug).
import { HatchetRestError } from "@switchyard/hatchet";
import { describe, expect, it } from "vitest";
import { outageOf } from "../../functions/api/_lib/errors.ts";

const pgError = (code: string, message = "pg") => Object.assign(new Error(message), { code });

describe("outageOf", () => {
  it.each([
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })],
    ["a pool that cannot connect", new Error("timeout exceeded when trying to connect")],
    ["a connection cut mid-query", new Error("Connection terminated unexpectedly")],
    ["the server shutting down (57P01)", pgError("57P01")],
    ["the server starting up (57P03)", pgError("57P03")],
    ["too many connections (53300)", pgError("53300")],
    ["a connection failure (08006)", pgError("08006")],
    ["a wrapped cause (drizzle's query error)", new Error("Failed query: select 1", { cause: pgError("57P01") })],
  ])("answers database.unavailable for %s", (_, err) => {
    expect(outageOf(err)).toEqual({
      code: "database.unavailable",
      detail: "The database cannot be reached; try again shortly",
      retryAfterSeconds: 5,
    });
  });

  it.each([
    ["no answer", new HatchetRestError("Hatchet GET … got no answer: connect ECONNREFUSED", 0)],
    ["a 503", new HatchetRestError("Hatchet GET … answered 503", 503)],
  ])("answers orchestrator.unavailable for %s from Hatchet", (_, err) => {
    expect(outageOf(err)?.code).toBe("orchestrator.unavailable");
  });

  it.each([
    ["a bug", new TypeError("x is undefined")],
    ["a constraint violation (23505)", pgError("23505")],
    ["a syntax error (42601)", pgError("42601")],
    ["a 404 from Hatchet", new HatchetRestError("Hatchet … answered 404", 404)],
    ["something that is not an Error", "boom"],
  ])("is no outage for %s", (_, err) => {
    expect(outageOf(err)).toBeUndefined();
  });
});
