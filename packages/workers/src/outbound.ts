// Calls to URLs tenants choose (completion webhooks) must not reach switchyard's own network: no
// loopback, private, link-local (the cloud metadata address), CGNAT, documentation or multicast
// addresses, and https only, unless a local run allows them. The address is checked when the
// connection is made (the request's `lookup`), so a name that resolves to a public address at
// registration and a private one later (DNS rebinding) is refused too. Node's own BlockList and
// dns are enough here; libraries that do this wrap the same two calls.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP } from "node:net";
import { loadConfig, oneOf } from "@switchyard/core";

const blocked = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(network, prefix, "ipv6");
}

/** Whether an IP address is one a webhook may reach (IPv4-mapped IPv6 is judged as IPv4). */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return isPublicAddress(mapped);
  const family = isIP(address);
  if (family === 0) return false;
  return !blocked.check(address, family === 4 ? "ipv4" : "ipv6");
}

export interface OutboundPolicy {
  /** Local runs (npm run dev, tests): http and local addresses are allowed. */
  allowLocal: boolean;
}

/** SWITCHYARD_WEBHOOKS_ALLOW_LOCAL in a process's settings: 1 (npm run dev and the tests) or 0. */
export const outboundEnv = {
  SWITCHYARD_WEBHOOKS_ALLOW_LOCAL: oneOf("SWITCHYARD_WEBHOOKS_ALLOW_LOCAL", ["0", "1"], "0"),
};

/** The policy of this process: SWITCHYARD_WEBHOOKS_ALLOW_LOCAL=1 allows local addresses. */
export function outboundPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): OutboundPolicy {
  return { allowLocal: loadConfig("webhooks", outboundEnv, env).SWITCHYARD_WEBHOOKS_ALLOW_LOCAL === "1" };
}

/** The URL's host without the brackets of an IPv6 literal. */
const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, "");

/** Checks a webhook URL's form; the reason is safe to show. */
export function checkWebhookUrl(
  raw: string,
  policy: OutboundPolicy,
): { ok: true; url: URL } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a URL" };
  }
  if (url.protocol !== "https:" && !(policy.allowLocal && url.protocol === "http:")) {
    return { ok: false, reason: "must be an https:// URL" };
  }
  if (url.username || url.password) return { ok: false, reason: "must not carry credentials" };
  const host = hostOf(url);
  if (!policy.allowLocal && isIP(host) !== 0 && !isPublicAddress(host)) {
    return { ok: false, reason: "points to a private, loopback or reserved address" };
  }
  if (!policy.allowLocal && (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal"))) {
    return { ok: false, reason: "points to a local host name" };
  }
  return { ok: true, url };
}

/** Resolves the URL's host now; refused when any of its addresses is not public. */
export async function checkWebhookHost(url: URL, policy: OutboundPolicy): Promise<string | undefined> {
  if (policy.allowLocal) return undefined;
  const host = hostOf(url);
  const addresses = await new Promise<LookupAddress[]>((resolve) =>
    dnsLookup(host, { all: true }, (err, found) => resolve(err ? [] : found)),
  );
  if (addresses.length === 0) return "its host name does not resolve";
  if (addresses.some((a) => !isPublicAddress(a.address))) return "its host resolves to a private or reserved address";
  return undefined;
}

/** A `lookup` for http(s).request that refuses non-public addresses when the connection is made. */
function publicOnlyLookup(
  hostname: string,
  options: object,
  callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
) {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) return callback(new Error(`refused to connect to ${refused.address}: not a public address`), []);
    const all = (options as { all?: boolean }).all;
    const first = addresses[0];
    if (all) return callback(null, addresses);
    return callback(null, first?.address ?? "", first?.family);
  });
}

export interface PostResult {
  /** The answer's status, or 0 when none came (refused, reset, timed out). */
  status: number;
  /** A short excerpt of the answer or the transport error. */
  detail: string;
}

/** POSTs `body` as JSON and reads the answer; never throws, never follows redirects. */
export function postJson(
  url: URL,
  body: string,
  headers: Record<string, string>,
  opts: OutboundPolicy & { timeoutMs: number },
): Promise<PostResult> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers },
        timeout: opts.timeoutMs,
        ...(opts.allowLocal ? {} : { lookup: publicOnlyLookup }),
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (text.length < 1000) text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, detail: text.slice(0, 300) }));
        res.on("error", (err) => resolve({ status: 0, detail: err.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on("error", (err) => resolve({ status: 0, detail: err.message }));
    req.end(body);
  });
}
