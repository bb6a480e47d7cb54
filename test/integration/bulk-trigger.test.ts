// The relay's trigger against the real engine: submits made together go in one bulk call and
// each gets its own run; an engine that is not there fails the submit at once, not after the
// SDK's ~25 s of retries. The app's relay registers the workflow; the runs below name jobs that
// do not exist, so its worker skips them.
import { randomUUID } from "node:crypto";
import type { JobRunInput } from "@switchyard/core";
import { HatchetRest, hatchetSettingsFromEnv } from "@switchyard/hatchet";
import { HatchetBulkTrigger, hatchetClient } from "@switchyard/hatchet/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { poll } from "../support/poll.ts";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

const input = (): JobRunInput => ({
  jobId: randomUUID(),
  tenantId: randomUUID(),
  targetId: randomUUID(),
  apiName: "echo",
});

describe("bulk trigger", () => {
  it("starts submits made together in one call, a run each", async () => {
    const settings = hatchetSettingsFromEnv();
    const hatchet = hatchetClient(settings, { retries: false });
    const calls: number[] = [];
    const runWorkflows = hatchet.admin.runWorkflows.bind(hatchet.admin);
    hatchet.admin.runWorkflows = (runs, ...rest) => {
      calls.push(runs.length);
      return runWorkflows(runs, ...rest);
    };
    const rest = new HatchetRest(settings);
    const trigger = new HatchetBulkTrigger({ hatchet, rest });

    const ids = await Promise.all(Array.from({ length: 12 }, () => trigger.submit(input())));
    expect(calls).toEqual([12]);
    expect(new Set(ids).size).toBe(12);
    // The status is read from the engine's reporting tables, which it fills shortly after.
    for (const id of ids) {
      await poll(async () => ((await rest.runState(id)) === "NOT_FOUND" ? undefined : true), {
        timeoutMs: 15_000,
        label: `run ${id} in the engine`,
      });
    }

    // One more while nothing is in flight: a call of its own.
    await trigger.submit(input());
    expect(calls).toEqual([12, 1]);
  });

  it("fails every submit of the call at once when the engine cannot be reached", async () => {
    const settings = { ...hatchetSettingsFromEnv(), hostPort: "127.0.0.1:1" };
    const trigger = new HatchetBulkTrigger({
      hatchet: hatchetClient(settings, { retries: false }),
      rest: new HatchetRest(settings),
    });
    const started = Date.now();
    const results = await Promise.allSettled([trigger.submit(input()), trigger.submit(input())]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    // One attempt: the SDK's own retries of a failed call take about 25 s.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
