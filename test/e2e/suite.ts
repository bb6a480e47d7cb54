// End to end over HTTP with every part a real process: API → Postgres → Hatchet → worker, the
// engine's HTTP operator calling the worker (direct mode) or the relay doing it (relay mode). The
// same suite runs in both modes (direct.test.ts, relay.test.ts); a few tests are one mode's own.
//
// Every call to the API goes through @switchyard/client (the typed client generated from the
// OpenAPI document), and the last test checks that the suite called every operation the document
// has and got a 2xx answer from each.

import { randomUUID } from "node:crypto";
import { createSwitchyardClient, type SwitchyardClient } from "@switchyard/client";
import { jobs } from "@switchyard/db";
import { type DeliveryMode, jobActionId } from "@switchyard/hatchet";
import { hatchetSignature, signRequest } from "@switchyard/workers/signing";
import { asc, eq, inArray } from "drizzle-orm";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, ISO_TIMESTAMP, type TenantClient, tenantClient, typedClient } from "../support/client.ts";
import { poll } from "../support/poll.ts";
import { receiver } from "../support/receiver.ts";
import { attemptsOf, jobRow, waitFirstAttemptFinished } from "../support/rows.ts";
import { postToWorker } from "../support/worker.ts";
import { documentOperations, operationRecorder } from "./coverage.ts";
import { type Processes, startProcesses } from "./setup.ts";

const J = "/api/targets/{target_id}/jobs/{job_id}" as const;
const BUILTIN_TYPES = ["echo", "fail", "http-request", "sleep"];

/**
 * Operations of the document the suite need not call, each with why it cannot be exercised end
 * to end. Empty: every operation is called.
 */
const EXEMPT: ReadonlyArray<{ operation: string; why: string }> = [];

/** A typed answer's body, once its status is the one expected (the message shows the answer). */
function ok<T>(r: { data?: T; error?: unknown; response: Response }, status = 200): T {
  expect(r.response.status, JSON.stringify(r.data ?? r.error)).toBe(status);
  return r.data as T;
}

/** A typed error answer as `{status, code}`. */
const refusal = (r: { error?: { code?: string }; response: Response }) => ({
  status: r.response.status,
  code: r.error?.code,
});

const jobIds = (targetId: string, jobId: string) => ({ params: { path: { target_id: targetId, job_id: jobId } } });

type Tenant = TenantClient & { id: string; name: string };

export function executionSuite(delivery: DeliveryMode) {
  let p: Processes;
  /** The suite's tenant. */
  let c: Tenant;
  /** The admin key's typed client. */
  let admin: SwitchyardClient;
  /** Every operation the suite calls through the typed client, with the statuses it answered. */
  const calls = operationRecorder();
  const recorded = { middleware: [calls.middleware] };

  /** A new tenant, made through the admin API, and its typed client. */
  async function newTenant(name = `e2e-${randomUUID().slice(0, 8)}`): Promise<Tenant> {
    const created = ok(await admin.POST("/api/admin/tenants/", { body: { name } }), 201);
    expect(created).toMatchObject({ name, api_key: expect.stringMatching(/^sy_/) });
    return Object.assign(tenantClient(p.t, created.api_key, recorded), { id: created.id, name });
  }

  beforeAll(async () => {
    // Direct mode: a short operator call, so that long attempts in this suite run detached.
    p = await startProcesses(delivery, delivery === "direct" ? { operatorCallMs: 1500 } : undefined);
    admin = adminClient(p.t, recorded);
    c = await newTenant();
  }, 120_000);
  afterAll(() => p?.stop());

  const relay = () => {
    if (!p.relay) throw new Error("no relay runs in direct mode");
    return p.relay;
  };

  /** Resolves a blocking job and waits for the job behind it to run. */
  async function resolveAndWait(targetId: string, blocking: string, behind: string) {
    expect((await c.action(targetId, blocking, "resolve", {})).status).toBe("success");
    await c.waitStatus(targetId, behind, "success", 30_000);
  }

  /**
   * Opens the job's log stream (Server-Sent Events) through the typed client over the real fetch,
   * so that it arrives as it is written, and parses it with eventsource-parser.
   */
  async function openLogStream(tenant: Tenant, targetId: string, jobId: string, after?: number) {
    const streaming = createSwitchyardClient({ baseUrl: p.t.apiUrl, apiKey: tenant.key });
    streaming.use(calls.middleware);
    const abort = new AbortController();
    const r = await streaming.GET(`${J}/logs/stream`, {
      params: { path: { target_id: targetId, job_id: jobId }, query: after === undefined ? undefined : { after } },
      parseAs: "stream",
      signal: abort.signal,
    });
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const body = r.data;
    if (!body) throw new Error("the stream has no body");
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    const ended = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of body) parser.feed(decoder.decode(chunk, { stream: true }));
      } catch {
        // aborted by close()
      }
    })();
    return {
      events,
      /** Resolves when the server ends the stream. */
      ended,
      close: () => abort.abort(),
      /** The `log` events, as the log route answers its lines. */
      lines: () => events.filter((e) => e.event === "log").map((e) => ({ id: Number(e.id), ...JSON.parse(e.data) })),
    };
  }

  describe(`every API operation through @switchyard/client (${delivery} delivery)`, () => {
    it("creates, lists, updates and archives a target, which then takes no job", async () => {
      const created = ok(
        await c.typed.POST("/api/targets/", { body: { name: "crud", type: "vnc", host: "10.0.0.9" } }),
        201,
      );
      expect(created).toMatchObject({
        name: "crud",
        type: "vnc",
        metadata: { host: "10.0.0.9" },
        host: "10.0.0.9",
        is_archived: false,
        queue_status: "running",
        blocking_jobs: [],
        created_at: expect.stringMatching(ISO_TIMESTAMP),
      });
      const target = { params: { path: { target_id: created.id } } };
      const updated = ok(
        await c.typed.PUT("/api/targets/{target_id}", { ...target, body: { name: "crud-2", width: 1280 } }),
      );
      expect(updated).toMatchObject({
        id: created.id,
        name: "crud-2",
        type: "vnc",
        metadata: { host: "10.0.0.9", width: 1280 },
        width: 1280,
        created_at: created.created_at,
      });
      expect(ok(await c.typed.GET("/api/targets/{target_id}", target))).toMatchObject({ name: "crud-2", width: 1280 });
      expect(ok(await c.typed.GET("/api/targets/")).map((x) => x.id)).toContain(created.id);

      expect(ok(await c.typed.DELETE("/api/targets/{target_id}", target))).toEqual({
        message: `Target ${created.id} archived successfully`,
      });
      expect(ok(await c.typed.GET("/api/targets/")).map((x) => x.id)).not.toContain(created.id);
      const all = ok(await c.typed.GET("/api/targets/", { params: { query: { include_archived: "true" } } }));
      expect(all.find((x) => x.id === created.id)).toMatchObject({ name: "crud-2", is_archived: true });
      const refused = await c.typed.POST("/api/targets/{target_id}/jobs/", { ...target, body: { api_name: "echo" } });
      expect(refusal(refused)).toEqual({ status: 409, code: "target.archived" });
    });

    it("lists jobs by target and across targets, and reads logs after an id and HTTP exchanges", async () => {
      const pong = await receiver(() => ({
        status: 200,
        headers: { "content-type": "application/json" },
        body: '{"pong":true}',
      }));
      try {
        const t = await c.target("reads");
        const echo = await c.job(t, "echo", { read: 1 });
        const fetched = await c.job(t, "http-request", { url: pong.url });
        // One job at a time, in creation order: the echo job ended first.
        await c.waitStatus(t, fetched, "success");
        expect(await c.status(t, echo)).toBe("success");

        const byTarget = ok(
          await c.typed.GET("/api/targets/{target_id}/jobs/", { params: { path: { target_id: t } } }),
        );
        expect(byTarget.map((j) => j.id).sort()).toEqual([echo, fetched].sort());
        const page = await c.typed.GET("/api/jobs/", {
          params: { query: { target_id: t, status: "SUCCESS", api_name: "echo", limit: 10 } },
        });
        expect(ok(page)).toMatchObject({ total_count: 1, jobs: [{ id: echo, target_id: t, result: { read: 1 } }] });
        expect(page.response.headers.get("x-total-count")).toBe("1");

        const logs = ok(await c.typed.GET(`${J}/logs/`, jobIds(t, echo)));
        expect(logs.map((l) => l.content)).toContain("Job completed with status: success");
        expect(logs.length).toBeGreaterThanOrEqual(3);
        const [first, second] = logs;
        const afterFirst = await c.typed.GET(`${J}/logs/`, {
          params: { path: { target_id: t, job_id: echo }, query: { after: first?.id ?? 0 } },
        });
        expect(ok(afterFirst)).toEqual(logs.slice(1));
        const afterSecond = await c.typed.GET(`${J}/logs/`, {
          params: { path: { target_id: t, job_id: echo }, query: { after: second?.id ?? 0 } },
        });
        expect(ok(afterSecond)).toEqual(logs.slice(2));

        const exchanges = ok(await c.typed.GET(`${J}/http_exchanges/`, jobIds(t, fetched)));
        expect(exchanges).toEqual([
          expect.objectContaining({
            job_id: fetched,
            log_type: "http_exchange",
            attempt: 0,
            content: expect.objectContaining({
              request: expect.objectContaining({ method: "GET", url: pong.url }),
              response: expect.objectContaining({ status: 200, body: '{"pong":true}' }),
            }),
          }),
        ]);
        expect(pong.got).toHaveLength(1);
        expect(ok(await c.typed.GET(`${J}/http_exchanges/`, jobIds(t, echo)))).toEqual([]);
      } finally {
        await pong.close();
      }
    });

    it("streams a running job's log as Server-Sent Events until it ends, and resumes after ?after=", async () => {
      const t = await c.target("stream");
      const id = await c.job(t, "sleep", { ms: 60_000 });
      await c.waitStatus(t, id, "running");
      const live = await openLogStream(c, t, id);
      try {
        await poll(() => (live.lines().length > 0 ? true : undefined), { label: "the lines written so far" });
        expect(live.events.some((e) => e.event === "end")).toBe(false);
        // The cancel ends the job, and so the stream, with the job's last lines.
        await c.action(t, id, "cancel");
        await live.ended;
      } finally {
        live.close();
      }
      expect(live.events.at(-1)).toMatchObject({ event: "end", data: JSON.stringify({ status: "canceled" }) });
      const all = ok(await c.typed.GET(`${J}/logs/`, jobIds(t, id)));
      expect(live.lines()).toEqual(all);
      expect(all.at(-1)?.content).toBe("Job completed with status: canceled and reason: Job was canceled by user");

      const resumed = await openLogStream(c, t, id, all[0]?.id ?? 0);
      await resumed.ended;
      expect(resumed.lines()).toEqual(all.slice(1));
      expect(resumed.events.at(-1)).toMatchObject({ event: "end", data: JSON.stringify({ status: "canceled" }) });
    });

    it("lists the job types, and reports a blocked queue, a resync that finds nothing wrong, and the unblocking", async () => {
      const types = ok(await c.typed.GET("/api/job-types/")).job_types;
      expect(types.map((x) => x.name)).toEqual(BUILTIN_TYPES);
      expect(types.find((x) => x.name === "sleep")).toMatchObject({
        parameters: { type: "object", required: ["ms"] },
        defaults: { timeout_seconds: 900, retries: 0 },
      });

      // A tenant of its own: the queue's counts and resync's checks are per tenant.
      const q = await newTenant();
      const t = await q.target("blocked");
      const failed = await q.job(t, "fail", { retryable: false });
      await q.waitStatus(t, failed, "error");
      const waiting = await q.job(t, "echo", { after: "resync" });
      expect(ok(await q.typed.GET("/api/jobs/queue/status"))).toMatchObject({
        queue_size: 1,
        queued_in_db: 1,
        running_jobs_count: 0,
        running_job: null,
        queue_type: "hatchet",
        blocked_targets: 1,
        hatchet: { reachable: true },
        targets: [
          {
            target_id: t,
            name: "blocked",
            queued: 1,
            dispatched: 0,
            running: 0,
            blocked: true,
            blocking_jobs_count: 1,
          },
        ],
      });
      // The waiting job holds no run, and the blocked target must not be dispatched.
      expect(ok(await q.typed.POST("/api/jobs/queue/resync"))).toEqual({
        message: "Postgres and Hatchet agree",
        checked_jobs: 0,
        repairs: [],
      });
      expect(await q.status(t, waiting)).toBe("queued");

      await q.action(t, failed, "resolve", { by: "hand" });
      await q.waitStatus(t, waiting, "success");
      expect(ok(await q.typed.GET("/api/jobs/queue/status"))).toMatchObject({
        queue_size: 0,
        running_jobs_count: 0,
        blocked_targets: 0,
        targets: [{ target_id: t, queued: 0, running: 0, blocked: false, blocking_jobs_count: 0 }],
      });
    });

    it("reports Postgres, Hatchet, the delivery mode and the webhook workers in diagnostics", async () => {
      const d = await poll(
        async () => {
          const r = ok(await c.typed.GET("/api/diagnostics"));
          return r.delivery.ok ? r : undefined;
        },
        { timeoutMs: 30_000, label: "diagnostics to report delivery ok" },
      );
      expect(d.postgres).toMatchObject({ ok: true, version: expect.stringMatching(/^\d+/) });
      expect(d.hatchet).toMatchObject({ ok: true, version: expect.stringMatching(/\d+\.\d+/) });
      expect(d.delivery).toMatchObject({ mode: delivery, ok: true });
      expect("active_workers" in d.delivery ? d.delivery.active_workers : 0).toBeGreaterThanOrEqual(1);
      expect(d.webhook_workers).toContainEqual(
        expect.objectContaining({ name: "local", healthy: true, last_error: null }),
      );
      expect(d.versions).toEqual({ node: process.version });
    });

    it("sends a subscribed completion event signed to a webhook, logs its delivery, and deletes the webhook", async () => {
      const rx = await receiver();
      try {
        const hook = ok(
          await c.typed.POST("/api/webhooks/", {
            body: { url: rx.url, events: ["job.succeeded"], description: "e2e" },
          }),
          201,
        );
        expect(hook).toMatchObject({ url: rx.url, events: ["job.succeeded"], description: "e2e" });
        expect(hook.secret).toMatch(/^whsec_/);
        expect(ok(await c.typed.GET("/api/webhooks/"))).toContainEqual({
          id: hook.id,
          url: rx.url,
          events: ["job.succeeded"],
          description: "e2e",
          created_at: hook.created_at,
        });

        const t = await c.target("hooked");
        const job = await c.job(t, "echo", { hook: 1 });
        await c.waitStatus(t, job, "success");
        const W = { params: { path: { webhook_id: hook.id } } };
        const event = await poll(
          async () => {
            const log = ok(await c.typed.GET("/api/webhooks/{webhook_id}/deliveries/", W));
            return log.find((e) => e.job_id === job && e.status === "delivered");
          },
          { timeoutMs: 30_000, label: "the job's event delivered" },
        );
        expect(event).toMatchObject({ type: "job.succeeded", delivered_at: expect.any(String) });
        expect(event.attempts).toEqual([expect.objectContaining({ status_code: 200, error: null })]);
        const got = rx.got.filter((r) => r.headers["webhook-id"] === event.id);
        expect(got).toHaveLength(1);
        const payload = new Webhook(hook.secret).verify(got[0]?.body ?? "", got[0]?.headers as Record<string, string>);
        expect(payload).toMatchObject({
          type: "job.succeeded",
          data: { id: job, target_id: t, status: "success", result: { hook: 1 } },
        });

        expect(ok(await c.typed.DELETE("/api/webhooks/{webhook_id}", W))).toEqual({
          message: `Webhook ${hook.id} deleted`,
        });
        expect(ok(await c.typed.GET("/api/webhooks/")).map((h) => h.id)).not.toContain(hook.id);
        const gone = await c.typed.GET("/api/webhooks/{webhook_id}/deliveries/", W);
        expect(refusal(gone)).toEqual({ status: 404, code: "webhook.not_found" });
      } finally {
        await rx.close();
      }
    });

    it("administers tenants and their keys: a second key acts as its tenant, and only as it", async () => {
      const tenants = ok(await admin.GET("/api/admin/tenants/"));
      expect(tenants).toContainEqual({ id: c.id, name: c.name, created_at: expect.stringMatching(ISO_TIMESTAMP) });
      for (const x of tenants) expect(Object.keys(x).sort()).toEqual(["created_at", "id", "name"]);
      const dup = await admin.POST("/api/admin/tenants/", { body: { name: c.name } });
      expect(refusal(dup)).toEqual({ status: 409, code: "tenant.name_taken" });

      const other = await newTenant();
      const key = ok(
        await admin.POST("/api/admin/tenants/{tenant_id}/keys/", { params: { path: { tenant_id: other.id } } }),
        201,
      );
      expect(key).toEqual({ tenant_id: other.id, api_key: expect.stringMatching(/^sy_/) });
      expect(key.api_key).not.toBe(other.key);
      const second = tenantClient(p.t, key.api_key, recorded);
      const made = await second.target("by-second-key");
      expect(ok(await other.typed.GET("/api/targets/")).map((x) => x.id)).toEqual([made]);
      const foreign = await c.typed.GET("/api/targets/{target_id}", { params: { path: { target_id: made } } });
      expect(refusal(foreign)).toEqual({ status: 404, code: "target.not_found" });
    });

    it("registers and deletes a throwaway worker; the registered one keeps running jobs", async () => {
      const before = ok(await admin.GET("/api/admin/workers/"));
      const local = before.find((w) => w.name === "local");
      expect(local).toMatchObject({ url: p.workerUrl, healthy: true, last_error: null });
      expect(local?.job_types.map((x) => x.name).sort()).toEqual(BUILTIN_TYPES);

      // The same worker function under another name: deleting it leaves "local" (and, in direct
      // mode, its engine operator) alone.
      const name = `e2e-throwaway-${randomUUID().slice(0, 8)}`;
      const body = { name, url: p.workerUrl, secret: p.t.signingSecret };
      const created = ok(await admin.POST("/api/admin/workers/", { body }), 201);
      expect(created).toMatchObject({ name, url: p.workerUrl, healthy: true, last_error: null });
      expect(created.job_types.map((x) => x.name).sort()).toEqual(BUILTIN_TYPES);
      expect(JSON.stringify(created)).not.toContain(p.t.signingSecret);
      expect(ok(await admin.GET("/api/admin/workers/")).map((w) => w.name)).toEqual(
        expect.arrayContaining(["local", name]),
      );

      const W = { params: { path: { worker_id: created.id } } };
      expect(ok(await admin.DELETE("/api/admin/workers/{worker_id}", W))).toEqual({
        message: `Worker ${created.id} deleted`,
      });
      expect(refusal(await admin.DELETE("/api/admin/workers/{worker_id}", W))).toEqual({
        status: 404,
        code: "worker.not_found",
      });
      const after = ok(await admin.GET("/api/admin/workers/")).map((w) => w.name);
      expect(after).toContain("local");
      expect(after).not.toContain(name);

      const t = await c.target("after-workers");
      const id = await c.job(t, "echo", { after: "workers" });
      expect((await c.waitStatus(t, id, "success")).result).toEqual({ after: "workers" });
    });

    it("serves the OpenAPI document, the reference page and the console without a key", async () => {
      const anonymous = typedClient(p.t, "", recorded);
      const doc = ok(await anonymous.GET("/api/openapi.json"));
      expect(doc.openapi).toBe("3.1.0");
      expect(documentOperations(doc)).toContain("GET /api/openapi.json");
      for (const [path, title] of [
        ["/api/docs", "<title>switchyard API reference</title>"],
        ["/api/console", "<title>switchyard console</title>"],
      ] as const) {
        const page = await anonymous.GET(path, { parseAs: "text" });
        expect(page.response.headers.get("content-type"), path).toBe("text/html; charset=utf-8");
        expect(ok(page), path).toContain(title);
      }
    });
  });

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
      expect((await c.action(t, queued, "cancel")).status).toBe("canceled");
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
      expect((await c.action(t, id, "interrupt")).stop_requested).toBe("interrupt");
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
      expect((await c.action(t, id, "cancel")).stop_requested).toBe("cancel");
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
      const target1 = ok(await c.typed.GET("/api/targets/{target_id}", { params: { path: { target_id: t } } }));
      expect(target1.queue_status).toBe("paused");
      expect(target1.blocking_jobs.map((j) => j.id)).toEqual([failing]);

      expect((await c.action(t, failing, "resolve", { fixed: true })).result).toEqual({ fixed: true });
      await c.waitStatus(t, behind, "success");

      const failing2 = await c.job(t, "fail", { retryable: false });
      await c.waitStatus(t, failing2, "error");
      const behind2 = await c.job(t, "echo", { n: 2 });
      expect((await c.action(t, failing2, "cancel")).status).toBe("canceled");
      await c.waitStatus(t, behind2, "success");

      const paused = await c.job(t, "sleep", { ms: 60_000 });
      await c.waitStatus(t, paused, "running");
      await c.action(t, paused, "interrupt");
      await c.waitStatus(t, paused, "paused");
      const behind3 = await c.job(t, "echo", { n: 3 });
      // Resume puts the paused job back first in line: it runs again before the later job.
      await p.t.database.db
        .update(jobs)
        .set({ parameters: { ms: 200 } })
        .where(eq(jobs.id, paused));
      expect((await c.action(t, paused, "resume")).status).toBe("queued");
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
      await c.action(t, id, "cancel");
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

  describe(`the suite's coverage of the API (${delivery} delivery)`, () => {
    // Last in the file: every test above has made its calls.
    it("called every operation of the OpenAPI document through the typed client, each answering 2xx", async () => {
      const anonymous = typedClient(p.t, "", recorded);
      const documented = documentOperations(ok(await anonymous.GET("/api/openapi.json")));
      expect(documented.length).toBeGreaterThan(30);
      const exempt = EXEMPT.map((e) => e.operation);
      for (const operation of exempt) expect(documented).toContain(operation);
      const missing = documented.filter((o) => !exempt.includes(o) && !calls.succeeded().includes(o));
      expect(missing, "operations the suite never got a 2xx answer from").toEqual([]);
      // Nothing called that the document does not have (a path the typed client would not type).
      expect(calls.succeeded().filter((o) => !documented.includes(o))).toEqual([]);
    });
  });
}
