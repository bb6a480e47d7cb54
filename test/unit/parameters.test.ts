// The API checks a job's parameters against the JSON Schema its worker published, without the job
// type's code. These are the real job types' schemas as the worker publishes them.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parameterIssues } from "../../packages/core/src/job-type-registry.ts";
import { httpRequest, sleep } from "../../packages/jobs/src/index.ts";

const published = (t: { parameters: z.ZodType }) =>
  z.toJSONSchema(t.parameters, { io: "input" }) as Record<string, unknown>;

describe("parameterIssues", () => {
  it("accepts valid parameters", () => {
    expect(parameterIssues(published(sleep), { ms: 5 })).toEqual([]);
    expect(
      parameterIssues(published(httpRequest), { url: "https://example.com/a?b=1", method: "POST", body: "x" }),
    ).toEqual([]);
  });

  it.each([
    ["a number below the minimum", { ms: -1 }, [{ path: "/ms", message: "-1 is less than 0." }]],
    ["a non-integer", { ms: 1.5 }, [{ path: "/ms", message: expect.stringContaining("integer") }]],
    ["a string for a number", { ms: "5" }, [{ path: "/ms", message: expect.stringContaining("integer") }]],
    ["a missing property", {}, [{ path: "/", message: expect.stringContaining('"ms"') }]],
    ["a property the schema forbids", { ms: 1, extra: true }, [{ path: "/extra", message: "is not allowed" }]],
    ["not an object", [], [{ path: "/", message: expect.stringContaining("object") }]],
  ])("reports %s at its path, one issue per problem", (_what, given, want) => {
    expect(parameterIssues(published(sleep), given)).toEqual(want);
  });

  it("checks formats, enums and nested values, and reports every problem", () => {
    const issues = parameterIssues(published(httpRequest), {
      url: "not a url",
      method: "FETCH",
      headers: { "x-a": 1 },
    });
    expect(issues.map((i) => i.path).sort()).toEqual(["/headers/x-a", "/method", "/url"]);
    expect(issues.every((i) => i.message.length > 0)).toBe(true);
  });
});
