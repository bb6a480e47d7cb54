// @switchyard/client against a real API: the README's example (a target, a job, waiting for it),
// typed error answers, the Idempotency-Key round trip and the admin key, over the global fetch.
import { randomUUID } from "node:crypto";
import { createSwitchyardClient, SwitchyardApiError, type SwitchyardClient, waitForJob } from "@switchyard/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";

let t: TestApp;
let sy: SwitchyardClient;

beforeAll(async () => {
  t = await startTestApp();
  const { key } = await t.tenant();
  sy = createSwitchyardClient({ baseUrl: t.apiUrl, apiKey: key });
});
afterAll(() => t?.stop());

describe("@switchyard/client", () => {
  it("creates a target and a job and waits for it (the README's example)", async () => {
    const { data: target, error } = await sy.POST("/api/targets/", { body: { name: "desk-1" } });
    if (error) throw new SwitchyardApiError(401, error);
    const { data: job, response } = await sy.POST("/api/targets/{target_id}/jobs/", {
      params: { path: { target_id: target.id } },
      body: { api_name: "echo", parameters: { hello: "world" } },
    });
    expect(response.status).toBe(200);
    expect(job?.status).toBe("queued");
    const done = await waitForJob(sy, target.id, job?.id ?? "", { timeoutMs: 20_000, intervalMs: 100 });
    expect(done).toMatchObject({ status: "success", result: { hello: "world" } });

    const { data: logs } = await sy.GET("/api/targets/{target_id}/jobs/{job_id}/logs/", {
      params: { path: { target_id: target.id, job_id: done.id }, query: { after: 1 } },
    });
    expect(logs?.map((l) => l.id).every((id) => id > 1)).toBe(true);
  });

  it("answers errors typed by their status, in the {detail, code} shape", async () => {
    const { data, error, response } = await sy.GET("/api/targets/{target_id}", {
      params: { path: { target_id: "00000000-0000-4000-8000-000000000000" } },
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(error).toEqual({
      detail: "Target not found: 00000000-0000-4000-8000-000000000000",
      code: "target.not_found",
    });
    const { data: target } = await sy.POST("/api/targets/", { body: { name: "t" } });
    await expect(waitForJob(sy, target?.id ?? "", randomUUID())).rejects.toMatchObject({
      name: "SwitchyardApiError",
      status: 404,
      body: { code: "job.not_found" },
    });
    const anonymous = createSwitchyardClient({ baseUrl: t.apiUrl });
    const refused = await anonymous.GET("/api/jobs/", { params: { query: { limit: 1 } } });
    expect({ status: refused.response.status, code: refused.error?.code }).toEqual({
      status: 401,
      code: "auth.missing_key",
    });
  });

  it("sends the Idempotency-Key header and reads Idempotent-Replayed", async () => {
    const { data: target } = await sy.POST("/api/targets/", { body: { name: "idempotent" } });
    const create = () =>
      sy.POST("/api/targets/{target_id}/jobs/", {
        params: { path: { target_id: target?.id ?? "" }, header: { "Idempotency-Key": "client-test-1" } },
        body: { api_name: "echo" },
      });
    const first = await create();
    const second = await create();
    expect(second.data?.id).toBe(first.data?.id);
    expect(first.response.headers.get("idempotent-replayed")).toBeNull();
    expect(second.response.headers.get("idempotent-replayed")).toBe("true");
  });

  it("calls the admin routes with the admin key", async () => {
    const admin = createSwitchyardClient({ baseUrl: t.apiUrl, adminKey: t.adminKey });
    const { data, response } = await admin.POST("/api/admin/tenants/", { body: { name: `client-${randomUUID()}` } });
    expect(response.status).toBe(201);
    expect(data?.api_key).toMatch(/^sy_/);
    const tenantClient = createSwitchyardClient({ baseUrl: t.apiUrl, apiKey: data?.api_key });
    const { data: page } = await tenantClient.GET("/api/jobs/");
    expect(page).toEqual({ total_count: 0, jobs: [] });
  });
});
