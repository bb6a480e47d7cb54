// The API as a tenant's client sees it, for tests: one copy of the calls every test file makes.
import { expect } from "vitest";
import type { ApiResponse, TestApp } from "./app.ts";
import { poll } from "./poll.ts";

export const jobPath = (targetId: string, jobId: string) => `/api/targets/${targetId}/jobs/${jobId}`;

/** A timestamp as the API answers it: UTC, milliseconds, and `+00:00` (legacy-use's format). */
export const ISO_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/;

export interface TenantClientOptions {
  /** How long waitStatus waits when a call gives no timeout (ms; 20 s unless given). */
  waitMs?: number;
}

export type TenantClient = ReturnType<typeof tenantClient>;

export function tenantClient(t: Pick<TestApp, "api">, key: string, { waitMs = 20_000 }: TenantClientOptions = {}) {
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse> =>
    t.api(key, method, path, body, headers);
  const client = {
    key,
    api,
    /** Creates a target; returns its id. */
    async target(name = "t", extra: Record<string, unknown> = {}): Promise<string> {
      const r = await api("POST", "/api/targets/", { name, ...extra });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id;
    },
    /** Creates a job; returns its id. */
    async job(targetId: string, api_name: string, parameters: Record<string, unknown> = {}): Promise<string> {
      const r = await api("POST", `/api/targets/${targetId}/jobs/`, { api_name, parameters });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.id;
    },
    /** POSTs a job verb (cancel, interrupt, resume, resolve) and expects 200; returns the answer. */
    async action(targetId: string, jobId: string, verb: string, body?: unknown) {
      const r = await api("POST", `${jobPath(targetId, jobId)}/${verb}/`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    },
    async get(targetId: string, jobId: string) {
      return (await api("GET", jobPath(targetId, jobId))).body;
    },
    /** The job's status as the API answers it now. */
    async status(targetId: string, jobId: string): Promise<string> {
      return (await client.get(targetId, jobId)).status;
    },
    /** The contents of the job's log lines, oldest first. */
    async logs(targetId: string, jobId: string): Promise<unknown[]> {
      const r = await api("GET", `${jobPath(targetId, jobId)}/logs/`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.map((l: { content: unknown }) => l.content);
    },
    /** Polls until the job has one of the statuses; returns the job. */
    waitStatus(targetId: string, jobId: string, want: string | string[], timeoutMs = waitMs) {
      const wanted = ([] as string[]).concat(want);
      return poll(
        async () => {
          const job = await client.get(targetId, jobId);
          return wanted.includes(job.status) ? job : undefined;
        },
        { timeoutMs, intervalMs: 50, label: `job ${jobId} to be ${wanted.join("|")}` },
      );
    },
    /**
     * Cancels each of the tenant's running jobs and waits for it to end canceled, ignoring
     * failures: for a file's afterAll, as a long sleep still running would hold the shutdown.
     */
    async cancelRunning() {
      const running = await api("GET", "/api/jobs/?status=running&limit=1000");
      for (const j of running.body?.jobs ?? []) {
        await api("POST", `${jobPath(j.target_id, j.id)}/cancel/`);
        await client.waitStatus(j.target_id, j.id, "canceled").catch(() => {});
      }
    },
  };
  return client;
}

/** A new tenant (made through the admin API) and its client. */
export async function newTenant(
  t: Pick<TestApp, "api" | "tenant">,
  opts?: TenantClientOptions,
): Promise<TenantClient & { id: string }> {
  const { id, key } = await t.tenant();
  return Object.assign(tenantClient(t, key, opts), { id });
}
