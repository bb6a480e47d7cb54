// Per-tenant request limits: a tenant over its limit is answered 429 tenant.rate_limited with
// Retry-After in the error shape and nothing done; other tenants are served meanwhile; once its
// window ends (made to end by moving the stored window's end, not by waiting), it is served again.
import { jobs, rateLimits } from "@switchyard/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { newTenant } from "../support/client.ts";

const LIMIT = 5;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ rateLimit: `${LIMIT}/3600` });
});
afterAll(() => t?.stop());

describe("per-tenant rate limits", () => {
  it("answers 429 with Retry-After past the limit, does nothing, and leaves other tenants alone", async () => {
    const a = await newTenant(t);
    const b = await newTenant(t);
    const targetId = await a.target("limited"); // request 1
    const statuses: number[] = [];
    for (let i = 1; i < LIMIT; i++) statuses.push((await a.api("GET", "/api/targets/")).status);
    expect(statuses).toEqual([200, 200, 200, 200]);

    const refused = await a.api("POST", `/api/targets/${targetId}/jobs/`, { api_name: "echo", parameters: {} });
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      detail: expect.stringMatching(/^Rate limit of 5 requests per 3600 s exceeded; retry after \d+ s$/),
      code: "tenant.rate_limited",
    });
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(await t.database.db.$count(jobs, eq(jobs.targetId, targetId))).toBe(0);
    // Every route of the tenant is refused; another tenant is served; an unknown key is refused before any count.
    expect((await a.api("GET", "/api/jobs/")).status).toBe(429);
    expect((await b.api("GET", "/api/targets/")).status).toBe(200);
    expect((await t.api("sy_unknown", "GET", "/api/targets/")).status).toBe(401);

    // The window ends: the tenant is served again, with a full allowance.
    await t.database.db
      .update(rateLimits)
      .set({ expire: Date.now() - 1 })
      .where(eq(rateLimits.key, `tenant:${a.id}`));
    expect((await a.api("POST", `/api/targets/${targetId}/jobs/`, { api_name: "echo", parameters: {} })).status).toBe(
      200,
    );
  });

  it("documents the 429 on every tenant route of the OpenAPI document", async () => {
    const doc = (await t.api("", "GET", "/api/openapi.json")).body;
    for (const [path, ops] of Object.entries(
      doc.paths as Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>>,
    )) {
      for (const [method, op] of Object.entries(ops)) {
        const tenantRoute = JSON.stringify(op.security).includes("apiKey");
        expect(Boolean(op.responses["429"]), `${method} ${path}`).toBe(tenantRoute);
      }
    }
  });
});
