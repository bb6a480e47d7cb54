// legacy-use's frontend sends scalar parameters as strings; exact numbers and booleans are accepted
// where the job type's schema asks for them, as pydantic's lax mode did, and nothing else changes.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { coerceLegacyScalars } from "../../packages/core/src/coerce.ts";

// Schemas as the worker publishes them (z.toJSONSchema of its job types' parameters).
const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input" });
const sleep = schema(z.strictObject({ ms: z.number().int().min(0) }));
const mixed = schema(
  z.object({
    n: z.number(),
    flag: z.boolean(),
    name: z.string(),
    maybe: z.number().nullable().optional(),
    list: z.array(z.number().int()),
    nested: z.object({ retries: z.number().int(), on: z.boolean() }),
    headers: z.record(z.string(), z.string()),
  }),
);

describe("coerceLegacyScalars", () => {
  it.each([
    ["500", 500],
    ["0", 0],
    ["-3", -3],
  ])("turns %j into %j for an integer", (given, want) => {
    expect(coerceLegacyScalars(sleep, { ms: given })).toEqual({ ms: want });
  });

  it.each(["500.5", "1e3", " 500", "500 ", "0x10", "", "05", "500ms", "Infinity", "NaN"])(
    "leaves %j alone for an integer, for validation to refuse",
    (given) => {
      expect(coerceLegacyScalars(sleep, { ms: given })).toEqual({ ms: given });
    },
  );

  it("follows properties, arrays and nested objects, and leaves strings and unknown keys alone", () => {
    const given = {
      n: "2.5e1",
      flag: "false",
      name: "123",
      maybe: "7",
      list: ["1", "2", "x"],
      nested: { retries: "3", on: "true" },
      headers: { "x-count": "5" },
      extra: "9",
    };
    expect(coerceLegacyScalars(mixed, given)).toEqual({
      n: 25,
      flag: false,
      name: "123",
      maybe: 7,
      list: [1, 2, "x"],
      nested: { retries: 3, on: true },
      headers: { "x-count": "5" },
      extra: "9",
    });
  });

  it("looks into anyOf and oneOf branches", () => {
    const either = { type: "object", properties: { v: { anyOf: [{ type: "integer" }, { type: "null" }] } } };
    expect(coerceLegacyScalars(either, { v: "4" })).toEqual({ v: 4 });
    const orString = { type: "object", properties: { v: { oneOf: [{ type: "integer" }, { type: "string" }] } } };
    expect(coerceLegacyScalars(orString, { v: "4" })).toEqual({ v: "4" });
  });

  it.each(["TRUE", "1", "yes", "False"])("does not read %j as a boolean", (given) => {
    expect(coerceLegacyScalars(mixed, { flag: given })).toEqual({ flag: given });
  });

  it("changes nothing that is already of the right type, or that no schema describes", () => {
    const given = { n: 1, flag: true, list: [3], nested: { retries: 1, on: false } };
    expect(coerceLegacyScalars(mixed, given)).toEqual(given);
    expect(coerceLegacyScalars({}, { a: "1" })).toEqual({ a: "1" });
    expect(coerceLegacyScalars(undefined, "1")).toBe("1");
  });
});
