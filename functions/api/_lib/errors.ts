import type { ErrorCode } from "@switchyard/core";

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
      return 422;
    case "tenant.not_found":
    case "target.not_found":
    case "job.not_found":
    case "worker.not_found":
      return 404;
    case "tenant.name_taken":
    case "worker.name_taken":
    case "target.busy":
    case "target.archived":
    case "job.illegal_transition":
      return 409;
  }
}
