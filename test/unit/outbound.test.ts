// Webhook URLs tenants choose must not reach switchyard's own network outside local runs.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { checkWebhookUrl, isPublicAddress, postJson } from "../../packages/workers/src/outbound.ts";

const deployed = { allowLocal: false };

describe("outbound webhook policy", () => {
  it.each([
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "192.0.2.10",
    "224.0.0.1",
    "::1",
    "fd00::1",
    "fe80::1",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
  ])("treats %s as not public", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])("treats %s as public", (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it.each([
    ["http://example.com/hook", "must be an https:// URL"],
    ["https://127.0.0.1/hook", "points to a private, loopback or reserved address"],
    ["https://[::1]/hook", "points to a private, loopback or reserved address"],
    ["https://169.254.169.254/latest/meta-data", "points to a private, loopback or reserved address"],
    ["https://localhost/hook", "points to a local host name"],
    ["https://metadata.google.internal/x", "points to a local host name"],
    ["https://u:p@example.com/hook", "must not carry credentials"],
    ["nope", "not a URL"],
  ])("refuses %s in a deployment: %s", (url, reason) => {
    expect(checkWebhookUrl(url, deployed)).toEqual({ ok: false, reason });
  });

  it("accepts https to a public name, and http to loopback in a local run", () => {
    expect(checkWebhookUrl("https://hooks.example.com/x", deployed).ok).toBe(true);
    expect(checkWebhookUrl("http://127.0.0.1:9999/x", { allowLocal: true }).ok).toBe(true);
  });

  it("refuses at connect time a name that resolves to a local address (no DNS rebinding)", async () => {
    const server = createServer((_, res) => res.end("reached"));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      const refused = await postJson(new URL(`http://localhost:${port}/`), "{}", {}, { ...deployed, timeoutMs: 2000 });
      expect(refused.status).toBe(0);
      expect(refused.detail).toMatch(/not a public address/);
      const allowed = await postJson(
        new URL(`http://localhost:${port}/`),
        "{}",
        {},
        { allowLocal: true, timeoutMs: 2000 },
      );
      expect(allowed).toEqual({ status: 200, detail: "reached" });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
