// Relay mode's own parts (the fallback delivery for engines that cannot reach the worker): the
// NOTIFY that wakes the relay's dispatcher, the release of runs the engine holds, and what
// diagnostics report about the relay. What both modes share runs in every other file.
import { randomUUID } from "node:crypto";
import { Dispatch, Jobs } from "@switchyard/core";
import { jobs } from "@switchyard/db";
import { HatchetRest, hatchetSettingsFromEnv, JOB_WORKFLOW } from "@switchyard/hatchet";
import { hatchetClient } from "@switchyard/hatchet/sdk";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coreDeps, startTestApp, type TestApp } from "../support/app.ts";
import { newTenant } from "../support/client.ts";
import { waitRunState } from "../support/hatchet.ts";
import { poll } from "../support/poll.ts";

let t: TestApp;
let hatchet: HatchetRest;

beforeAll(async () => {
  t = await startTestApp({ delivery: "relay" });
  hatchet = new HatchetRest(hatchetSettingsFromEnv(t.env));
});
afterAll(() => t?.stop());

describe("relay mode", () => {
  it("wakes the relay's dispatcher with the target id when a create commits, and not when it is refused", async () => {
    const c = await newTenant(t);
    const targetId = await c.target("notified");
    const client = await t.database.pool.connect();
    const heard: string[] = [];
    client.on("notification", (n) => heard.push(n.payload ?? ""));
    try {
      await client.query(`listen ${Dispatch.DISPATCH_CHANNEL}`);
      const deps = coreDeps(t.database.db, hatchet);
      await expect(
        Jobs.create(deps, c.id, targetId, { api_name: "sleep", parameters: { ms: "not a number" } }),
      ).rejects.toMatchObject({ code: "job.invalid_parameters" });
      await Jobs.create(deps, c.id, targetId, { api_name: "echo", parameters: {} });
      // Notifications arrive in commit order: one from the refused create would come first.
      await poll(() => (heard.length > 0 ? true : undefined), { timeoutMs: 5_000, label: "the notification" });
      expect(heard[0]).toBe(targetId);
    } finally {
      await client.query(`unlisten ${Dispatch.DISPATCH_CHANNEL}`);
      client.release();
    }
  });

  /**
   * A job waiting behind a failed one (so nothing hands it over), and Hatchet settings of a
   * namespace of its own, where a run nobody of this app delivers can be made for it.
   */
  async function jobBehindError(name: string, result: Record<string, unknown>) {
    const c = await newTenant(t);
    const targetId = await c.target(name);
    const failed = await c.job(targetId, "fail");
    await c.waitStatus(targetId, failed, "error");
    const jobId = await c.job(targetId, "echo", result);
    const settings = { ...hatchetSettingsFromEnv(t.env), namespace: `${name}${randomUUID().slice(0, 8)}` };
    return { c, targetId, failed, jobId, settings };
  }

  /** Makes `runId` the job's hand-over, made at `at`. */
  async function handOver(jobId: string, runId: string, at: ReturnType<typeof sql>) {
    await t.database.db.update(jobs).set({ hatchetRunId: runId, dispatchedAt: at }).where(eq(jobs.id, jobId));
  }

  it("withdraws a run Hatchet holds without starting it, and the job runs on a new one", async () => {
    const { c, targetId, failed, jobId, settings } = await jobBehindError("held", { held: true });
    // A run the engine keeps queued for ever: the workflow registered under a namespace of its own
    // (a worker declared, never started), so no worker takes its runs.
    const sdk = hatchetClient(settings);
    await sdk.worker("never-started", { workflows: [sdk.task({ name: JOB_WORKFLOW, fn: async () => ({}) })] });
    const heldRun = await new HatchetRest(settings).submit({ jobId, tenantId: "t", targetId, apiName: "echo" });
    await handOver(jobId, heldRun, sql`now() - interval '1 minute'`);
    await c.action(targetId, failed, "cancel");
    await waitRunState(hatchet, heldRun, "QUEUED");

    // The run was handed over a minute ago, longer than `heldRunMs` (20 s): the relay's check, on
    // every sweep, releases it once the relay has had free slots that long (counted from its start).
    const done = await c.waitStatus(targetId, jobId, "success", 40_000);
    expect(done.result).toEqual({ held: true });
    expect(done.hatchet_run_id).not.toBe(heldRun);
    await waitRunState(hatchet, heldRun, "CANCELLED");
    expect(await c.logs(targetId, jobId)).toContain(
      `Hatchet held run ${heldRun} for over 20 s without starting it; the job goes back to waiting`,
    );
  });

  it("releases at once a run the engine assigned to a worker that never started it", async () => {
    const { c, targetId, failed, jobId, settings } = await jobBehindError("assigned", { assigned: true });
    // What an engine that died between assigning a run and sending it leaves: a run the engine
    // reports running on a worker, which nothing delivers. Here a worker of a namespace of its own
    // takes the run and never answers (until the cancel aborts it).
    const sdk = hatchetClient(settings);
    const silent = sdk.task({
      name: JOB_WORKFLOW,
      fn: (_input, ctx) =>
        new Promise<Record<string, never>>((_resolve, reject) =>
          ctx.abortController.signal.addEventListener("abort", () => reject(ctx.abortController.signal.reason)),
        ),
    });
    const worker = await sdk.worker("takes-and-keeps", { workflows: [silent], handleKill: false });
    void worker.start();
    await worker.waitUntilReady(30_000);
    try {
      const assignedRun = await new HatchetRest(settings).submit({ jobId, tenantId: "t", targetId, apiName: "echo" });
      // Handed over now: the slower held-run rule (20 s) would release it too, but later.
      await handOver(jobId, assignedRun, sql`now()`);
      await waitRunState(hatchet, assignedRun, "RUNNING");
      await c.action(targetId, failed, "cancel");

      // The relay's check (every sweep) sees the run running, not started and not its own, twice
      // `assignedUnstartedMs` apart; sooner than the held-run rule's 20 s.
      const done = await c.waitStatus(targetId, jobId, "success", 30_000);
      expect(done.result).toEqual({ assigned: true });
      expect(done.hatchet_run_id).not.toBe(assignedRun);
      await waitRunState(hatchet, assignedRun, "CANCELLED");
      expect(await c.logs(targetId, jobId)).toContain(
        `Hatchet assigned run ${assignedRun} to a worker but no worker started it within 5 s (an engine restart lost it); the job goes back to waiting`,
      );
    } finally {
      await worker.stop();
    }
  });

  it("diagnostics report the relay as what delivers runs", async () => {
    const c = await newTenant(t);
    const r = await poll(
      async () => {
        const res = await c.api("GET", "/api/diagnostics");
        return res.status === 200 && res.body.delivery?.ok === true ? res : undefined;
      },
      { timeoutMs: 30_000, label: "the relay reported ok" },
    );
    expect(r.body.delivery).toEqual({
      mode: "relay",
      ok: true,
      active_workers: expect.any(Number),
      last_heartbeat_at: expect.stringMatching(/\+00:00$/),
      last_sweep_seconds_ago: expect.any(Number),
    });
  });
});
