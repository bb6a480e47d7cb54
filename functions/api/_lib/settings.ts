// The API functions' settings: one schema, checked on a function's first request (a route like
// openapi.json may load without them, but a deployment sets them all), so a misconfigured
// deployment answers with one logged error that lists every missing or bad variable.
import { type Config, databaseEnv, loadConfig, logEnv, setting, timingEnv } from "@switchyard/core";
import { deliveryEnv, hatchetEnv } from "@switchyard/hatchet";
import { outboundEnv } from "@switchyard/workers";
import { rateLimitFromEnv } from "./rate-limit.ts";

/** Long enough that guessing it is hopeless (the generated ones have 36 characters). */
const ADMIN_KEY_MIN = 16;

export const apiEnv = {
  ...databaseEnv(1),
  ...hatchetEnv,
  ...deliveryEnv,
  ...timingEnv,
  ...outboundEnv,
  ...logEnv,
  /** Unset: the admin routes are off. */
  SWITCHYARD_ADMIN_KEY: setting((raw) => {
    if (raw !== undefined && raw.length < ADMIN_KEY_MIN) {
      throw new Error(`SWITCHYARD_ADMIN_KEY must be at least ${ADMIN_KEY_MIN} characters long`);
    }
    return raw;
  }),
  SWITCHYARD_RATE_LIMIT: setting(rateLimitFromEnv),
  SWITCHYARD_LOG_STREAM_URL: setting((raw) => {
    if (raw !== undefined && !URL.canParse(raw)) {
      throw new Error(`SWITCHYARD_LOG_STREAM_URL must be a URL, not ${JSON.stringify(raw)}`);
    }
    return raw;
  }),
};

let settings: Config<typeof apiEnv> | undefined;

/** The API's settings, read and checked once per process; throws a ConfigError listing every problem. */
export function apiSettings(): Config<typeof apiEnv> {
  settings ??= loadConfig("API", apiEnv);
  return settings;
}
