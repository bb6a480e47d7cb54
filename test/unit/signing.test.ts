import { describe, expect, it } from "vitest";
import { assertSecret, generateSecret, signRequest, verifyRequest } from "../../packages/workers/src/signing.ts";

const secret = generateSecret();
const body = JSON.stringify({ delivery: "dlv_1", job: { id: "job_1", type: "echo" } });

describe("generateSecret / assertSecret", () => {
  it("generates whsec_ + base64 of 32 bytes, all different", () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice("whsec_".length), "base64")).toHaveLength(32);
    expect(generateSecret()).not.toBe(a);
    expect(() => assertSecret(a)).not.toThrow();
  });

  it("rejects bad secrets without echoing them", () => {
    const short = `whsec_${Buffer.alloc(16, 7).toString("base64")}`;
    const unprefixed = Buffer.alloc(32, 7).toString("base64");
    for (const bad of ["", "whsec_", short, unprefixed, "whsec_not base64!!", `${secret}x`]) {
      expect(() => assertSecret(bad)).toThrow("webhook secret must look like whsec_<base64>, at least 24 bytes");
    }
  });

  it("signRequest refuses a bad secret", () => {
    expect(() => signRequest("hunter2", body)).toThrow(/whsec_/);
  });
});

describe("signRequest / verifyRequest", () => {
  it("signs with the three Standard Webhooks headers and a dlv_ id", () => {
    const headers = signRequest(secret, body);
    expect(Object.keys(headers).sort()).toEqual(["webhook-id", "webhook-signature", "webhook-timestamp"]);
    expect(headers["webhook-id"]).toMatch(/^dlv_[0-9a-f-]{36}$/);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(Number(headers["webhook-timestamp"])).toBeCloseTo(Date.now() / 1000, -1);
  });

  it("verifies a valid request and returns id and timestamp", () => {
    const now = new Date();
    const headers = signRequest(secret, body, { id: "dlv_fixed", now });
    expect(verifyRequest(secret, body, headers)).toEqual({
      ok: true,
      id: "dlv_fixed",
      timestamp: Math.floor(now.getTime() / 1000),
    });
  });

  it("accepts header names in any case and bodies that are not JSON", () => {
    const raw = "not json at all";
    const h = signRequest(secret, raw);
    const upper = {
      "Webhook-Id": h["webhook-id"],
      "Webhook-Timestamp": h["webhook-timestamp"],
      "Webhook-Signature": h["webhook-signature"],
    };
    expect(verifyRequest(secret, raw, upper)).toMatchObject({ ok: true });
  });

  it("accepts a signature list that contains a valid entry (key rotation)", () => {
    const h = signRequest(secret, body);
    const old = signRequest(generateSecret(), body, { id: h["webhook-id"] });
    const both = { ...h, "webhook-signature": `${old["webhook-signature"]} ${h["webhook-signature"]}` };
    expect(verifyRequest(secret, body, both)).toMatchObject({ ok: true });
  });

  const failures: [string, () => ReturnType<typeof verifyRequest>, RegExp][] = [
    ["tampered body", () => verifyRequest(secret, `${body} `, signRequest(secret, body)), /signature mismatch/],
    ["wrong secret", () => verifyRequest(generateSecret(), body, signRequest(secret, body)), /signature mismatch/],
    [
      "stale timestamp",
      () => verifyRequest(secret, body, signRequest(secret, body, { now: new Date(Date.now() - 301_000) })),
      /too old/,
    ],
    [
      "future timestamp",
      () => verifyRequest(secret, body, signRequest(secret, body, { now: new Date(Date.now() + 301_000) })),
      /future/,
    ],
    [
      "tampered id",
      () => verifyRequest(secret, body, { ...signRequest(secret, body), "webhook-id": "dlv_other" }),
      /signature mismatch/,
    ],
    [
      "missing webhook-id",
      () => verifyRequest(secret, body, { ...signRequest(secret, body), "webhook-id": undefined }),
      /missing webhook-id/,
    ],
    [
      "missing webhook-timestamp",
      () => verifyRequest(secret, body, { ...signRequest(secret, body), "webhook-timestamp": undefined }),
      /missing webhook-timestamp/,
    ],
    [
      "missing webhook-signature",
      () => verifyRequest(secret, body, { ...signRequest(secret, body), "webhook-signature": "" }),
      /missing webhook-signature/,
    ],
    ["no headers", () => verifyRequest(secret, body, {}), /missing/],
    [
      "malformed timestamp",
      () => verifyRequest(secret, body, { ...signRequest(secret, body), "webhook-timestamp": "12abc" }),
      /malformed/,
    ],
    ["misconfigured secret", () => verifyRequest("oops", body, signRequest(secret, body)), /misconfigured/],
  ];

  for (const [name, attempt, reason] of failures) {
    it(`fails with a reason on ${name}`, () => {
      const result = attempt();
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.reason).toMatch(reason);
    });
  }

  it("never puts the secret or the signature in a reason", () => {
    const signed = signRequest(secret, body);
    const signature = signed["webhook-signature"] ?? "";
    const key = secret.slice("whsec_".length);
    for (const [, attempt] of failures) {
      const result = attempt();
      if (result.ok) throw new Error("expected a failure");
      expect(result.reason).not.toContain(key);
      expect(result.reason).not.toContain(signature.slice(3));
      expect(result.reason.length).toBeLessThan(80);
    }
  });

  it("does not throw on hostile input", () => {
    expect(() =>
      verifyRequest(secret, body, { "webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "garbage" }),
    ).not.toThrow();
    expect(verifyRequest("", body, signRequest(secret, body))).toMatchObject({ ok: false });
  });
});
