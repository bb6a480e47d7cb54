// Each process checks all of its settings at start-up and names every missing or bad variable in
// one error, without repeating a secret's value.
import { ConfigError, loadConfig } from "@switchyard/core";
import { relayConfig } from "@switchyard/relay";
import { describe, expect, it } from "vitest";
import { apiEnv } from "../../functions/api/_lib/settings.ts";
import { workerEnv } from "../../functions/worker/settings.ts";

const good = {
  DATABASE_URL: "postgres://127.0.0.1:5432/switchyard",
  HATCHET_CLIENT_TOKEN: "a.b.c",
  WEBHOOK_SIGNING_SECRET: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0",
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("no ConfigError");
}

describe("settings", () => {
  it("reads a valid relay environment, with the relay's defaults", () => {
    const c = relayConfig(good);
    expect(c).toMatchObject({ databaseUrl: good.DATABASE_URL, poolMax: 10, webhookPolicy: { allowLocal: false } });
    expect(c.settings).toMatchObject({ token: "a.b.c", grpcCompression: "none" });
    expect(c.timing.attemptLeaseMs).toBeGreaterThan(0);
  });

  it("lists every bad variable of the relay in one error", () => {
    const problems = problemsOf(() =>
      relayConfig({
        DATABASE_POOL_MAX: "abc",
        HATCHET_CLIENT_TLS_STRATEGY: "ssl",
        SWITCHYARD_TIMING: "{",
        SWITCHYARD_WEBHOOKS_ALLOW_LOCAL: "yes",
        POWERTOOLS_LOG_LEVEL: "loud",
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^DATABASE_URL is not set/),
      'DATABASE_POOL_MAX must be a whole number of at least 1, not "abc"',
      expect.stringMatching(/^HATCHET_CLIENT_TOKEN is not set/),
      'HATCHET_CLIENT_TLS_STRATEGY must be tls, mtls, none, not "ssl"',
      "SWITCHYARD_TIMING must be a JSON object of millisecond values",
      'SWITCHYARD_WEBHOOKS_ALLOW_LOCAL must be 0, 1, not "yes"',
      expect.stringMatching(/^POWERTOOLS_LOG_LEVEL must be one of .*, not "loud"$/),
    ]);
  });

  it.each(["0", "-1", "1.5", "1e3", " 2", "NaN"])("refuses DATABASE_POOL_MAX=%j", (value) => {
    expect(problemsOf(() => relayConfig({ ...good, DATABASE_POOL_MAX: value }))).toEqual([
      `DATABASE_POOL_MAX must be a whole number of at least 1, not ${JSON.stringify(value)}`,
    ]);
  });

  it("names the API's own variables, and never repeats the admin key", () => {
    const short = "sya_tooshort";
    let message = "";
    const problems = problemsOf(() => {
      try {
        loadConfig("API", apiEnv, {
          ...good,
          SWITCHYARD_ADMIN_KEY: short,
          SWITCHYARD_RATE_LIMIT: "fast",
          SWITCHYARD_LOG_STREAM_URL: "not a url",
          SWITCHYARD_DELIVERY: "carrier-pigeon",
        });
      } catch (err) {
        message = (err as Error).message;
        throw err;
      }
    });
    expect(problems).toEqual([
      'SWITCHYARD_DELIVERY must be direct, relay, not "carrier-pigeon"',
      "SWITCHYARD_ADMIN_KEY must be at least 16 characters long",
      expect.stringMatching(/^SWITCHYARD_RATE_LIMIT must be/),
      'SWITCHYARD_LOG_STREAM_URL must be a URL, not "not a url"',
    ]);
    expect(message).toMatch(/^switchyard's API cannot start; fix these settings:\n {2}- /);
    expect(message).not.toContain(short);
  });

  it("asks the worker for Hatchet's token in direct mode only", () => {
    const { HATCHET_CLIENT_TOKEN: _token, ...noToken } = good;
    expect(() => loadConfig("worker", workerEnv("relay"), noToken)).not.toThrow();
    expect(problemsOf(() => loadConfig("worker", workerEnv("direct"), noToken))).toEqual([
      expect.stringMatching(/^HATCHET_CLIENT_TOKEN is not set/),
    ]);
    const { WEBHOOK_SIGNING_SECRET: _secret, ...noSecret } = good;
    expect(problemsOf(() => loadConfig("worker", workerEnv("relay"), noSecret))).toEqual([
      expect.stringMatching(/^WEBHOOK_SIGNING_SECRET is not set/),
    ]);
  });
});
