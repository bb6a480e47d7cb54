// The relay's calls to a worker: Standard Webhooks signed POSTs, JSON answers.
import type { DeliveryAnswer, HealthResponse, RelayDelivery } from "@switchyard/core";
import { signRequest } from "./signing.ts";

export class WorkerCallError extends Error {
  override name = "WorkerCallError";
  constructor(
    message: string,
    /** HTTP status, or 0 when no answer came (connection refused, reset, timeout). */
    readonly status: number,
  ) {
    super(message);
  }
}

async function call<T>(url: string, secret: string, payload: unknown, signal: AbortSignal): Promise<T> {
  const body = JSON.stringify(payload);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...signRequest(secret, body) },
      body,
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    throw new WorkerCallError(
      `no answer from ${new URL(url).origin}: ${(err as Error).cause ?? (err as Error).message}`,
      0,
    );
  }
  const text = await res.text();
  if (!res.ok) throw new WorkerCallError(`worker answered ${res.status}: ${text.slice(0, 300)}`, res.status);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new WorkerCallError(`worker answered ${res.status} with a body that is not JSON`, 502);
  }
}

const join = (base: string, path: string) => `${base.replace(/\/$/, "")}${path}`;

export function health(url: string, secret: string, timeoutMs = 10_000): Promise<HealthResponse> {
  return call(join(url, "/health"), secret, { time: new Date().toISOString() }, AbortSignal.timeout(timeoutMs));
}

export function deliver(url: string, secret: string, req: RelayDelivery, signal: AbortSignal): Promise<DeliveryAnswer> {
  return call(join(url, "/deliver"), secret, req, signal);
}
