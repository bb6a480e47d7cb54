// The API as a tenant's client sees it, for tests: one copy of the calls every test file makes.
import { expect } from "vitest";
import type { ApiResponse, TestApp } from "./app.ts";
import { poll } from "./poll.ts";

export const jobPath = (targetId: string, jobId: string) => `/api/targets/${targetId}/jobs/${jobId}`;

export type TenantClient = ReturnType<typeof tenantClient>;

export function tenantClient(t: Pick<TestApp, "api">, key: string) {
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
    /** The contents of the job's log lines, oldest first. */
    async logs(targetId: string, jobId: string): Promise<unknown[]> {
      const r = await api("GET", `${jobPath(targetId, jobId)}/logs/`);
      return r.body.map((l: { content: unknown }) => l.content);
    },
    /** Polls until the job has one of the statuses; returns the job. */
    waitStatus(targetId: string, jobId: string, want: string | string[], timeoutMs = 20_000) {
      const wanted = ([] as string[]).concat(want);
      return poll(
        async () => {
          const job = await client.get(targetId, jobId);
          return wanted.includes(job.status) ? job : undefined;
        },
        { timeoutMs, intervalMs: 50, label: `job ${jobId} to be ${wanted.join("|")}` },
      );
    },
  };
  return client;
}
