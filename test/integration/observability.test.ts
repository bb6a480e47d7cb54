// One job followed by its ids: every line and metric of a request or a job carries the request,
// tenant, target, job, Hatchet run and attempt it belongs to, and the run's metadata in Hatchet
// carries the same ids, so the dashboard and the logs meet. The API and the worker run in this
// process; their lines are collected from the sink they write to.
import { type Fields, type MetricName, type Sink, useSink } from "@switchyard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { newTenant, type TenantClient } from "../support/client.ts";

interface Line {
  level: string;
  message: string;
  fields: Fields;
}
interface Point {
  name: MetricName;
  value: number;
  dimensions: Record<string, string>;
  fields: Fields;
}

const lines: Line[] = [];
const points: Point[] = [];
const collect: Sink = {
  log: (level, message, fields) => lines.push({ level, message, fields }),
  metric: (name, value, dimensions, fields) => points.push({ name, value, dimensions, fields }),
};

let t: TestApp;
let c: TenantClient & { id: string };

beforeAll(async () => {
  useSink(collect);
  t = await startTestApp();
  c = await newTenant(t);
}, 120_000);
afterAll(() => t?.stop());

const of = (jobId: string) => lines.filter((l) => l.fields.job_id === jobId);
const pointsOf = (jobId: string) => points.filter((p) => p.fields.job_id === jobId);

describe("observability", () => {
  it("follows one job from its create to its end by its ids, in the lines and in Hatchet's run", async () => {
    const target = await c.target();
    const id = await c.job(target, "echo", { hello: "world" });
    await c.waitStatus(target, id, "success");

    const byMessage = (m: string) => {
      const found = of(id).find((l) => l.message === m);
      if (!found) throw new Error(`no "${m}" line for job ${id}: ${JSON.stringify(of(id))}`);
      return found.fields;
    };
    const created = byMessage("job created");
    expect(created).toMatchObject({ role: "api", tenant_id: c.id, target_id: target, job_id: id });
    expect(created.request_id).toEqual(expect.any(String));
    const handedOver = byMessage("job handed over to Hatchet");
    const runId = handedOver.hatchet_run_id;
    expect(runId).toEqual(expect.any(String));
    expect(byMessage("attempt started")).toMatchObject({
      role: "worker",
      tenant_id: c.id,
      target_id: target,
      hatchet_run_id: runId,
      attempt: 0,
    });
    expect(byMessage("job finished")).toMatchObject({
      role: "worker",
      hatchet_run_id: runId,
      attempt: 0,
      status: "success",
    });

    // Hatchet's run carries the same ids (direct mode: the create's request id too).
    const res = await fetch(`${t.env.HATCHET_CLIENT_API_URL}/api/v1/stable/workflow-runs/${runId}`, {
      headers: { authorization: `Bearer ${t.env.HATCHET_CLIENT_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const run = (await res.json()) as { run: { additionalMetadata?: Record<string, string> } };
    expect(run.run.additionalMetadata).toMatchObject({
      job_id: id,
      tenant_id: c.id,
      target_id: target,
      request_id: created.request_id,
    });
  });

  it("counts a job's create, start, waits and end per tenant", async () => {
    const target = await c.target();
    const id = await c.job(target, "echo", {});
    await c.waitStatus(target, id, "success");
    const mine = pointsOf(id);
    const named = (n: MetricName) => mine.filter((p) => p.name === n);
    for (const n of ["JobsCreated", "JobsStarted", "JobsFinished", "QueueWait", "HandOffTime"] as const) {
      expect(named(n), n).toHaveLength(1);
      expect(named(n)[0]?.dimensions.tenant, n).toBe(c.id);
    }
    expect(named("JobsFinished")[0]?.dimensions.status).toBe("success");
    // Postgres clock readings: a wait is never negative, and the hand-off is part of the wait.
    const wait = named("QueueWait")[0]?.value ?? -1;
    const handOff = named("HandOffTime")[0]?.value ?? -1;
    expect(handOff).toBeGreaterThanOrEqual(0);
    expect(wait).toBeGreaterThanOrEqual(handOff);
  });

  it("counts failed and canceled ends by status, and logs the tenant's action", async () => {
    const failing = await c.target();
    const failed = await c.job(failing, "fail", { message: "on purpose", retryable: false });
    await c.waitStatus(failing, failed, "error");
    expect(pointsOf(failed).find((p) => p.name === "JobsFinished")?.dimensions.status).toBe("error");
    expect(of(failed).find((l) => l.message === "job finished")?.fields).toMatchObject({
      status: "error",
      reason: expect.stringContaining("on purpose"),
    });

    // The failed job blocks its target: a job behind it waits, and is canceled while it waits.
    const waiting = await c.job(failing, "echo", {});
    await c.action(failing, waiting, "cancel");
    expect(pointsOf(waiting).filter((p) => p.name === "JobsFinished")).toEqual([
      expect.objectContaining({ dimensions: { tenant: c.id, status: "canceled" } }),
    ]);
    expect(of(waiting).find((l) => l.message === "job cancel by the tenant")?.fields).toMatchObject({
      role: "api",
      from: "queued",
      status: "canceled",
    });
    expect(pointsOf(waiting).some((p) => p.name === "JobsStarted")).toBe(false);
  });

  it("gives every request's lines its own ids, even when requests overlap", async () => {
    const other = await newTenant(t);
    const targets = await Promise.all([c.target(), other.target()]);
    const ids = await Promise.all([
      ...Array.from({ length: 5 }, () => c.job(targets[0] ?? "", "echo", {})),
      ...Array.from({ length: 5 }, () => other.job(targets[1] ?? "", "echo", {})),
    ]);
    for (const [i, id] of ids.entries()) {
      const created = of(id).find((l) => l.message === "job created")?.fields;
      expect(created?.tenant_id).toBe(i < 5 ? c.id : other.id);
      expect(created?.target_id).toBe(i < 5 ? targets[0] : targets[1]);
    }
    const requestIds = ids.map((id) => of(id).find((l) => l.message === "job created")?.fields.request_id);
    expect(new Set(requestIds).size).toBe(ids.length);
  });
});
