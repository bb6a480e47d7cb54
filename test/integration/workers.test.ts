// Webhook workers' health and job types are refreshed from their health call: a silent worker is
// marked unhealthy, a worker that answers again is healthy with its job types rediscovered.
import { webhookWorkers, workerJobTypes } from "@switchyard/db";
import { Workers } from "@switchyard/workers";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ roles: ["api", "worker"] });
});
afterAll(() => t?.stop());

describe("webhook worker refresh", () => {
  it("marks an unreachable worker unhealthy and brings it back with its job types", async () => {
    const { db } = t.database;
    const worker = await Workers.register(db, { name: "refresh-me", url: t.workerUrl, secret: t.signingSecret });
    expect(worker.healthy).toBe(true);
    expect(worker.job_types.map((j) => j.name).sort()).toEqual(["echo", "fail", "http-request", "sleep"]);

    // The worker moves away (nothing listens on port 1) and its job types are forgotten.
    await db.update(webhookWorkers).set({ url: "http://127.0.0.1:1" }).where(eq(webhookWorkers.id, worker.id));
    await db.delete(workerJobTypes).where(eq(workerJobTypes.workerId, worker.id));
    const down = await Workers.refresh(db);
    expect(down.find((w) => w.id === worker.id)).toMatchObject({ healthy: false });
    const [row] = await db.select().from(webhookWorkers).where(eq(webhookWorkers.id, worker.id));
    expect(row?.healthy).toBe(false);
    expect(row?.lastError).toMatch(/no answer/);

    await db.update(webhookWorkers).set({ url: t.workerUrl }).where(eq(webhookWorkers.id, worker.id));
    await Workers.refresh(db);
    const back = await Workers.get(db, worker.id);
    expect(back.healthy).toBe(true);
    expect(back.last_error).toBeNull();
    expect(back.job_types).toHaveLength(4);
  });

  it("prefers a healthy worker when two serve the same job type", async () => {
    const { db } = t.database;
    const sick = await Workers.register(db, { name: "sick", url: t.workerUrl, secret: t.signingSecret });
    await db.update(webhookWorkers).set({ url: "http://127.0.0.1:1" }).where(eq(webhookWorkers.id, sick.id));
    await Workers.refresh(db);
    const { JobTypes } = await import("@switchyard/core");
    const chosen = await JobTypes.findJobType(db, "echo");
    expect(chosen?.healthy).toBe(true);
    expect(chosen?.workerId).not.toBe(sick.id);
  });
});
