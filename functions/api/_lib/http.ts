// The HTTP edge every API handler goes through: auth, body rules, validation, error mapping.
// Handlers stay thin: parse → one core call → reply.
import middy from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import httpJsonBodyParser from "@middy/http-json-body-parser";
import { annotate, log, SwitchyardError, Tenants, traced } from "@switchyard/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type * as z from "zod/mini";
import { type Deps, deps } from "./deps.ts";
import { outageOf, statusFor } from "./errors.ts";
import { consumeRequest } from "./rate-limit.ts";

/** Larger bodies are refused before parsing (API Gateway's own limit is 10 MiB). */
export const MAX_BODY_BYTES = 256 * 1024;

type Schema = z.ZodMiniType;
type Out<S> = S extends z.ZodMiniType ? z.output<S> : undefined;

export interface Request<P, Q, B, H = undefined> {
  path: P;
  query: Q;
  body: B;
  /** The request headers the route declares (names in lower case). */
  headers: H;
  /** The caller's tenant (tenant routes) or "" (admin and public routes). */
  tenantId: string;
  deps: Deps;
  event: APIGatewayProxyEventV2;
}

export interface Reply {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function route<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
  H extends Schema | undefined = undefined,
>(
  spec: {
    auth: "tenant" | "admin" | "none";
    path?: P;
    query?: Q;
    body?: B;
    headers?: H;
    /** Takes any body unread (the not-found route), instead of refusing one where none is declared. */
    anyBody?: boolean;
  },
  fn: (req: Request<Out<P>, Out<Q>, Out<B>, Out<H>>) => Promise<Reply | object>,
) {
  const base = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().use(httpHeaderNormalizer());
  const withBody = spec.body
    ? base.use(bodyRules()).use(httpJsonBodyParser({ disableContentTypeError: false }))
    : spec.anyBody
      ? base
      : base.use(noBody());
  const handler = withBody.use(errorReply()).handler(async (event) => {
    // Public routes (the OpenAPI document, the pages) need no settings and no database.
    const tenantId = spec.auth === "none" ? "" : await authenticate(spec.auth, event, deps());
    const req = {
      path: parse(spec.path, event.pathParameters ?? {}, "path"),
      query: parse(spec.query, event.queryStringParameters ?? {}, "query"),
      body: parse(spec.body, (event as { body?: unknown }).body, "body"),
      headers: parse(spec.headers, event.headers, "headers"),
      tenantId,
      get deps() {
        return deps();
      },
      event,
    } as Request<Out<P>, Out<Q>, Out<B>, Out<H>>;
    const out = await fn(req);
    const reply: Reply = isReply(out) ? out : { body: out };
    return json(reply.status ?? 200, reply.body, reply.headers);
  });
  return observed(handler);
}

/**
 * Runs a request with its ids in scope (every line and metric it causes carries them) and logs
 * one line when it is answered. Path ids are logged as sent: they are checked later, if at all.
 */
export function observed(handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<ApiResult>) {
  return (event: APIGatewayProxyEventV2, context: Context): Promise<ApiResult> => {
    const ids = {
      role: "api",
      request_id: event.requestContext?.requestId,
      aws_request_id: context?.awsRequestId,
      target_id: event.pathParameters?.target_id,
      job_id: event.pathParameters?.job_id,
    };
    return traced(ids, async () => {
      const started = performance.now();
      const answer = await handler(event, context);
      // Debug: API Gateway's access log has every request; info lines are the job's own events.
      log.debug("request answered", {
        method: event.requestContext?.http?.method,
        route: event.routeKey,
        status: answer.statusCode,
        duration_ms: Math.round(performance.now() - started),
      });
      return answer;
    });
  };
}

type ApiResult = APIGatewayProxyStructuredResultV2;

function isReply(x: object): x is Reply {
  return "body" in x && Object.keys(x).every((k) => k === "body" || k === "status" || k === "headers");
}

export async function authenticate(auth: "tenant" | "admin" | "none", event: APIGatewayProxyEventV2, d: Deps) {
  if (auth === "none") return "";
  if (auth === "admin") {
    Tenants.authenticateAdmin(process.env.SWITCHYARD_ADMIN_KEY, event.headers["x-admin-key"]);
    return "";
  }
  const key = event.headers["x-api-key"] ?? event.queryStringParameters?.api_key;
  const tenantId = await Tenants.authenticate(d.db, key);
  annotate({ tenant_id: tenantId });
  await consumeRequest(tenantId);
  return tenantId;
}

/** Postgres stores neither NUL in text and jsonb nor unpaired UTF-16 surrogates in jsonb. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what must be found.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the same characters, masked in messages.
const SHOWN_AS_REPLACEMENT = /[\u0000\uD800-\uDFFF]/g;

function findUnstorable(value: unknown, loc: string[]): string[] | undefined {
  if (typeof value === "string") return UNSTORABLE.test(value) ? loc : undefined;
  if (value === null || typeof value !== "object") return undefined;
  for (const [k, v] of Object.entries(value)) {
    if (UNSTORABLE.test(k)) return [...loc, k];
    const found = findUnstorable(v, [...loc, k]);
    if (found) return found;
  }
  return undefined;
}

export function parse(schema: Schema | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const bad = findUnstorable(value, [where]);
  if (bad) {
    throw new SwitchyardError(
      "request.invalid",
      `${bad.join(".").replace(SHOWN_AS_REPLACEMENT, "\uFFFD")}: contains a NUL character or an unpaired surrogate, which cannot be stored`,
    );
  }
  const input =
    where === "query" && value && typeof value === "object"
      ? Object.fromEntries(Object.entries(value).filter(([k]) => k !== "api_key"))
      : value;
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ loc: [where, ...i.path.map(String)], msg: i.message }));
  const first = issues[0];
  throw new SwitchyardError(
    "request.invalid",
    first ? `${first.loc.join(".")}: ${first.msg}` : `invalid ${where}`,
    issues,
  );
}

function bodyBytes(event: APIGatewayProxyEventV2): number {
  if (!event.body) return 0;
  return event.isBase64Encoded ? Buffer.byteLength(event.body, "base64") : Buffer.byteLength(event.body);
}

function bodyRules(): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  return {
    before: ({ event }) => {
      if (bodyBytes(event) > MAX_BODY_BYTES) {
        throw new SwitchyardError("request.too_large", `Request body exceeds ${MAX_BODY_BYTES} bytes`);
      }
      const type = event.headers["content-type"] ?? "";
      if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
        throw new SwitchyardError(
          "request.unsupported_media_type",
          "Request body must be JSON (Content-Type: application/json)",
        );
      }
      if (!event.body) throw new SwitchyardError("request.invalid", "body: a JSON object is required");
    },
  };
}

function noBody(): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  return {
    before: ({ event }) => {
      if (bodyBytes(event) > 0) {
        throw new SwitchyardError("request.unsupported_media_type", "This route takes no request body");
      }
    },
  };
}

function errorReply(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: (request) => {
      request.response = errorAnswer(request.error);
    },
  };
}

/** The answer to an error thrown at the edge: its code's status in the error shape, 503 for an outage, 500 for a bug. */
export function errorAnswer(error: unknown) {
  const err = error as (Error & { statusCode?: number }) | null;
  if (err instanceof SwitchyardError) {
    const retry = err.retryAfterSeconds === undefined ? undefined : { "retry-after": String(err.retryAfterSeconds) };
    return json(
      statusFor(err.code),
      { detail: err.message, code: err.code, ...(err.details === undefined ? {} : { errors: err.details }) },
      retry,
    );
  }
  // middy's JSON parser: 415 for a wrong type, 422 for JSON that does not parse.
  if (err?.statusCode === 415) {
    return json(415, { detail: "Request body must be JSON", code: "request.unsupported_media_type" });
  }
  if (err?.statusCode === 422) {
    // The parser also refuses valid JSON that nests too deep or uses __proto__-like keys.
    return json(400, {
      detail: "Request body is not valid JSON, nests too deep, or uses a reserved key (__proto__, constructor)",
      code: "request.malformed_json",
    });
  }
  // An outage answers 503 with Retry-After: the request wrote nothing (every change is one
  // statement or one transaction), so the client may simply send it again.
  const outage = outageOf(err);
  if (outage) {
    log.warn("answered 503: a dependency is unreachable", { code: outage.code, reason: err?.message });
    return json(503, { detail: outage.detail, code: outage.code }, { "retry-after": String(outage.retryAfterSeconds) });
  }
  // Anything else is a bug: log it, answer without internals.
  log.error("unhandled error", err);
  return json(500, { detail: "Internal Server Error", code: "internal" });
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  return {
    statusCode,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}
