// GET /api/job-types/: what tenants may create jobs of, as the registered workers publish it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { newTenant } from "../support/client.ts";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

describe("GET /api/job-types/", () => {
  it("lists each job type once with its description, parameters' JSON Schema and defaults", async () => {
    const c = await newTenant(t);
    const r = await c.api("GET", "/api/job-types/");
    expect(r.status).toBe(200);
    const types = r.body.job_types as Array<{ name: string }>;
    expect(types.map((j) => j.name)).toEqual(["echo", "fail", "http-request", "sleep"]);
    expect(r.body.job_types.find((j: { name: string }) => j.name === "sleep")).toEqual({
      name: "sleep",
      description: expect.stringContaining("Waits"),
      parameters: expect.objectContaining({
        type: "object",
        properties: { ms: expect.objectContaining({ type: "integer", minimum: 0 }) },
        required: ["ms"],
      }),
      defaults: { timeout_seconds: 900, retries: 0 },
    });
  });

  it("needs a tenant key", async () => {
    const r = await t.api("", "GET", "/api/job-types/");
    expect(r.status).toBe(401);
    expect(r.body.code).toBe("auth.missing_key");
  });
});
