// Completion webhooks end to end: a tenant registers an endpoint, jobs end, and a real local
// receiver gets one Standard Webhooks signed event per job end it subscribed to (verified with
// the `standardwebhooks` library), retried through Hatchet while it answers 5xx, with every
// attempt in the delivery log. Real Postgres, real engine, real HTTP.
import { webhookEvents } from "@switchyard/db";
import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { newTenant, type TenantClient } from "../support/client.ts";
import { poll } from "../support/poll.ts";
import { receiver } from "../support/receiver.ts";

let t: TestApp;
let c: TenantClient & { id: string };
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  // Failed deliveries retried at once, not after the deployed backoff (2 s doubling to 5 minutes,
  // plus up to 30 s for the engine's retry queue to notice).
  t = await startTestApp({ timing: { webhookBackoffMaxMs: 1 } });
  c = await newTenant(t);
});
afterAll(async () => {
  for (const close of closers) await close();
  await t?.stop();
});

async function endpoint(url: string, events: string[], client = c) {
  const r = await client.api("POST", "/api/webhooks/", { url, events });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; secret: string };
}

const deliveriesOf = async (id: string) => (await c.api("GET", `/api/webhooks/${id}/deliveries/`)).body;

describe("completion webhooks", () => {
  it("delivers one signed event per subscribed job end, verifiable with the standardwebhooks library", async () => {
    const rx = await receiver();
    closers.push(rx.close);
    const hook = await endpoint(rx.url, ["job.succeeded", "job.failed"]);
    expect(hook.secret).toMatch(/^whsec_/);
    const listed = (await c.api("GET", "/api/webhooks/")).body;
    expect(listed).toEqual([
      {
        id: hook.id,
        url: rx.url,
        events: ["job.succeeded", "job.failed"],
        description: "",
        created_at: expect.any(String),
      },
    ]);

    const targetId = await c.target("hooked");
    const ok = await c.job(targetId, "echo", { hello: "hook" });
    await c.waitStatus(targetId, ok, "success");
    const failed = await c.job(await c.target("hooked-2"), "fail", { retryable: false, message: "boom" });
    const delivered = await poll(
      async () => {
        const log = await deliveriesOf(hook.id);
        return log.length === 2 && log.every((e: { status: string }) => e.status === "delivered") ? log : undefined;
      },
      { timeoutMs: 30_000, label: "both events delivered" },
    );
    expect(delivered.map((e: { type: string }) => e.type).sort()).toEqual(["job.failed", "job.succeeded"]);

    // Each event reached the receiver once, and its signature verifies with the endpoint's secret.
    const wh = new Webhook(hook.secret);
    const events = rx.got.map((r) => wh.verify(r.body, r.headers as Record<string, string>) as Record<string, unknown>);
    expect(rx.got.map((r) => r.headers["webhook-id"]).sort()).toEqual(
      delivered.map((e: { id: string }) => e.id).sort(),
    );
    const success = events.find((e) => e.type === "job.succeeded");
    expect(success).toEqual({
      type: "job.succeeded",
      timestamp: expect.stringMatching(/\+00:00$/),
      data: expect.objectContaining({ id: ok, target_id: targetId, status: "success", result: { hello: "hook" } }),
    });
    expect(events.find((e) => e.type === "job.failed")).toMatchObject({
      data: { id: failed, status: "error", error: "boom" },
    });
    expect(() => wh.verify(rx.got[0]?.body.replace("hook", "hack") ?? "", rx.got[0]?.headers as never)).toThrow();
  });

  it("retries an endpoint that answers 5xx and logs every attempt", async () => {
    // Each event is refused twice, then taken.
    // The first two deliveries of each event fail.
    const rx = await receiver((r, got) => {
      const nth = got.filter((g) => g.headers["webhook-id"] === r.headers["webhook-id"]).length;
      return { status: nth <= 2 ? 503 : 204 };
    });
    closers.push(rx.close);
    const hook = await endpoint(rx.url, ["job.succeeded"]);
    const targetId = await c.target("hook-retry");
    await c.waitStatus(targetId, await c.job(targetId, "echo", {}), "success");
    const [event] = await poll(
      async () => {
        const log = await deliveriesOf(hook.id);
        return log[0]?.status === "delivered" ? log : undefined;
      },
      { timeoutMs: 60_000, label: "the event delivered after two refusals" },
    );
    expect(event.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([503, 503, 204]);
    expect(event.attempts.map((a: { error: string | null }) => a.error === null)).toEqual([false, false, true]);
    expect(new Set(rx.got.map((r) => r.headers["webhook-id"]))).toEqual(new Set([event.id]));
  });

  it("tells an endpoint only of the events it subscribed to", async () => {
    const rx = await receiver();
    closers.push(rx.close);
    const hook = await endpoint(rx.url, ["job.paused"]);
    const targetId = await c.target("hook-events");
    await c.waitStatus(targetId, await c.job(targetId, "echo", {}), "success");
    const long = await c.job(targetId, "sleep", { ms: 60_000 });
    await c.waitStatus(targetId, long, "running");
    await c.action(targetId, long, "interrupt");
    const [event] = await poll(
      async () => {
        const log = await deliveriesOf(hook.id);
        return log[0]?.status === "delivered" ? log : undefined;
      },
      { timeoutMs: 30_000, label: "the paused event" },
    );
    expect(event.type).toBe("job.paused");
    // The success before it was not sent: the only event the endpoint ever got is the pause.
    expect(await deliveriesOf(hook.id)).toHaveLength(1);
    await c.action(targetId, long, "cancel");
  });

  it("sends an event left undispatched (a crash after the commit) from the next sweep", async () => {
    const rx = await receiver();
    closers.push(rx.close);
    const hook = await endpoint(rx.url, ["job.succeeded"]);
    const targetId = await c.target("hook-outbox");
    const jobId = await c.job(targetId, "echo", { outbox: true });
    await c.waitStatus(targetId, jobId, "success");
    const first = await poll(async () => (await deliveriesOf(hook.id))[0], { label: "the event" });
    // As if the process that wrote it had died before handing it to Hatchet.
    const [copy] = await t.database.db
      .insert(webhookEvents)
      .values({ endpointId: hook.id, tenantId: c.id, type: "job.succeeded", jobId, payload: { replayed: true } })
      .returning();
    await poll(
      async () => {
        const [row] = await t.database.db
          .select()
          .from(webhookEvents)
          .where(eq(webhookEvents.id, copy?.id ?? ""));
        return row?.deliveredAt ? row : undefined;
      },
      { timeoutMs: 30_000, label: "the orphaned event delivered by a sweep" },
    );
    expect(rx.got.map((r) => r.headers["webhook-id"])).toEqual([first.id, copy?.id]);
  });

  it("keeps tenants apart, and refuses bad endpoints with 422 writing nothing", async () => {
    const rx = await receiver();
    closers.push(rx.close);
    const hook = await endpoint(rx.url, ["job.succeeded"]);
    const other = await newTenant(t);
    expect((await other.api("GET", "/api/webhooks/")).body).toEqual([]);
    expect((await other.api("DELETE", `/api/webhooks/${hook.id}`)).status).toBe(404);
    expect((await other.api("GET", `/api/webhooks/${hook.id}/deliveries/`)).status).toBe(404);

    const before = (await c.api("GET", "/api/webhooks/")).body.length;
    for (const body of [
      { url: "not a url", events: ["job.succeeded"] },
      { url: "ftp://example.com/hook", events: ["job.succeeded"] },
      { url: "https://user:pass@example.com/hook", events: ["job.succeeded"] },
      { url: rx.url, events: [] },
      { url: rx.url, events: ["job.exploded"] },
      { url: rx.url },
    ]) {
      const r = await c.api("POST", "/api/webhooks/", body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(["request.invalid", "webhook.invalid_url"]).toContain(r.body.code);
    }
    expect((await c.api("GET", "/api/webhooks/")).body).toHaveLength(before);
    expect((await c.api("DELETE", `/api/webhooks/${hook.id}`)).status).toBe(200);
    expect((await c.api("GET", "/api/webhooks/")).body).toHaveLength(before - 1);
  });
});
