// Makes one HTTP request and returns the answer. Every exchange is recorded (with secrets
// redacted) so a job's HTTP traffic can be inspected afterwards.

import { defineJobType, type HttpExchangeRecord, JobFailure } from "@switchyard/core/job-type";
import { z } from "zod";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] as const;
const MAX_TIMEOUT_MS = 300_000;
const RESULT_BODY_LIMIT = 1024 * 1024;
const RECORDED_BODY_LIMIT = 64 * 1024;
const REDACTED = "[redacted]";

// RFC 9110 token; fetch throws on anything else, which would otherwise look like a network error.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;

const parameters = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: "url must be an http:// or https:// URL" })
      // Repeated as a pattern: refinements and the protocol option don't reach the published JSON Schema.
      .regex(/^https?:\/\//, "url must be an http:// or https:// URL")
      .refine((u) => {
        // Checks run on after a failed url check; that failure is already reported.
        if (!URL.canParse(u)) return true;
        const parsed = new URL(u);
        return parsed.username === "" && parsed.password === "";
      }, "credentials in the URL are not supported; send an authorization header instead"),
    method: z.enum(METHODS).default("GET"),
    headers: z
      .record(
        z.string().regex(HEADER_NAME, "invalid header name"),
        z.string().regex(HEADER_VALUE, "header values cannot contain line breaks"),
      )
      .default({}),
    body: z.string().optional(),
    timeout_ms: z.number().int().min(1).max(MAX_TIMEOUT_MS).optional(),
  })
  .refine((p) => p.body === undefined || (p.method !== "GET" && p.method !== "HEAD"), {
    message: "GET and HEAD requests cannot have a body",
    path: ["body"],
  });

export const httpRequest = defineJobType({
  name: "http-request",
  description:
    "Sends one HTTP request and returns { status, headers, body }. 5xx answers and network errors fail the attempt " +
    "(retryable); 4xx answers are results.",
  parameters,
  defaults: { timeoutSeconds: 300, retries: 2 },
  async run({ url, method, headers, body, timeout_ms }, ctx) {
    ctx.signal.throwIfAborted();
    const timeoutMs = timeout_ms ?? MAX_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    const request: HttpExchangeRecord["request"] = {
      method,
      url: redactUrl(url),
      headers: redactHeaders(headers),
      ...(body !== undefined && { body: truncateForRecord(body) }),
    };
    const where = `${method} ${shortUrl(url)}`;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);

    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method, headers, body, signal });
      text = await readBody(response, RESULT_BODY_LIMIT);
    } catch (err) {
      const error = ctx.signal.aborted
        ? "aborted"
        : timeout.aborted
          ? `timed out after ${timeoutMs} ms`
          : describeError(err);
      await ctx.recordHttpExchange({ request, error, durationMs: elapsed() });
      // Cancellation is not a failure of the request: hand the job runner its own reason back.
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw new JobFailure(`${where}: ${error}`, true);
    }

    const responseHeaders = Object.fromEntries(response.headers.entries());
    await ctx.recordHttpExchange({
      request,
      response: { status: response.status, headers: redactHeaders(responseHeaders), body: truncateForRecord(text) },
      durationMs: elapsed(),
    });
    if (response.status >= 500) {
      throw new JobFailure(`${where}: server answered ${response.status}`, true);
    }
    return { status: response.status, headers: responseHeaders, body: text };
  },
});

const SENSITIVE_NAMES = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"]);
const SENSITIVE_QUERY_NAMES = new Set(["api_key", "apikey", "key", "password", "sig", "signature"]);

function isSensitiveHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE_NAMES.has(lower) || lower.includes("token") || lower.includes("secret");
}

function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, isSensitiveHeader(name) ? REDACTED : value]),
  );
}

/** Query strings carry credentials too (`?access_token=`); the recorded URL hides those values. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  let changed = false;
  for (const name of new Set(parsed.searchParams.keys())) {
    if (isSensitiveHeader(name) || SENSITIVE_QUERY_NAMES.has(name.toLowerCase())) {
      parsed.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? parsed.toString() : url;
}

/** Origin and path only: failure messages end up in logs, query strings may hold secrets. */
function shortUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** Reads at most `limit` bytes of the body and stops the download there. */
async function readBody(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return utf8Prefix(Buffer.concat(chunks), limit);
}

function truncateForRecord(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.byteLength <= RECORDED_BODY_LIMIT) return text;
  return `${utf8Prefix(bytes, RECORDED_BODY_LIMIT)}\n[truncated at ${RECORDED_BODY_LIMIT} bytes]`;
}

/** The longest prefix of at most `limit` bytes that does not split a UTF-8 character. */
function utf8Prefix(bytes: Buffer, limit: number): string {
  if (bytes.byteLength <= limit) return bytes.toString("utf8");
  let end = limit;
  // Step back over continuation bytes (10xxxxxx) to the start of the character being cut.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}

/** fetch reports "fetch failed" and hides the useful part (ECONNREFUSED, ENOTFOUND…) in `cause`. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  if (typeof cause === "object" && cause !== null) {
    if ("code" in cause && typeof cause.code === "string") return `${err.message} (${cause.code})`;
    if (cause instanceof Error) return `${err.message} (${cause.message})`;
  }
  return err.message;
}
