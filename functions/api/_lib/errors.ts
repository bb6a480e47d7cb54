import type { ErrorCode } from "@switchyard/core";
import { HatchetRestError } from "@switchyard/hatchet";

/** The one place a core error code becomes an HTTP status. */
export function statusFor(code: ErrorCode): number {
  switch (code) {
    case "auth.missing_key":
    case "auth.invalid_key":
    case "auth.admin_required":
      return 401;
    case "request.malformed_json":
    case "job.unknown_type":
    case "job.invalid_parameters":
      return 400;
    case "request.too_large":
      return 413;
    case "request.unsupported_media_type":
      return 415;
    case "request.invalid":
    case "worker.unreachable":
    case "idempotency.key_reused":
    case "webhook.invalid_url":
      return 422;
    case "tenant.rate_limited":
      return 429;
    case "route.not_found":
    case "tenant.not_found":
    case "target.not_found":
    case "job.not_found":
    case "worker.not_found":
    case "webhook.not_found":
      return 404;
    case "tenant.name_taken":
    case "worker.name_taken":
    case "target.busy":
    case "target.archived":
    case "job.illegal_transition":
      return 409;
  }
}

/** An outage of something a route needs, answered 503 with Retry-After instead of 500. */
export interface Outage {
  code: "database.unavailable" | "orchestrator.unavailable";
  detail: string;
  retryAfterSeconds: number;
}

// Postgres error classes that mean "not now" rather than "wrong": connection exceptions (08),
// insufficient resources (53: too many connections), operator intervention (57: shutdown,
// starting up). Node's socket errors mean the same.
const PG_UNAVAILABLE = /^(08|53|57)/;
const SOCKET_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN"]);
const PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/** Whether `err` (or an error it wraps) is an outage of Postgres or of the orchestrator. */
export function outageOf(err: unknown): Outage | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof HatchetRestError && (e.status === 0 || e.status >= 500)) {
      return {
        code: "orchestrator.unavailable",
        detail: "Hatchet cannot be reached; try again shortly",
        retryAfterSeconds: 5,
      };
    }
    const code = (e as { code?: unknown }).code;
    const pgDown =
      (typeof code === "string" && (PG_UNAVAILABLE.test(code) || SOCKET_ERRORS.has(code))) ||
      PG_MESSAGES.test(e.message);
    if (pgDown) {
      return {
        code: "database.unavailable",
        detail: "The database cannot be reached; try again shortly",
        retryAfterSeconds: 5,
      };
    }
  }
  return undefined;
}
