// The API as a tenant's client sees it, for tests: one copy of the calls every test file makes.
// The typed operations go through @switchyard/client, so every test file also exercises the
// client generated from the OpenAPI document; `api` stays raw for requests a client would refuse.
import { createSwitchyardClient, type SwitchyardClient } from "@switchyard/client";
import { expect } from "vitest";
import type { ApiResponse, TestApp } from "./app.ts";
import { poll } from "./poll.ts";

export const jobPath = (targetId: string, jobId: string) => `/api/targets/${targetId}/jobs/${jobId}`;

/** A timestamp as the API answers it: UTC, milliseconds, and `+00:00` (legacy-use's format). */
export const ISO_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/;

/** Middleware of the typed client (openapi-fetch's `client.use`), e.g. to record the operations called. */
export type TypedClientMiddleware = Parameters<SwitchyardClient["use"]>[number];

export interface TenantClientOptions {
  /** How long waitStatus waits when a call gives no timeout (ms; 20 s unless given). */
  waitMs?: number;
  /** Applied to every call of the typed client (none unless given). */
  middleware?: TypedClientMiddleware[];
}

export type TenantClient = ReturnType<typeof tenantClient>;

export function tenantClient(
  t: Pick<TestApp, "api">,
  key: string,
  { waitMs = 20_000, middleware }: TenantClientOptions = {},
) {
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse> =>
    t.api(key, method, path, body, headers);
  const typed = typedClient(t, key, { middleware });
  const J = "/api/targets/{target_id}/jobs/{job_id}" as const;
  const ids = (targetId: string, jobId: string) => ({ params: { path: { target_id: targetId, job_id: jobId } } });
  const client = {
    key,
    api,
    /** The typed client the helpers below send through (the same key and middleware), for any operation. */
    typed,
    /** Creates a target; returns its id. */
    async target(name = "t", extra: Record<string, unknown> = {}): Promise<string> {
      const r = await typed.POST("/api/targets/", { body: { name, ...extra } });
      return expectStatus(r, 201).id;
    },
    /** Creates a job; returns its id. */
    async job(targetId: string, api_name: string, parameters: Record<string, unknown> = {}): Promise<string> {
      const r = await typed.POST("/api/targets/{target_id}/jobs/", {
        params: { path: { target_id: targetId } },
        body: { api_name, parameters },
      });
      return expectStatus(r, 200).id;
    },
    /** POSTs a job verb (cancel, interrupt, resume, resolve) and expects 200; returns the answer. */
    async action(targetId: string, jobId: string, verb: string, body?: unknown): Promise<ApiResponse["body"]> {
      const r = await jobVerb(typed, J, ids(targetId, jobId), verb, body);
      if (r) return expectStatus(r, 200);
      // Not a typed operation (a test's own verb): as sent.
      const raw = await api("POST", `${jobPath(targetId, jobId)}/${verb}/`, body);
      expect(raw.status, JSON.stringify(raw.body)).toBe(200);
      return raw.body;
    },
    async get(targetId: string, jobId: string): Promise<ApiResponse["body"]> {
      const { data, error } = await typed.GET(J, ids(targetId, jobId));
      return data ?? error;
    },
    /** The job's status as the API answers it now. */
    async status(targetId: string, jobId: string): Promise<string> {
      return (await client.get(targetId, jobId)).status;
    },
    /** The contents of the job's log lines, oldest first. */
    async logs(targetId: string, jobId: string): Promise<unknown[]> {
      const r = await typed.GET(`${J}/logs/`, ids(targetId, jobId));
      return expectStatus(r, 200).map((l) => l.content);
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
      const running = await typed.GET("/api/jobs/", { params: { query: { status: "running", limit: 1000 } } });
      for (const j of running.data?.jobs ?? []) {
        await typed.POST(`${J}/cancel/`, ids(j.target_id, j.id));
        await client.waitStatus(j.target_id, j.id, "canceled").catch(() => {});
      }
    },
  };
  return client;
}

/**
 * @switchyard/client over `t.api`: tenantClient's callers give it only `api`, so the requests the
 * typed client builds (path, query, headers, body) are sent as built through it, and its answers
 * come back to the client as the API gave them.
 */
export function typedClient(
  t: Pick<TestApp, "api">,
  key: string,
  { adminKey, middleware = [] }: TypedClientOptions = {},
): SwitchyardClient {
  const client = createSwitchyardClient({
    // Only the path and query reach t.api, which knows the test API's origin.
    baseUrl: "http://switchyard.invalid",
    apiKey: key,
    adminKey,
    fetch: async (request) => {
      const url = new URL(request.url);
      const body = request.body === null ? undefined : await request.text();
      // No key of t.api's own: the client's x-api-key header is what goes out.
      const r = await t.api(
        "",
        request.method,
        `${url.pathname}${url.search}`,
        body,
        Object.fromEntries(request.headers),
      );
      const text = r.body === undefined ? null : typeof r.body === "string" ? r.body : JSON.stringify(r.body);
      return new Response(text, { status: r.status, headers: r.headers });
    },
  });
  client.use(...middleware);
  return client;
}

export interface TypedClientOptions {
  /** Sent as X-Admin-Key, for /api/admin/**. */
  adminKey?: string;
  /** Applied to every call (none unless given). */
  middleware?: TypedClientMiddleware[];
}

/** The typed client with the test app's admin key (and no tenant key). */
export function adminClient(
  t: Pick<TestApp, "api" | "adminKey">,
  { middleware }: Pick<TypedClientOptions, "middleware"> = {},
): SwitchyardClient {
  return typedClient(t, "", { adminKey: t.adminKey, middleware });
}

/** Asserts the answer's status (the message shows the answer) and gives its typed body. */
function expectStatus<T>(r: { data?: T; error?: unknown; response: Response }, status: number): T {
  expect(r.response.status, JSON.stringify(r.data ?? r.error)).toBe(status);
  return r.data as T;
}

type JobIds = { params: { path: { target_id: string; job_id: string } } };

/**
 * The typed job actions, sent as the raw call would send them: no body to cancel, interrupt and
 * resume, a JSON object to resolve. Undefined for anything else, which the caller sends raw.
 */
function jobVerb(
  typed: SwitchyardClient,
  J: "/api/targets/{target_id}/jobs/{job_id}",
  ids: JobIds,
  verb: string,
  body: unknown,
) {
  if (verb === "resolve") {
    const isObject = typeof body === "object" && body !== null && !Array.isArray(body);
    return isObject ? typed.POST(`${J}/resolve/`, { ...ids, body: body as Record<string, unknown> }) : undefined;
  }
  if (body !== undefined) return undefined;
  if (verb === "cancel") return typed.POST(`${J}/cancel/`, ids);
  if (verb === "interrupt") return typed.POST(`${J}/interrupt/`, ids);
  if (verb === "resume") return typed.POST(`${J}/resume/`, ids);
  return undefined;
}

/** A new tenant (made through the admin API) and its client. */
export async function newTenant(
  t: Pick<TestApp, "api" | "tenant">,
  opts?: TenantClientOptions,
): Promise<TenantClient & { id: string }> {
  const { id, key } = await t.tenant();
  return Object.assign(tenantClient(t, key, opts), { id });
}
