// The admin routes: tenants and their keys (shown once, stored as hashes), and webhook workers
// (registered after a signed health call that discovers their job types; secrets never answered).
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { apiKeys, tenants, webhookWorkers, workerJobTypes } from "@switchyard/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { ISO_TIMESTAMP, tenantClient } from "../support/client.ts";

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(() => t?.stop());

const BUILTIN = ["echo", "fail", "http-request", "sleep"];

const admin = (method: string, path: string, body?: unknown, adminKey = t.adminKey) =>
  t.api("", method, path, body, { "x-admin-key": adminKey });

async function tableDump() {
  const db = t.database.db;
  return {
    workers: await db.select().from(webhookWorkers).orderBy(webhookWorkers.createdAt),
    types: await db.select().from(workerJobTypes).orderBy(workerJobTypes.workerId, workerJobTypes.name),
  };
}

describe("tenants and keys", () => {
  it("creates a tenant whose key is shown once and stored only as a hash", async () => {
    const name = `acme-${randomUUID().slice(0, 8)}`;
    const r = await admin("POST", "/api/admin/tenants/", { name });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name,
      created_at: expect.stringMatching(ISO_TIMESTAMP),
      api_key: expect.stringMatching(/^sy_[A-Za-z0-9_-]{43}$/),
    });
    const key: string = r.body.api_key;
    const rows = await t.database.db.select().from(apiKeys).where(eq(apiKeys.tenantId, r.body.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.keyHash).toBe(createHash("sha256").update(key).digest("hex"));
    expect(rows[0]?.prefix).toBe(key.slice(0, 7));
    // No column of any key row holds the key.
    const everything = JSON.stringify(await t.database.db.select().from(apiKeys));
    expect(everything).not.toContain(key);
    expect(everything).not.toContain(key.slice(7));
    // The key works.
    const own = await t.api(key, "GET", "/api/targets/");
    expect(own.status).toBe(200);
    expect(own.body).toEqual([]);
  });

  it("refuses a second tenant with the same name (409) and writes nothing", async () => {
    const name = `dup-${randomUUID().slice(0, 8)}`;
    expect((await admin("POST", "/api/admin/tenants/", { name })).status).toBe(201);
    const before = { tenants: await t.database.db.$count(tenants), keys: await t.database.db.$count(apiKeys) };
    const r = await admin("POST", "/api/admin/tenants/", { name });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe("tenant.name_taken");
    expect({ tenants: await t.database.db.$count(tenants), keys: await t.database.db.$count(apiKeys) }).toEqual(before);
  });

  it("lists tenants oldest first, without keys", async () => {
    const a = await t.tenant(`list-a-${randomUUID().slice(0, 8)}`);
    const b = await t.tenant(`list-b-${randomUUID().slice(0, 8)}`);
    const r = await admin("GET", "/api/admin/tenants/");
    expect(r.status).toBe(200);
    const ids = r.body.map((x: { id: string }) => x.id);
    expect(ids.indexOf(b.id)).toBe(ids.indexOf(a.id) + 1);
    for (const tenant of r.body) {
      expect(Object.keys(tenant).sort()).toEqual(["created_at", "id", "name"]);
    }
    expect(JSON.stringify(r.body)).not.toContain(a.key);
  });

  it("creates another key for a tenant; both keys act as the tenant", async () => {
    const tenant = await t.tenant();
    const r = await admin("POST", `/api/admin/tenants/${tenant.id}/keys/`);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ tenant_id: tenant.id, api_key: expect.stringMatching(/^sy_/) });
    const second: string = r.body.api_key;
    expect(second).not.toBe(tenant.key);
    expect(await t.database.db.$count(apiKeys, eq(apiKeys.tenantId, tenant.id))).toBe(2);
    const created = await t.api(second, "POST", "/api/targets/", { name: "by-second-key" });
    expect(created.status).toBe(201);
    const seen = await t.api(tenant.key, "GET", `/api/targets/${created.body.id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.name).toBe("by-second-key");
    // Another tenant's key does not see it.
    const other = await t.tenant();
    expect((await t.api(other.key, "GET", `/api/targets/${created.body.id}`)).status).toBe(404);
  });
});

describe("webhook workers", () => {
  it("lists the local worker with its job types and no secret", async () => {
    const r = await admin("GET", "/api/admin/workers/");
    expect(r.status).toBe(200);
    const local = r.body.find((w: { name: string }) => w.name === "local");
    expect(local).toMatchObject({ name: "local", url: t.workerUrl, healthy: true, last_error: null });
    expect(local.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(local.created_at).toMatch(ISO_TIMESTAMP);
    expect(local.job_types.map((j: { name: string }) => j.name).sort()).toEqual(BUILTIN);
    const sleep = local.job_types.find((j: { name: string }) => j.name === "sleep");
    expect(sleep).toMatchObject({ defaults: { timeout_seconds: 900, retries: 0 } });
    expect(sleep.parameters).toMatchObject({ type: "object", required: ["ms"] });
    for (const w of r.body) expect(w).not.toHaveProperty("secret");
    expect(JSON.stringify(r.body)).not.toContain(t.signingSecret);
    expect(JSON.stringify(r.body)).not.toContain(t.signingSecret.slice("whsec_".length));
  });

  it("registers, refuses duplicates and wrong secrets, and deletes a worker", async () => {
    const name = `second-${randomUUID().slice(0, 8)}`;
    const created = await admin("POST", "/api/admin/workers/", { name, url: t.workerUrl, secret: t.signingSecret });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name, url: t.workerUrl, healthy: true, last_error: null });
    expect(created.body.last_checked_at).toMatch(ISO_TIMESTAMP);
    expect(created.body.job_types.map((j: { name: string }) => j.name).sort()).toEqual(BUILTIN);
    expect(created.body).not.toHaveProperty("secret");
    expect(JSON.stringify(created.body)).not.toContain(t.signingSecret);
    const [row] = await t.database.db.select().from(webhookWorkers).where(eq(webhookWorkers.name, name));
    expect(row?.secret).toBe(t.signingSecret);
    expect(await t.database.db.$count(workerJobTypes, eq(workerJobTypes.workerId, created.body.id))).toBe(4);
    const listed = await admin("GET", "/api/admin/workers/");
    expect(listed.body.map((w: { name: string }) => w.name)).toEqual(expect.arrayContaining(["local", name]));

    // A wrong secret (well formed): the worker refuses the signed health call.
    const before = await tableDump();
    const wrong = `whsec_${randomBytes(32).toString("base64")}`;
    const refused = await admin("POST", "/api/admin/workers/", { name: `${name}-x`, url: t.workerUrl, secret: wrong });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: "worker.unreachable", detail: expect.stringContaining("401") });
    expect(JSON.stringify(refused.body)).not.toContain(wrong);
    // A URL where nothing listens.
    const nobody = await admin("POST", "/api/admin/workers/", {
      name: `${name}-y`,
      url: "http://127.0.0.1:9/",
      secret: t.signingSecret,
    });
    expect(nobody.status).toBe(422);
    expect(nobody.body.code).toBe("worker.unreachable");
    // A secret that is not whsec_ + base64 of at least 24 bytes.
    const malformed = await admin("POST", "/api/admin/workers/", { name: `${name}-z`, url: t.workerUrl, secret: "x" });
    expect(malformed.status).toBe(422);
    expect(malformed.body.code).toBe("request.invalid");
    // The same name again.
    const dup = await admin("POST", "/api/admin/workers/", { name, url: t.workerUrl, secret: t.signingSecret });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe("worker.name_taken");
    expect(await tableDump()).toEqual(before);

    const del = await admin("DELETE", `/api/admin/workers/${created.body.id}`);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ message: `Worker ${created.body.id} deleted` });
    expect(await t.database.db.$count(workerJobTypes, eq(workerJobTypes.workerId, created.body.id))).toBe(0);
    const again = await admin("DELETE", `/api/admin/workers/${created.body.id}`);
    expect(again.status).toBe(404);
    expect(again.body.code).toBe("worker.not_found");
    const after = await admin("GET", "/api/admin/workers/");
    expect(after.body.map((w: { name: string }) => w.name)).not.toContain(name);
    expect(after.body.map((w: { name: string }) => w.name)).toContain("local");
  });

  it("jobs still run with the local worker after another worker came and went", async () => {
    const { key } = await t.tenant();
    const target = (await t.api(key, "POST", "/api/targets/", { name: "after-workers" })).body.id;
    const job = await t.api(key, "POST", `/api/targets/${target}/jobs/`, { api_name: "echo", parameters: { z: 1 } });
    expect(job.status).toBe(200);
    const done = await tenantClient(t, key).waitStatus(target, job.body.id, "success");
    expect(done.result).toEqual({ z: 1 });
  });
});
