// Signing of relay → worker requests with Standard Webhooks headers (webhook-id, webhook-timestamp,
// webhook-signature = v1,base64(HMAC-SHA256(key, `${id}.${timestamp}.${rawBody}`))).
//
// Why the library rather than our own HMAC code: Standard Webhooks is a published spec and
// `standardwebhooks` is its reference implementation, so other senders and receivers interoperate
// with us, and the signature comparison is constant-time inside it. It enforces a 5-minute
// timestamp tolerance in both directions.
//
// Replay protection is NOT done here: the library keeps no store. The caller accepts each
// delivery id once (a unique-keyed row in Postgres), inside the 5-minute window checked here.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

const PREFIX = "whsec_";
const MIN_KEY_BYTES = 24;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export type VerifyResult = { ok: true; id: string; timestamp: number } | { ok: false; reason: string };

/** A new secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString("base64");
}

/** Throws unless `secret` is `whsec_<canonical base64>` of at least 24 bytes. The message never contains the secret. */
export function assertSecret(secret: string): void {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : "";
  const key = BASE64.test(encoded) ? Buffer.from(encoded, "base64") : undefined;
  // Round-tripping rejects base64 that Node would decode leniently but the library might not.
  if (!key || key.byteLength < MIN_KEY_BYTES || key.toString("base64") !== encoded) {
    throw new Error(`webhook secret must look like ${PREFIX}<base64>, at least ${MIN_KEY_BYTES} bytes`);
  }
}

/** The three Standard Webhooks headers for `body` (the exact bytes that will be sent). */
export function signRequest(
  secret: string,
  body: string,
  opts: { id?: string; now?: Date } = {},
): Record<string, string> {
  assertSecret(secret);
  const id = opts.id ?? `dlv_${randomUUID()}`;
  const now = opts.now ?? new Date();
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, now, body),
  };
}

/**
 * Checks the signature and the timestamp of a request against the raw body. Never throws; the
 * reasons are short and safe to log (they contain neither the secret nor the signature).
 * Header names are matched case-insensitively.
 */
export function verifyRequest(secret: string, body: string, headers: Record<string, string | undefined>): VerifyResult {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) present[name.toLowerCase()] = value;
  }
  const id = present["webhook-id"];
  const timestamp = present["webhook-timestamp"];
  const signature = present["webhook-signature"];
  if (!id) return { ok: false, reason: "missing webhook-id header" };
  if (!timestamp) return { ok: false, reason: "missing webhook-timestamp header" };
  if (!signature) return { ok: false, reason: "missing webhook-signature header" };
  // The library parses with parseInt, which would accept "123abc".
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "malformed webhook-timestamp header" };

  try {
    assertSecret(secret);
  } catch {
    return { ok: false, reason: "webhook secret is misconfigured" };
  }
  try {
    // jsonParse off: the body is checked as bytes here; parsing is the caller's business.
    new Webhook(secret).verify(body, present, { jsonParse: false });
  } catch (err) {
    return { ok: false, reason: reasonFor(err) };
  }
  return { ok: true, id, timestamp: Number(timestamp) };
}

function reasonFor(err: unknown): string {
  if (!(err instanceof WebhookVerificationError)) return "signature verification failed";
  switch (err.message) {
    case "No matching signature found":
      return "signature mismatch";
    case "Message timestamp too old":
      return "timestamp too old (more than 5 minutes)";
    case "Message timestamp too new":
      return "timestamp too far in the future (more than 5 minutes)";
    default:
      return "signature verification failed";
  }
}

// The engine's HTTP operator signs its calls differently: `X-Hatchet-Signature` is the lowercase
// hex HMAC-SHA256 of the raw body, keyed with the secret's UTF-8 bytes, with no timestamp or id
// (engine v0.105.0). Replays are made harmless by the receiver: one attempt per (run, retry).
// Node's crypto is the whole implementation; the comparison is constant-time.

/** The `X-Hatchet-Signature` value for `body`. */
export function hatchetSignature(secret: string, body: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(body, "utf8").digest("hex");
}

/** Checks the operator's signature over the raw body; never throws, reasons are safe to log. */
export function verifyHatchetSignature(
  secret: string,
  body: string,
  headers: Record<string, string | undefined>,
): { ok: true } | { ok: false; reason: string } {
  const given = Object.entries(headers).find(([name]) => name.toLowerCase() === "x-hatchet-signature")?.[1];
  if (!given) return { ok: false, reason: "missing x-hatchet-signature header" };
  if (!/^[0-9a-f]{64}$/.test(given)) return { ok: false, reason: "malformed x-hatchet-signature header" };
  if (!secret) return { ok: false, reason: "webhook secret is misconfigured" };
  const expected = Buffer.from(hatchetSignature(secret, body), "hex");
  return timingSafeEqual(expected, Buffer.from(given, "hex"))
    ? { ok: true }
    : { ok: false, reason: "signature mismatch" };
}
