// An engine that dies between assigning a run and sending it: its successor never sends the run,
// and keeps it assigned to the worker it chose until it times that worker out (30 s). A TCP proxy
// holds back the send, so it never arrives, and the engine restarts:
// - relay mode: the proxy sits on the relay's gRPC and holds the engine's replies. The relay
//   replaces its worker when the engine answers again, and releases the run at once because the
//   engine assigned it to the worker it replaced. The relay's two slower rules for held runs are
//   set out of reach, so only this one can release it in time.
// - direct mode: the proxy sits before the worker and holds the engine operator's calls. The
//   worker's sweep, on the new engine's first health poll, finds the run assigned to the stopped
//   engine's operator worker, which no longer heartbeats, and releases it.
// Either way the job ends `success` on a new run, well before the engine's own 30 s.
import { jobs } from "@switchyard/db";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitRunState } from "../../support/hatchet.ts";
import { poll } from "../../support/poll.ts";
import {
  bound,
  Cleanups,
  client,
  type DeliveryMode,
  ENGINE,
  freePort,
  GRPC,
  jobRows,
  type PrivateEngineStack,
  privateEngineDatabase,
  privateEngineStack,
  SLACK_MS,
  type Stack,
  within,
} from "../harness.ts";
import { startProxy, type TcpProxy } from "../proxy.ts";

const TIMING = {
  relay: { sweepMs: 500, engineRetryMs: 250, assignedUnstartedMs: 600_000, heldRunMs: 600_000 },
  direct: { sweepMs: 500, assignedUnstartedMs: 2000 },
};

/** What the relay logs once the engine has not answered twice (packages/relay/src/relay.ts). */
const OUTAGE_LINE = "the engine does not answer";

export function lostAssignmentSuite(delivery: DeliveryMode) {
  describe(`a run the engine assigned and never sent, then an engine restart (${delivery} delivery)`, () => {
    const cleanups = new Cleanups();
    let own: PrivateEngineStack;
    let s: Stack;
    let proxy: TcpProxy;

    beforeAll(async () => {
      const engineDb = (await privateEngineDatabase(cleanups)).url;
      const proxyTo = async (port: number) => {
        proxy = await startProxy(port);
        cleanups.add("close the proxy", () => proxy.close());
        return proxy;
      };
      if (delivery === "relay") {
        own = await privateEngineStack(cleanups, engineDb, {
          delivery,
          timing: TIMING.relay,
          relayEnv: async (engine) => {
            const p = await proxyTo(Number(engine.HATCHET_CLIENT_HOST_PORT?.split(":").at(-1)));
            return { HATCHET_CLIENT_HOST_PORT: `127.0.0.1:${p.port}` };
          },
        });
      } else {
        const workerPort = await freePort();
        const p = await proxyTo(workerPort);
        own = await privateEngineStack(cleanups, engineDb, {
          delivery,
          timing: TIMING.direct,
          workerPort,
          callerWorkerUrl: p.url,
        });
      }
      s = own.stack;
    });
    afterAll(() => cleanups.run());

    it("is released on the engine's return, and the job runs on a new run", async () => {
      const tenant = await s.tenant();
      const c = client(s, tenant.key);
      const targetId = await c.target("lost-assignment");
      const path = (jobId: string) => `/api/targets/${targetId}/jobs/${jobId}`;

      // A job waiting behind a failed one, so nobody of switchyard's hands it over meanwhile.
      const failed = await c.job(targetId, "fail");
      await poll(async () => ((await c.call("GET", path(failed))).body.status === "error" ? true : undefined), {
        timeoutMs: SLACK_MS,
        label: "the failed job",
      });
      const jobId = await c.job(targetId, "echo", { lost: true });

      // The hand-over, made here over REST (the relay's own trigger would wait for a held answer).
      // The engine assigns the run (to the relay's worker, or its operator's) and sends it into the
      // proxy, which holds it back.
      proxy.hold(delivery === "relay" ? "replies" : "requests");
      const lostRun = await s.rest.submit({ jobId, tenantId: tenant.id, targetId, apiName: "echo" });
      await s.database.db
        .update(jobs)
        .set({ hatchetRunId: lostRun, dispatchedAt: sql`now()` })
        .where(eq(jobs.id, jobId));
      expect((await c.call("POST", `${path(failed)}/cancel/`)).status).toBe(200);
      await waitRunState(s.rest, lostRun, "RUNNING");
      expect((await jobRows(s.database.db, [jobId])).get(jobId)?.status).toBe("queued");

      // The engine dies with the run unsent.
      await own.stopEngine();
      if (delivery === "relay") {
        // It comes back only once the relay has seen it gone, as after any real restart.
        await poll(() => (s.relay?.output.some((l) => l.includes(OUTAGE_LINE)) ? true : undefined), {
          timeoutMs: TIMING.relay.sweepMs + 2 * TIMING.relay.engineRetryMs + SLACK_MS,
          label: "the relay to see the engine gone",
        });
      }
      proxy.loseHeld();
      await own.startEngine();
      const upAt = Date.now();

      await within(
        `${delivery}: the job to succeed on a new run after the restart`,
        delivery === "relay"
          ? bound({
              "engine probe": TIMING.relay.engineRetryMs,
              "gRPC reconnect": GRPC.reconnectMs,
              "sweep period": TIMING.relay.sweepMs,
              slack: SLACK_MS,
            })
          : bound({
              "operator claim": ENGINE.operatorClaimMs,
              "first health poll": ENGINE.healthPollMs,
              slack: SLACK_MS,
            }),
        async () => ((await jobRows(s.database.db, [jobId])).get(jobId)?.status === "success" ? true : undefined),
        {
          from: upAt,
          describe: async () =>
            `run ${await s.rest.runState(lostRun).catch((e: Error) => e.message)} on worker ${await s.rest.runWorker(lostRun).catch((e: Error) => e.message)}; the ${delivery === "relay" ? "relay" : "worker"} said:\n${(delivery === "relay" ? s.relay : s.worker)?.output.slice(-20).join("\n")}`,
        },
      );
      expect((await jobRows(s.database.db, [jobId])).get(jobId)?.hatchetRunId).not.toBe(lostRun);
      const logs = (await c.call("GET", `${path(jobId)}/logs/`)).body as Array<{ content: string }>;
      const why =
        delivery === "relay"
          ? `Hatchet assigned run ${lostRun} to a worker the relay replaced after an engine outage, where it never arrives`
          : `Hatchet assigned run ${lostRun} to a worker that stopped heartbeating, which never received it`;
      expect(logs.map((l) => l.content)).toContain(`${why}; the job goes back to waiting`);
      await waitRunState(s.rest, lostRun, "CANCELLED");
    });
  });
}
