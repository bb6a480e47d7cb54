// Requests straight to the worker function (not through the API): signed deliveries, health
// calls and the engine's operator calls, for tests of what the worker accepts.

/** POSTs `body` as JSON to `path` of the worker function at `workerUrl`, with `headers` (signatures). */
export function postToWorker(workerUrl: string, path: string, body: string, headers: Record<string, string>) {
  return fetch(`${workerUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}
