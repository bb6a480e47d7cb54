// Typed errors with stable codes. Core throws them; only the HTTP edge (functions/) maps a code
// to a status. Messages are safe to show to clients: they never carry secrets.

export const ErrorCodes = [
  "auth.missing_key",
  "auth.invalid_key",
  "auth.admin_required",
  "request.invalid",
  "request.malformed_json",
  "request.unsupported_media_type",
  "request.too_large",
  "route.not_found",
  "tenant.not_found",
  "tenant.name_taken",
  "tenant.rate_limited",
  "target.not_found",
  "target.busy",
  "target.archived",
  "job.not_found",
  "job.unknown_type",
  "job.invalid_parameters",
  "job.illegal_transition",
  "idempotency.key_reused",
  "worker.not_found",
  "webhook.not_found",
  "webhook.invalid_url",
  "worker.unreachable",
  "worker.name_taken",
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class SwitchyardError extends Error {
  override name = "SwitchyardError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, client-safe detail (for example zod issues). */
    readonly details?: unknown,
    /** When the same request may succeed (a limit's window ending): the edge's Retry-After. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const notFound = (what: "target" | "job" | "worker" | "tenant" | "webhook", id?: string) =>
  new SwitchyardError(`${what}.not_found`, `${what[0]?.toUpperCase()}${what.slice(1)} not found${id ? `: ${id}` : ""}`);

/** Normalises anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err), { cause: err });
}
