// Idempotency-Key on job creates (the IETF draft's header): a retried create answers the job the
// first one made; the same key with another request is refused; concurrent duplicates make one
// job. Real Postgres: the key and the job are one statement, and a concurrent create waits for it.
import { jobLogs, jobs } from "@switchyard/db";
import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { newTenant, type TenantClient } from "../support/client.ts";
import { poll } from "../support/poll.ts";

let t: TestApp;
let c: TenantClient;

beforeAll(async () => {
  // Keys are kept 3 s here instead of 24 h, so that their expiry is tested, not waited out.
  t = await startTestApp({ timing: { idempotencyRetentionMs: 3000 } });
  c = await newTenant(t);
});
afterAll(() => t?.stop());

const create = (
  targetId: string,
  key: string | undefined,
  body: unknown = { api_name: "echo", parameters: { n: 1 } },
) => c.api("POST", `/api/targets/${targetId}/jobs/`, body, key === undefined ? {} : { "idempotency-key": key });

const jobCount = async (targetId: string) =>
  (await t.database.db.select({ n: count() }).from(jobs).where(eq(jobs.targetId, targetId)))[0]?.n ?? 0;

describe("Idempotency-Key on POST …/jobs/", () => {
  it("answers the first job to a retry with the same key and body, once made", async () => {
    const targetId = await c.target("idem-retry");
    const first = await create(targetId, "order-1001");
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await create(targetId, "order-1001");
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    expect(await jobCount(targetId)).toBe(1);
    // Without a key, every create is a job of its own.
    expect((await create(targetId, undefined)).body.id).not.toBe(first.body.id);
    expect(await jobCount(targetId)).toBe(2);
  });

  it("refuses the same key with another request, and changes nothing", async () => {
    const targetId = await c.target("idem-reuse");
    const first = await create(targetId, "k-reuse");
    const other = await create(targetId, "k-reuse", { api_name: "echo", parameters: { n: 2 } });
    expect(other.status).toBe(422);
    expect(other.body).toEqual({
      detail: "This Idempotency-Key was used for a different request; use a new key for a new job",
      code: "idempotency.key_reused",
    });
    const elsewhere = await create(await c.target("idem-reuse-2"), "k-reuse");
    expect(elsewhere.status).toBe(422);
    expect(await jobCount(targetId)).toBe(1);
    expect((await create(targetId, "k-reuse")).body.id).toBe(first.body.id);
  });

  it("makes one job of twenty concurrent creates with one key", async () => {
    const targetId = await c.target("idem-race");
    const answers = await Promise.all(Array.from({ length: 20 }, () => create(targetId, "race-key")));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.headers.get("idempotent-replayed") === "true")).toHaveLength(19);
    expect(await jobCount(targetId)).toBe(1);
    const [id] = [...ids];
    const added = await t.database.db
      .select({ n: count() })
      .from(jobLogs)
      .where(eq(jobLogs.jobId, id ?? ""));
    expect(added[0]?.n).toBeGreaterThanOrEqual(1);
    await c.waitStatus(targetId, id ?? "", "success");
  });

  it("keeps tenants' keys apart", async () => {
    const other = await newTenant(t);
    const mine = await create(await c.target("idem-tenant"), "shared-key");
    const theirTarget = await other.target("idem-tenant");
    const theirs = await other.api(
      "POST",
      `/api/targets/${theirTarget}/jobs/`,
      { api_name: "echo", parameters: { n: 1 } },
      { "idempotency-key": "shared-key" },
    );
    expect(theirs.status).toBe(200);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it("makes a new job once the key is past its retention", async () => {
    const targetId = await c.target("idem-expiry");
    const first = await create(targetId, "k-expire");
    // The retention is 3 s in this file: the key answers the first job until then.
    const later = await poll(
      async () => {
        const r = await create(targetId, "k-expire");
        return r.body.id !== first.body.id ? r : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, label: "the key to expire" },
    );
    expect(later.status).toBe(200);
    expect(later.headers.get("idempotent-replayed")).toBeNull();
    expect(await jobCount(targetId)).toBe(2);
  });

  it.each([
    ["empty", ""],
    ["too long", "k".repeat(256)],
    ["with a space", "a b"],
    ["not ASCII", "clé"],
  ])("refuses a key that is %s with 422, and makes no job", async (_, key) => {
    const targetId = await c.target("idem-bad-key");
    const r = await create(targetId, key);
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("request.invalid");
    expect(await jobCount(targetId)).toBe(0);
  });

  it("does not spend the key on a request that was refused", async () => {
    const targetId = await c.target("idem-refused");
    const refused = await create(targetId, "k-refused", { api_name: "sleep", parameters: { ms: -1 } });
    expect(refused.status).toBe(400);
    const made = await create(targetId, "k-refused", { api_name: "sleep", parameters: { ms: 1 } });
    expect(made.status).toBe(200);
    expect(made.headers.get("idempotent-replayed")).toBeNull();
  });
});
