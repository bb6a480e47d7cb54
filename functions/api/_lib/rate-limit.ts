// Per-tenant request limits, shared by every API function through Postgres (rate-limiter-flexible's
// Postgres store: one upsert per request in the tenant's row). SWITCHYARD_RATE_LIMIT is
// "<requests>/<seconds>" per tenant (default 1200/60), or "off". A tenant over its limit is answered
// 429 tenant.rate_limited with Retry-After; other tenants are not affected.
import { SwitchyardError } from "@switchyard/core";
import { rateLimits, sharedDatabase } from "@switchyard/db";
import { getTableName } from "drizzle-orm";
// By path (rate-limiter-flexible.d.ts says why).
import RateLimiterPostgres from "rate-limiter-flexible/lib/RateLimiterPostgres.js";
import RateLimiterRes from "rate-limiter-flexible/lib/RateLimiterRes.js";

export interface RateLimit {
  requests: number;
  seconds: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { requests: 1200, seconds: 60 };

/** Parses SWITCHYARD_RATE_LIMIT; undefined when limits are off. */
export function rateLimitFromEnv(raw = process.env.SWITCHYARD_RATE_LIMIT): RateLimit | undefined {
  if (raw === undefined || raw === "") return DEFAULT_RATE_LIMIT;
  if (raw === "off") return undefined;
  const m = /^(\d{1,9})\/(\d{1,6})$/.exec(raw);
  const requests = Number(m?.[1]);
  const seconds = Number(m?.[2]);
  if (!m || requests < 1 || seconds < 1) {
    throw new Error(
      `SWITCHYARD_RATE_LIMIT must be "<requests>/<seconds>" (both at least 1) or "off", not ${JSON.stringify(raw)}`,
    );
  }
  return { requests, seconds };
}

let limiter: { limit: RateLimit; store: InstanceType<typeof RateLimiterPostgres> } | null | undefined;

function store() {
  if (limiter !== undefined) return limiter;
  const limit = rateLimitFromEnv();
  limiter = limit
    ? {
        limit,
        store: new RateLimiterPostgres({
          storeClient: sharedDatabase().pool,
          storeType: "pool",
          tableName: getTableName(rateLimits),
          // Rows are keyed "tenant:<tenant id>".
          keyPrefix: "tenant",
          // The table is a migration's (packages/db); one row per tenant, so nothing to clean up.
          tableCreated: true,
          clearExpiredByTimeout: false,
          points: limit.requests,
          duration: limit.seconds,
        }),
      }
    : null;
  return limiter;
}

/** A tenant over its limit: 429 with Retry-After (whole seconds until its window ends). */
const rateLimited = (limit: RateLimit, retryAfterSeconds: number) =>
  new SwitchyardError(
    "tenant.rate_limited",
    `Rate limit of ${limit.requests} requests per ${limit.seconds} s exceeded; retry after ${retryAfterSeconds} s`,
    undefined,
    retryAfterSeconds,
  );

/** Counts one request of the tenant; throws tenant.rate_limited when it is over its limit. */
export async function consumeRequest(tenantId: string): Promise<void> {
  const l = store();
  if (!l) return;
  try {
    await l.store.consume(tenantId);
  } catch (err) {
    // The library rejects with its result when the limit is reached, and with the error otherwise
    // (Postgres down: an outage, answered 503 by the edge).
    if (err instanceof RateLimiterRes) throw rateLimited(l.limit, Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
    throw err;
  }
}
