// An engine that dies between assigning a run to the relay's worker and sending it: its successor
// never sends the run, and keeps it assigned to that worker. Here the relay's gRPC goes through a
// proxy that holds back the engine's replies, so the assignment never arrives; then the engine
// restarts. The relay replaces its worker when the engine answers again, and releases the run at
// once because the engine assigned it to the worker it replaced. The two other rules for held runs
// are set out of reach, so only this one can release it within the test.
import { jobs } from "@switchyard/db";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDatabase } from "../../dev/postgres.ts";
import { waitRunState } from "../support/hatchet.ts";
import { poll } from "../support/poll.ts";
import {
  bound,
  Cleanups,
  client,
  GRPC,
  jobRows,
  type PrivateEngineStack,
  privateEngineStack,
  privatePostgres,
  SLACK_MS,
  type Stack,
  within,
} from "./harness.ts";
import { startProxy, type TcpProxy } from "./proxy.ts";

const TIMING = { sweepMs: 500, engineRetryMs: 250, assignedUnstartedMs: 600_000, heldRunMs: 600_000 };

describe("a run the engine assigned to the relay's worker and never sent, then an engine restart", () => {
  const cleanups = new Cleanups();
  let own: PrivateEngineStack;
  let s: Stack;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const pg = await privatePostgres(cleanups);
    own = await privateEngineStack(cleanups, await ensureDatabase(pg.serverUrl, "hatchet", { timezone: "UTC" }), {
      delivery: "relay",
      timing: TIMING,
      relayEnv: async (engine) => {
        proxy = await startProxy(Number(engine.HATCHET_CLIENT_HOST_PORT?.split(":").at(-1)));
        cleanups.add("close the proxy", () => proxy.close());
        return { HATCHET_CLIENT_HOST_PORT: `127.0.0.1:${proxy.port}` };
      },
    });
    s = own.stack;
  });
  afterAll(() => cleanups.run());

  it("is released as soon as the relay has replaced its worker, and the job runs on a new run", async () => {
    const tenant = await s.tenant();
    const c = client(s, tenant.key);
    const targetId = await c.target("lost-assignment");
    const path = (jobId: string) => `/api/targets/${targetId}/jobs/${jobId}`;
    // A job waiting behind a failed one, so the relay does not hand it over itself.
    const failed = await c.job(targetId, "fail");
    await poll(async () => ((await c.call("GET", path(failed))).body.status === "error" ? true : undefined), {
      timeoutMs: SLACK_MS,
      label: "the failed job",
    });
    const jobId = await c.job(targetId, "echo", { lost: true });

    // The hand-over, made here over REST: the engine assigns the run to the relay's worker (the only
    // one), whose copy of the assignment the proxy holds back.
    proxy.holdReplies();
    const lostRun = await s.rest.submit({ jobId, tenantId: tenant.id, targetId, apiName: "echo" });
    await s.database.db.update(jobs).set({ hatchetRunId: lostRun, dispatchedAt: sql`now()` }).where(eq(jobs.id, jobId));
    expect((await c.call("POST", `${path(failed)}/cancel/`)).status).toBe(200);
    await waitRunState(s.rest, lostRun, "RUNNING");

    // The engine dies with the assignment unsent. The relay notices before it comes back.
    await own.stopEngine();
    await poll(() => (s.relay?.output.some((l) => l.includes("the engine does not answer")) ? true : undefined), {
      timeoutMs: TIMING.sweepMs + 2 * TIMING.engineRetryMs + SLACK_MS,
      label: "the relay to see the engine gone",
    });
    proxy.loseHeldReplies();
    await own.startEngine();
    const upAt = Date.now();

    await within(
      "the job to succeed on a new run",
      bound({
        "engine probe": TIMING.engineRetryMs,
        "gRPC reconnect": GRPC.reconnectMs,
        "sweep period": TIMING.sweepMs,
        slack: SLACK_MS,
      }),
      async () => {
        const row = (await jobRows(s.database.db, [jobId])).get(jobId);
        return row?.status === "success" ? row : undefined;
      },
      {
        from: upAt,
        describe: async () =>
          `run ${await s.rest.runState(lostRun).catch((e: Error) => e.message)} on worker ${await s.rest.runAssignee(lostRun).catch((e: Error) => e.message)}; the relay said:\n${s.relay?.output.slice(-20).join("\n")}`,
      },
    );
    const row = (await jobRows(s.database.db, [jobId])).get(jobId);
    expect(row?.hatchetRunId).not.toBe(lostRun);
    const logs = (await c.call("GET", `${path(jobId)}/logs/`)).body as Array<{ content: string }>;
    expect(logs.map((l) => l.content)).toContain(
      `Hatchet assigned run ${lostRun} to a worker the relay replaced after an engine outage, where it never arrives; the job goes back to waiting`,
    );
    await waitRunState(s.rest, lostRun, "CANCELLED");
  });
});
