import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { tenantClient } from "../support/client.ts";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

describe("the product in one process", () => {
  it("runs an echo job to success with its parameters as the result", async () => {
    const tenant = await t.tenant();
    const target = await t.api(tenant.key, "POST", "/api/targets/", { name: "desk" });
    expect(target.status).toBe(201);
    const created = await t.api(tenant.key, "POST", `/api/targets/${target.body.id}/jobs/`, {
      api_name: "echo",
      parameters: { a: 1 },
    });
    expect(created.status).toBe(200);
    expect(created.body.status).toBe("queued");
    const done = await tenantClient(t, tenant.key).waitStatus(target.body.id, created.body.id, "success", 10_000);
    expect(done.result).toEqual({ a: 1 });
  });
});
