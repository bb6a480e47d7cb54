// A typed client of switchyard's HTTP API: openapi-fetch over the types openapi-typescript
// generated from the API's OpenAPI document (./openapi.ts, kept in step by a unit test). Every
// path, parameter, body and answer (each status's, errors included) is typed from that document.
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, operations, paths } from "./openapi.ts";

export type { components, operations, paths };
export type Job = components["schemas"]["Job"];
export type JobStatus = Job["status"];
export type Target = components["schemas"]["Target"];
/** An error answer: `{detail, code, errors?}`; match on `code`. */
export type ApiError = components["schemas"]["Error"];
export type SwitchyardClient = Client<paths>;

export interface SwitchyardClientOptions extends ClientOptions {
  /** The API's origin, e.g. `http://127.0.0.1:3000` or the API Gateway URL. */
  baseUrl: string;
  /** A tenant's API key (`X-API-Key`), for the tenant routes. */
  apiKey?: string;
  /** The admin key (`X-Admin-Key`), for `/api/admin/**`. */
  adminKey?: string;
}

export function createSwitchyardClient({ apiKey, adminKey, headers, ...options }: SwitchyardClientOptions) {
  return createClient<paths>({
    ...options,
    headers: {
      ...(apiKey ? { "x-api-key": apiKey } : {}),
      ...(adminKey ? { "x-admin-key": adminKey } : {}),
      ...headers,
    },
  });
}

/** An error answer as an exception: the API's `code` and `detail`, and the HTTP status. */
export class SwitchyardApiError extends Error {
  override name = "SwitchyardApiError";
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(`${status} ${body.code}: ${body.detail}`);
  }
}

/** The statuses a job rests in until someone acts: it will not change by itself. */
export const SETTLED_STATUSES: readonly JobStatus[] = ["success", "error", "paused", "canceled"];

export interface WaitOptions {
  /** The statuses to wait for; the settled ones unless given. */
  until?: readonly JobStatus[];
  /** 60 s unless given. */
  timeoutMs?: number;
  /** Between two reads; 500 ms unless given. */
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Reads the job until its status is one of `until` and answers it; throws SwitchyardApiError when
 * the API refuses the read (e.g. 404 job.not_found), and an Error after `timeoutMs`.
 */
export async function waitForJob(
  client: SwitchyardClient,
  targetId: string,
  jobId: string,
  { until = SETTLED_STATUSES, timeoutMs = 60_000, intervalMs = 500, signal }: WaitOptions = {},
): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data, error, response } = await client.GET("/api/targets/{target_id}/jobs/{job_id}", {
      params: { path: { target_id: targetId, job_id: jobId } },
      signal,
    });
    if (error) throw new SwitchyardApiError(response.status, error);
    if (until.includes(data.status)) return data;
    if (Date.now() + intervalMs > deadline) {
      throw new Error(`job ${jobId} is still ${data.status} after ${timeoutMs} ms (waiting for ${until.join("|")})`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    signal?.throwIfAborted();
  }
}
