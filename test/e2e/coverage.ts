// Which operations of the OpenAPI document a suite called through @switchyard/client: a middleware
// of the typed client records each answer under its method and path template (openapi-fetch's
// schemaPath, e.g. `GET /api/targets/{target_id}`), so a final test can compare the operations
// that answered 2xx with every operation the document has.
import type { TypedClientMiddleware } from "../support/client.ts";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

export function operationRecorder() {
  /** Each operation called, with the statuses it answered. */
  const answered = new Map<string, Set<number>>();
  const middleware: TypedClientMiddleware = {
    onResponse({ request, schemaPath, response }) {
      const key = `${request.method.toUpperCase()} ${schemaPath}`;
      const statuses = answered.get(key) ?? new Set<number>();
      statuses.add(response.status);
      answered.set(key, statuses);
    },
  };
  return {
    middleware,
    answered,
    /** The operations that answered 2xx at least once, sorted. */
    succeeded: () =>
      [...answered]
        .filter(([, statuses]) => [...statuses].some((s) => s >= 200 && s < 300))
        .map(([key]) => key)
        .sort(),
  };
}

/** Every operation of an OpenAPI document, sorted. */
export function documentOperations(doc: Record<string, unknown>): string[] {
  return Object.entries((doc.paths ?? {}) as Record<string, Record<string, unknown>>)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => METHODS.includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    )
    .sort();
}
