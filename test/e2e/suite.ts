// End to end over HTTP with every part a real process: API → Postgres → Hatchet → worker, the
// engine's HTTP operator calling the worker (direct mode) or the relay doing it (relay mode). The
// same suite runs in both modes (direct.test.ts, relay.test.ts); a few tests are one mode's own.

import { jobs } from "@switchyard/db";
import { type DeliveryMode, jobActionId } from "@switchyard/hatchet";
import { hatchetSignature, signRequest } from "@switchyard/workers/signing";
import { asc, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobPath, newTenant, type TenantClient } from "../support/client.ts";
import { poll } from "../support/poll.ts";
import { attemptsOf, jobRow, waitFirstAttemptFinished } from "../support/rows.ts";
import { postToWorker } from "../support/worker.ts";
import { type Processes, startProcesses } from "./setup.ts";

export function executionSuite(delivery: DeliveryMode) {
  let p: Processes;
  /** The suite's tenant. */
  let c: TenantClient;

  beforeAll(async () => {
    // Direct mode: a short operator call, so that long attempts in this suite run detached.
    p = await startProcesses(delivery, delivery === "direct" ? { operatorCallMs: 1500 } : undefined);
    c = await newTenant(p.t);
  }, 120_000);
  afterAll(() => p?.stop());

  const relay = () => {
    if (!p.relay) throw new Error("no relay runs in direct mode");
    return p.relay;
  };

  /** Resolves a blocking job and waits for the job behind it to run. */
  async function resolveAndWait(targetId: string, blocking: string, behind: string) {
    expect((await c.api("POST", `${jobPath(targetId, blocking)}/resolve/`, {})).status).toBe(200);
    await c.waitStatus(targetId, behind, "success", 30_000);
  }

  describe(`execution end to end (${delivery} delivery)`, () => {
    it("runs an echo job to success with its result", async () => {
      const t = await c.target();
      const id = await c.job(t, "echo", { greeting: "hi" });
      await c.waitStatus(t, id, "success");
      expect((await c.get(t, id)).result).toEqual({ greeting: "hi" });
    });

    it("runs 50 jobs on one target one at a time in creation order, other targets in parallel", async () => {
      const lane = await c.target("lane");
      const laneJobs: string[] = [];
      for (let i = 0; i < 50; i++) laneJobs.push(await c.job(lane, "sleep", { ms: 10 }));
      const others = await Promise.all([1, 2, 3, 4].map((i) => c.target(`other-${i}`)));
      const otherJobs = await Promise.all(others.map((t) => c.job(t, "sleep", { ms: 1500 })));

      for (const id of laneJobs) await c.waitStatus(lane, id, "success", 60_000);
      for (const [i, id] of otherJobs.entries()) await c.waitStatus(others[i] ?? "", id, "success", 30_000);
      const rows = await p.t.database.db
        .select()
        .from(jobs)
        .where(inArray(jobs.id, [...laneJobs, ...otherJobs]));
      expect(rows.filter((r) => r.status !== "success")).toEqual([]);

      const lanes = await attemptsOf(p.t.database.db, laneJobs);
      expect(lanes.map((a) => a.jobId)).toEqual(laneJobs); // started in creation order
      for (let i = 1; i < lanes.length; i++) {
        const prev = lanes[i - 1];
        const cur = lanes[i];
        expect(cur?.startedAt.getTime()).toBeGreaterThanOrEqual(
          prev?.finishedAt?.getTime() ?? Number.POSITIVE_INFINITY,
        );
      }
      // The 1.5 s jobs of four targets overlapped: they ran side by side, not in turn.
      const parallel = await attemptsOf(p.t.database.db, otherJobs);
      const latestStart = Math.max(...parallel.map((a) => a.startedAt.getTime()));
      const earliestEnd = Math.min(...parallel.map((a) => a.finishedAt?.getTime() ?? 0));
      expect(latestStart).toBeLessThan(earliestEnd);
    }, 120_000);

    it("never starts a queued job that was cancelled", async () => {
      const t = await c.target();
      const blocker = await c.job(t, "sleep", { ms: 1500 });
      await c.waitStatus(t, blocker, "running");
      const queued = await c.job(t, "echo", { x: 1 });
      const cancel = await c.api("POST", `${jobPath(t, queued)}/cancel/`);
      expect(cancel.status).toBe(200);
      expect(cancel.body.status).toBe("canceled");
      const after = await c.job(t, "echo", { x: 2 });
      await c.waitStatus(t, blocker, "success");
      await c.waitStatus(t, after, "success");
      expect(await c.status(t, queued)).toBe("canceled");
      expect(await attemptsOf(p.t.database.db, [queued])).toEqual([]);
    });

    // How fast a stop reaches the executor is a benchmark figure (docs/benchmarks.md, cancel →
    // abort); here, that the executor was stopped by the request and not by its own end.
    it("ends an interrupted running sleep paused: its executor stops", async () => {
      const t = await c.target();
      const id = await c.job(t, "sleep", { ms: 60_000 });
      await c.waitStatus(t, id, "running");
      const r = await c.api("POST", `${jobPath(t, id)}/interrupt/`);
      expect(r.status).toBe(200);
      await c.waitStatus(t, id, "paused", 10_000);
      const row = await c.get(t, id);
      expect(row.error).toBe("Job was interrupted by user");
      const [attempt] = await attemptsOf(p.t.database.db, [id]);
      expect(attempt?.outcome).toEqual({ status: "paused", error: "Job was interrupted by user" });
    });

    it("cancels a running job: its executor stops and the job ends canceled", async () => {
      const t = await c.target();
      const id = await c.job(t, "sleep", { ms: 60_000 });
      await c.waitStatus(t, id, "running");
      expect((await c.api("POST", `${jobPath(t, id)}/cancel/`)).status).toBe(200);
      await c.waitStatus(t, id, "canceled", 10_000);
      const [attempt] = await attemptsOf(p.t.database.db, [id]);
      expect(attempt?.outcome).toEqual({ status: "canceled", error: "Job was canceled by user" });
    });

    it("blocks a target on error, and resolve, cancel and resume unblock it in order", async () => {
      const t = await c.target();
      const failing = await c.job(t, "fail", { message: "boom", retryable: false });
      await c.waitStatus(t, failing, "error");
      const behind = await c.job(t, "echo", { n: 1 });
      // Blocked: the job waits in Postgres, holding no Hatchet run and no worker slot.
      const waiting = await jobRow(p.t.database.db, behind);
      expect(waiting?.status).toBe("queued");
      expect(waiting?.hatchetRunId).toBeNull();
      const target1 = (await c.api("GET", `/api/targets/${t}`)).body;
      expect(target1.queue_status).toBe("paused");
      expect(target1.blocking_jobs.map((j: { id: string }) => j.id)).toEqual([failing]);

      expect((await c.api("POST", `${jobPath(t, failing)}/resolve/`, { fixed: true })).status).toBe(200);
      await c.waitStatus(t, behind, "success");

      const failing2 = await c.job(t, "fail", { retryable: false });
      await c.waitStatus(t, failing2, "error");
      const behind2 = await c.job(t, "echo", { n: 2 });
      expect((await c.api("POST", `${jobPath(t, failing2)}/cancel/`)).status).toBe(200);
      await c.waitStatus(t, behind2, "success");

      const paused = await c.job(t, "sleep", { ms: 60_000 });
      await c.waitStatus(t, paused, "running");
      await c.api("POST", `${jobPath(t, paused)}/interrupt/`);
      await c.waitStatus(t, paused, "paused");
      const behind3 = await c.job(t, "echo", { n: 3 });
      // Resume puts the paused job back first in line: it runs again before the later job.
      await p.t.database.db
        .update(jobs)
        .set({ parameters: { ms: 200 } })
        .where(eq(jobs.id, paused));
      expect((await c.api("POST", `${jobPath(t, paused)}/resume/`)).status).toBe(200);
      await c.waitStatus(t, behind3, "success");
      expect(await c.status(t, paused)).toBe("success");
      const [pausedRow, behindRow] = await Promise.all([paused, behind3].map((id) => jobRow(p.t.database.db, id)));
      expect(pausedRow?.completedAt?.getTime()).toBeLessThanOrEqual(behindRow?.startedAt?.getTime() ?? 0);
    }, 60_000);

    it("retries a retryable failure and not a non-retryable one", async () => {
      const t = await c.target();
      const retried = await c.job(t, "fail", { retryable: true, succeed_on_attempt: 1 });
      await c.waitStatus(t, retried, "success", 30_000);
      expect((await attemptsOf(p.t.database.db, [retried])).map((a) => a.attempt)).toEqual([0, 1]);

      const t2 = await c.target();
      const final = await c.job(t2, "fail", { retryable: false });
      await c.waitStatus(t2, final, "error");
      expect((await attemptsOf(p.t.database.db, [final])).map((a) => a.attempt)).toEqual([0]);
    }, 60_000);

    it("carries out a cancel asked between two attempts, and the target moves on", async () => {
      const t = await c.target();
      const id = await c.job(t, "fail", { retryable: true, succeed_on_attempt: 2 });
      // Attempt 0 ended "retry": the job is running, waiting for Hatchet's backoff.
      await waitFirstAttemptFinished(p.t.database.db, id);
      expect((await c.api("POST", `${jobPath(t, id)}/cancel/`)).status).toBe(200);
      await c.waitStatus(t, id, "canceled", 30_000);
      expect((await attemptsOf(p.t.database.db, [id])).map((a) => a.attempt)).toEqual([0]);
      const next = await c.job(t, "echo", { after: "cancel" });
      await c.waitStatus(t, next, "success");
    }, 60_000);

    it("refuses tampered, stale, replayed and unsigned worker requests and runs nothing", async () => {
      const t = await c.target();
      const blocker = await c.job(t, "fail", { retryable: false });
      await c.waitStatus(t, blocker, "error");
      const victim = await c.job(t, "echo", { v: 1 });
      const { tenantId } = await jobRow(p.t.database.db, victim);
      const body = JSON.stringify({
        job_id: victim,
        tenant_id: tenantId,
        target_id: t,
        api_name: "echo",
        run_id: "forged",
        attempt: 0,
        retries: 0,
        timeout_seconds: 30,
      });
      const post = (headers: Record<string, string>, payload = body) =>
        postToWorker(p.workerUrl, "/deliver", payload, headers);

      expect((await post({})).status).toBe(401); // unsigned
      const tampered = body.replace('"attempt":0', '"attempt":1');
      expect(tampered).not.toBe(body);
      expect((await post(signRequest(p.t.signingSecret, body), tampered)).status).toBe(401);
      const stale = signRequest(p.t.signingSecret, body, { now: new Date(Date.now() - 6 * 60_000) });
      expect((await post(stale)).status).toBe(401);
      const wrongKey = signRequest(`whsec_${Buffer.alloc(32, 7).toString("base64")}`, body);
      expect((await post(wrongKey)).status).toBe(401);

      // A valid request for an unknown job, then the same request again: the replay is refused.
      const unknownBody = body.replace(victim, "00000000-0000-4000-8000-000000000000");
      const signed = signRequest(p.t.signingSecret, unknownBody);
      const first = await post(signed, unknownBody);
      expect(first.status).toBe(200);
      expect(((await first.json()) as { status: string }).status).toBe("skipped");
      expect((await post(signed, unknownBody)).status).toBe(401);

      expect(await c.status(t, victim)).toBe("queued");
      expect(await attemptsOf(p.t.database.db, [victim])).toEqual([]);
    });

    it.runIf(delivery === "direct")(
      "refuses unsigned and tampered operator calls, and a replay of a finished attempt runs nothing again",
      async () => {
        const t = await c.target();
        const id = await c.job(t, "echo", { replay: 1 });
        await c.waitStatus(t, id, "success");
        const row = await jobRow(p.t.database.db, id);
        // The engine's call as the operator makes it: the AssignedAction as protobuf JSON.
        const input = { jobId: id, tenantId: row?.tenantId, targetId: t, apiName: "echo" };
        const body = JSON.stringify({
          actionId: jobActionId(p.t.env.HATCHET_CLIENT_NAMESPACE),
          workflowRunId: row?.hatchetRunId,
          taskRunExternalId: row?.hatchetRunId,
          actionPayload: JSON.stringify({ input }),
        });
        const call = (path: string, headers: Record<string, string>, payload = body) =>
          postToWorker(p.workerUrl, path, payload, headers);
        const signed = { "x-hatchet-signature": hatchetSignature(p.t.signingSecret, body) };

        for (const path of ["/operator/run", "/operator/health"]) {
          expect((await call(path, {})).status).toBe(401);
          expect((await call(path, signed, body.replace("echo", "fail"))).status).toBe(401);
          const wrongKey = { "x-hatchet-signature": hatchetSignature("whsec_not-the-secret", body) };
          expect((await call(path, wrongKey)).status).toBe(401);
          expect((await call(path, { "x-hatchet-signature": "zz" })).status).toBe(401);
        }
        // A captured call replayed: answered from the stored outcome, the job type not run again.
        const replay = await call("/operator/run", signed);
        expect(replay.status).toBe(200);
        expect(await replay.json()).toEqual({ status: "success", result: { replay: 1 } });
        expect(await attemptsOf(p.t.database.db, [id])).toHaveLength(1);
      },
    );

    it.runIf(delivery === "direct")(
      "runs an attempt on past the engine's call limit and ends the job when it is done",
      async () => {
        const t = await c.target();
        // Longer than operatorCallMs (1.5 s in this suite): answered "detached", then run on.
        const id = await c.job(t, "sleep", { ms: 4000 });
        const next = await c.job(t, "echo", { after: "detached" });
        await c.waitStatus(t, id, "success", 30_000);
        await c.waitStatus(t, next, "success", 30_000);
        const [attempt] = await attemptsOf(p.t.database.db, [id]);
        expect(attempt?.detachedAt).toBeInstanceOf(Date);
        expect(attempt?.outcome).toEqual({ status: "success", result: { slept_ms: expect.any(Number) } });
        const [after] = await attemptsOf(p.t.database.db, [next]);
        expect(after?.startedAt.getTime()).toBeGreaterThanOrEqual(attempt?.finishedAt?.getTime() ?? Infinity);
      },
      60_000,
    );

    it.runIf(delivery === "direct")(
      "loses no job when the worker is killed with SIGKILL mid-job and restarted",
      async () => {
        // One attempt detached (longer than operatorCallMs), then one held by the engine's call.
        const t2 = await c.target("worker-crash-detached");
        const detached = await c.job(t2, "sleep", { ms: 20_000 });
        await poll(async () => ((await attemptsOf(p.t.database.db, [detached]))[0]?.detachedAt ? true : undefined), {
          timeoutMs: 20_000,
          label: "the long attempt to detach",
        });
        const t = await c.target("worker-crash");
        // Killed moments after it starts, so normally still inside the engine's call; either way
        // (held or detached by then) the job must end visibly.
        const held = await c.job(t, "sleep", { ms: 60_000 });
        const behind = [await c.job(t, "echo", { after: "crash" }), await c.job(t2, "echo", { after: "crash" })];
        await c.waitStatus(t, held, "running");
        await p.worker.kill("SIGKILL");
        await p.restartWorker();
        // sleep allows no retry: each killed attempt ends its job in error, visibly, and the
        // target moves on once it is resolved. The held one: the engine retries the failed call,
        // and that delivery finds attempt 0 abandoned once its lease ran out. The detached one:
        // nobody delivers it again; the worker's sweep (on the engine's health poll) finds it.
        const heldEnd = (await c.waitStatus(t, held, ["error", "success"], 60_000)).status;
        const detachedEnd = (await c.waitStatus(t2, detached, ["error", "success"], 60_000)).status;
        expect([heldEnd, detachedEnd]).toEqual(["error", "error"]);
        expect((await c.get(t2, detached)).error).toMatch(
          /outlived the engine's call and then its worker stopped, and no retry is left/,
        );
        await resolveAndWait(t, held, behind[0] ?? "");
        await resolveAndWait(t2, detached, behind[1] ?? "");
      },
      120_000,
    );

    it.runIf(delivery === "relay")(
      "drains on SIGTERM: the running delivery finishes before the relay exits",
      async () => {
        const t = await c.target();
        const id = await c.job(t, "sleep", { ms: 1500 });
        await c.waitStatus(t, id, "running");
        const exited = new Promise<number | null>((resolve) => relay().child.once("exit", resolve));
        relay().child.kill("SIGTERM");
        expect(await exited).toBe(0);
        const exitedAt = Date.now();
        const row = await jobRow(p.t.database.db, id);
        expect(row?.status).toBe("success");
        expect(row?.completedAt?.getTime()).toBeLessThanOrEqual(exitedAt);
        await p.restartRelay();
        // The drained run ended in Hatchet too: the target takes its next job at once.
        const next = await c.job(t, "echo", { after: "drain" });
        await c.waitStatus(t, next, "success", 10_000);
      },
      60_000,
    );

    it.runIf(delivery === "relay")(
      "loses no job when the relay is killed with SIGKILL mid-job and restarted",
      async () => {
        const targets = await Promise.all([1, 2, 3].map((i) => c.target(`crash-${i}`)));
        const ids: Array<[string, string]> = [];
        for (const t of targets) {
          ids.push([t, await c.job(t, "sleep", { ms: 1500 })]);
          ids.push([t, await c.job(t, "echo", { after: "crash" })]);
        }
        await c.waitStatus(ids[0]?.[0] ?? "", ids[0]?.[1] ?? "", "running");
        await relay().kill("SIGKILL");
        // Jobs accepted while the relay is down wait in Postgres, visibly queued.
        const late = await c.job(targets[0] ?? "", "echo", { late: true });
        expect(await c.status(targets[0] ?? "", late)).toBe("queued");
        await p.restartRelay();
        const restarted = Date.now();
        // The engine re-delivers the killed relay's run once the worker has missed heartbeats for
        // 30 s, and a re-queued run can then wait for the engine's backed-off queue poll (up to 30 s
        // plus jitter). A run the engine holds without starting it is released by the relay after
        // 3 minutes (docs/reliability.md), so each job gets four.
        for (const [t, id] of [...ids, [targets[0] ?? "", late] as [string, string]]) {
          await c.waitStatus(t, id, ["success", "error"], 240_000).catch(async (err: unknown) => {
            const rows = await p.t.database.db.select().from(jobs).where(eq(jobs.targetId, t)).orderBy(asc(jobs.seq));
            for (const row of rows) {
              const { status, dispatchedAt, hatchetRunId, attempt, dispatchError } = row;
              const state = { status, dispatchedAt, hatchetRunId, attempt, dispatchError };
              console.log(`[relay-kill] ${row.id === id ? "stuck " : ""}job ${row.id}: ${JSON.stringify(state)}`);
            }
            const attempts = await attemptsOf(
              p.t.database.db,
              rows.map((r) => r.id),
            );
            console.log(`[relay-kill] attempts: ${JSON.stringify(attempts)}`);
            throw err;
          });
        }
        console.log(`[relay-kill] every job settled ${Date.now() - restarted} ms after the restart`);
        const rows = await p.t.database.db
          .select({ status: jobs.status })
          .from(jobs)
          .where(inArray(jobs.targetId, targets));
        expect(rows.every((r) => r.status === "success" || r.status === "error")).toBe(true);
        expect(rows).toHaveLength(7);
      },
      300_000,
    );
  });
}
