// docker-compose.yml and Hatchetfile (the Docker stack) against the native stack of `npm run dev`:
// the same engine version, ports, variable names, and the same values wherever a container has no
// reason to differ. Docker is not needed: both files are read as text.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findJobType } from "@switchyard/jobs";
import { relayConfig } from "@switchyard/relay";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DEFAULT_PORTS, engineEnv, HATCHET_TENANT_ID, HATCHET_VERSION } from "../../dev/hatchet.ts";
import { HATCHET_DATABASE } from "../../dev/stack.ts";

const root = join(import.meta.dirname, "..", "..");

type EnvValue = string | number | boolean | null;
interface PortLong {
  target: number | string;
  published?: number | string;
  host_ip?: string;
}
interface MountLong {
  source?: string;
  target: string;
}
interface Service {
  image?: string;
  command?: string | string[];
  environment?: Record<string, EnvValue> | string[];
  ports?: (string | number | PortLong)[];
  volumes?: (string | MountLong)[];
  profiles?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// Compose honours YAML merge keys (`<<:`), which YAML 1.2 parsers apply only when asked.
const compose = parse(readFileSync(join(root, "docker-compose.yml"), "utf8"), { merge: true }) as Compose;
const hatchetfile = readFileSync(join(root, "Hatchetfile"), "utf8");

/** engineEnv() as the native stack calls it; the arguments only fill values this test ignores. */
const native = engineEnv({
  databaseUrl: "postgresql://user:secret@127.0.0.1:5432/native_db",
  ports: DEFAULT_PORTS,
  staticDir: "/native/static",
});

/** Variables the hatchet service may set although engineEnv() does not: none so far. */
const CONTAINER_ONLY = new Set<string>([]);
/** engineEnv() variables compose leaves to the image, and why. */
const LEFT_TO_IMAGE: Record<string, string> = {
  LITE_STATIC_ASSET_DIR: "the image ships the real dashboard in a folder of its own and sets this itself",
};
/** Variables whose value differs in a container by design; each is checked on its own below. */
const CONTAINER_VALUES = new Set(["DATABASE_URL", "SERVER_URL", "SERVER_GRPC_BIND_ADDRESS"]);
/** The variables the engine cannot do without (or gets wrong defaults for) if compose drops them. */
const ESSENTIAL = [
  "DATABASE_URL",
  "SERVER_URL",
  "SERVER_PORT",
  "SERVER_GRPC_PORT",
  "SERVER_GRPC_BIND_ADDRESS",
  "SERVER_GRPC_BROADCAST_ADDRESS",
  "SERVER_GRPC_INSECURE",
  "SERVER_INTERNAL_CLIENT_INTERNAL_GRPC_BROADCAST_ADDRESS",
  "SERVER_AUTH_COOKIE_DOMAIN",
  "SERVER_AUTH_COOKIE_INSECURE",
  "SERVER_AUTH_SET_EMAIL_VERIFIED",
  "SERVER_MSGQUEUE_KIND",
  "SERVER_HEALTHCHECK_PORT",
  "LITE_FRONTEND_PORT",
  "LITE_RUNTIME_PORT",
];

function service(name: string): Service {
  const svc = compose.services[name];
  if (!svc) throw new Error(`docker-compose.yml has no service "${name}"`);
  return svc;
}

function envOf(name: string): Record<string, string> {
  const raw = service(name).environment ?? {};
  const entries = Array.isArray(raw)
    ? raw.map((line): [string, string] => {
        const eq = line.indexOf("=");
        return eq < 0 ? [line, ""] : [line.slice(0, eq), line.slice(eq + 1)];
      })
    : Object.entries(raw).map(([k, v]): [string, string] => [k, v === null ? "" : String(v)]);
  return Object.fromEntries(entries);
}

/** Hatchet reads booleans with strconv.ParseBool, so "t" and "true" are the same setting. */
function setting(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (["t", "true", "1"].includes(lower)) return "true";
  if (["f", "false", "0"].includes(lower)) return "false";
  return value;
}

interface Published {
  hostIp: string | undefined;
  published: number;
  target: number;
}

function portsOf(name: string): Published[] {
  return (service(name).ports ?? []).map((p) => {
    if (typeof p === "object") {
      return { hostIp: p.host_ip, published: Number(p.published ?? p.target), target: Number(p.target) };
    }
    // [HOST:]PUBLISHED:TARGET[/PROTOCOL]
    const parts = String(p)
      .replace(/\/\w+$/, "")
      .split(":");
    const target = Number(parts.pop());
    const published = parts.length > 0 ? Number(parts.pop()) : target;
    return { hostIp: parts.length > 0 ? parts.join(":") : undefined, published, target };
  });
}

function publishedFor(name: string, target: number): Published | undefined {
  return portsOf(name).find((p) => p.target === target);
}

function mountsOf(name: string): MountLong[] {
  return (service(name).volumes ?? []).map((v) => {
    if (typeof v === "object") return v;
    const [source = "", target = ""] = v.split(":");
    return { source, target };
  });
}

function argv(command: string | string[] | undefined): string[] {
  if (command === undefined) return [];
  return Array.isArray(command) ? command : command.trim().split(/\s+/);
}

function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

/**
 * Top-level blocks of a Caddyfile, keyed by their label: "" is the global options block, other
 * keys are site addresses. Comments are dropped first.
 */
function caddyBlocks(text: string): Map<string, string> {
  const src = text.replace(/(^|\s)#.*$/gm, "$1");
  const blocks = new Map<string, string>();
  let depth = 0;
  let labelStart = 0;
  let bodyStart = 0;
  let label = "";
  for (let i = 0; i < src.length; i++) {
    if (src[i] === "{") {
      if (depth === 0) {
        label = src.slice(labelStart, i).trim();
        bodyStart = i + 1;
      }
      depth++;
    } else if (src[i] === "}") {
      depth--;
      if (depth === 0) {
        blocks.set(label, src.slice(bodyStart, i));
        labelStart = i + 1;
      }
    }
  }
  if (depth !== 0) throw new Error("Hatchetfile has unbalanced braces");
  return blocks;
}

function upstreams(body: string): string[] {
  return [...body.matchAll(/^\s*reverse_proxy\s+([^\s{]+)/gm)].map((m) => m[1] ?? "");
}

function sitePort(address: string): number {
  const m = /:(\d+)$/.exec(address);
  if (!m) throw new Error(`Hatchetfile site "${address}" names no port`);
  return Number(m[1]);
}

const hatchetEnv = envOf("hatchet");
const grpcPort = Number(hatchetEnv.SERVER_GRPC_PORT);
const runtimePort = Number(hatchetEnv.LITE_RUNTIME_PORT);

describe("docker-compose.yml hatchet service", () => {
  it("runs the engine version the native stack builds", () => {
    const image = `ghcr.io/hatchet-dev/hatchet/hatchet-lite:${HATCHET_VERSION}`;
    expect(service("hatchet").image).toBe(image);
    expect(service("token").image).toBe(image);
  });

  it("publishes gRPC and the runtime (dashboard + /api) on the ports of DEFAULT_PORTS, loopback only", () => {
    expect(publishedFor("hatchet", grpcPort)?.published).toBe(DEFAULT_PORTS.grpc);
    expect(publishedFor("hatchet", runtimePort)?.published).toBe(DEFAULT_PORTS.runtime);
    for (const p of portsOf("hatchet")) expect(p.hostIp).toBe("127.0.0.1");
  });

  it("sets only variables engineEnv() sets, apart from the listed container-only ones", () => {
    const unknown = Object.keys(hatchetEnv).filter((k) => !(k in native) && !CONTAINER_ONLY.has(k));
    expect(unknown).toEqual([]);
  });

  it("sets every variable engineEnv() sets, apart from those left to the image", () => {
    const missing = Object.keys(native).filter((k) => !(k in hatchetEnv) && !(k in LEFT_TO_IMAGE));
    expect(missing).toEqual([]);
    for (const k of ESSENTIAL) expect(hatchetEnv, k).toHaveProperty(k);
    for (const k of Object.keys(LEFT_TO_IMAGE)) {
      expect(native, `${k} is no longer in engineEnv()`).toHaveProperty(k);
      expect(hatchetEnv, `${k} would override the image's own value`).not.toHaveProperty(k);
    }
  });

  it("agrees with engineEnv() on every value a container has no reason to change", () => {
    const differ: Record<string, { compose: string | undefined; native: string | undefined }> = {};
    for (const [k, v] of Object.entries(hatchetEnv)) {
      if (CONTAINER_VALUES.has(k) || CONTAINER_ONLY.has(k)) continue;
      if (setting(v) !== setting(native[k])) differ[k] = { compose: v, native: native[k] };
    }
    expect(differ).toEqual({});
    // The ones that matter most, spelled out.
    expect(hatchetEnv.SERVER_MSGQUEUE_KIND).toBe("postgres");
    expect(grpcPort).toBe(DEFAULT_PORTS.grpc);
    expect(runtimePort).toBe(DEFAULT_PORTS.runtime);
    expect(setting(hatchetEnv.SERVER_GRPC_INSECURE)).toBe("true");
  });

  it("uses container values that still fit the published ports and the cookie domain", () => {
    expect(hatchetEnv.SERVER_GRPC_BIND_ADDRESS).toBe("0.0.0.0");
    const url = new URL(hatchetEnv.SERVER_URL ?? "");
    expect(Number(url.port)).toBe(publishedFor("hatchet", runtimePort)?.published);
    expect(url.hostname).toBe(hatchetEnv.SERVER_AUTH_COOKIE_DOMAIN);
    const broadcastPort = Number(hatchetEnv.SERVER_GRPC_BROADCAST_ADDRESS?.split(":").pop());
    expect(broadcastPort).toBe(publishedFor("hatchet", grpcPort)?.published);
  });

  it("keeps its config (keys) in a named volume", () => {
    const config = mountsOf("hatchet").find((m) => m.target === "/config");
    expect(config?.source).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(config?.source);
  });
});

describe("docker-compose.yml postgres service", () => {
  const pgEnv = envOf("postgres");

  it("runs in UTC, which Hatchet requires", () => {
    const args = argv(service("postgres").command);
    const settings = args.filter((_, i) => args[i - 1] === "-c");
    expect(settings).toContain("timezone=UTC");
  });

  it("is healthy before hatchet starts", () => {
    expect(service("postgres").healthcheck?.test).toBeDefined();
    expect(service("hatchet").depends_on).toMatchObject({ postgres: { condition: "service_healthy" } });
  });

  it("hosts the engine's own database under the native stack's name", () => {
    const db = new URL(hatchetEnv.DATABASE_URL ?? "");
    expect(db.hostname).toBe("postgres");
    expect(db.pathname).toBe(`/${HATCHET_DATABASE}`);
    expect(pgEnv.POSTGRES_DB).toBe(HATCHET_DATABASE);
    expect(db.username).toBe(pgEnv.POSTGRES_USER);
    expect(db.password).toBe(pgEnv.POSTGRES_PASSWORD);
  });
});

describe("docker-compose.yml token helper", () => {
  it("mints a token for the seeded tenant from hatchet's config, in profile tools", () => {
    const args = argv(service("token").command);
    expect(args.join(" ")).toMatch(/hatchet-admin token create\b/);
    expect(flagValue(args, "--tenant-id")).toBe(HATCHET_TENANT_ID);
    expect(flagValue(args, "--config")).toBe("/config");
    const source = (name: string) => mountsOf(name).find((m) => m.target === "/config")?.source;
    expect(source("token")).toBe(source("hatchet"));
    expect(service("token").profiles).toContain("tools");
  });

  it("sees exactly hatchet's environment (tokens embed SERVER_URL and the broadcast address)", () => {
    expect(envOf("token")).toEqual(hatchetEnv);
  });
});

describe("docker-compose.yml app services", () => {
  for (const name of ["api", "worker", "relay"]) {
    it(`${name} reaches hatchet and postgres by service name, in profile app`, () => {
      const env = envOf(name);
      expect(service(name).profiles).toContain("app");
      expect(env.HATCHET_CLIENT_HOST_PORT).toBe(`hatchet:${grpcPort}`);
      expect(env.HATCHET_CLIENT_API_URL).toBe(`http://hatchet:${runtimePort}`);
      // The engine serves plaintext gRPC.
      expect(env.HATCHET_CLIENT_TLS_STRATEGY).toBe("none");
      const db = new URL(env.DATABASE_URL ?? "");
      expect(db.hostname).toBe("postgres");
      expect(db.pathname).not.toBe(`/${HATCHET_DATABASE}`);
    });
  }

  it("api publishes port 3000", () => {
    expect(publishedFor("api", 3000)?.published).toBe(3000);
  });

  // What an echo job needs, in the order a create meets it: a tenant key (the admin key makes
  // one), the job type registered (the relay registers the worker, whose /health lists echo), and
  // a run delivered (relay mode: the relay calls the worker, signed with the shared secret).
  const secretsScript = argv(service("secrets").command).join("\n");
  const generated = [...secretsScript.matchAll(/echo "([A-Z_]+)=/g)].map((m) => m[1]);

  it("generates the token, the signing secret and the admin key once, into a volume", () => {
    expect(service("secrets").profiles).toContain("app");
    expect(generated.sort()).toEqual(["HATCHET_CLIENT_TOKEN", "SWITCHYARD_ADMIN_KEY", "WEBHOOK_SIGNING_SECRET"]);
    expect(secretsScript).toMatch(/^\[ -s \/secrets\/app\.env \] && exit 0/);
    expect(secretsScript).toContain(`--tenant-id ${HATCHET_TENANT_ID}`);
    expect(mountsOf("secrets").find((m) => m.target === "/secrets")?.source).toBe("app_secrets");
  });

  for (const name of ["api", "worker", "relay"]) {
    it(`${name} starts after the secrets exist and reads them before its command`, () => {
      const depends = service(name).depends_on as Record<string, { condition?: string }>;
      expect(depends.secrets?.condition).toBe("service_completed_successfully");
      expect(mountsOf(name).find((m) => m.target === "/secrets")?.source).toBe("app_secrets");
      expect(argv((service(name) as { entrypoint?: string[] }).entrypoint).join(" ")).toMatch(
        // Compose turns $$ into $.
        /set -a && \. \/secrets\/app\.env && set \+a && exec "\$\$@"/,
      );
    });
  }

  it("runs relay delivery, and the relay could start with what it is given", () => {
    const env = { ...envOf("relay"), ...Object.fromEntries(generated.map((k) => [k, "generated"])) };
    expect(env.SWITCHYARD_DELIVERY).toBe("relay");
    expect(() => relayConfig(env)).not.toThrow();
  });

  it("has the relay register the worker by service name once the worker answers, on the worker's port", () => {
    const relayArgs = argv(service("relay").command);
    const workerUrl = new URL(flagValue(relayArgs, "--worker-url") ?? "");
    expect(workerUrl.hostname).toBe("worker");
    expect(workerUrl.port).toBe(flagValue(argv(service("worker").command), "--worker-port"));
    expect(envOf("worker").HOST).toBe("0.0.0.0");
    expect((service("relay").depends_on as Record<string, { condition?: string }>).worker?.condition).toBe(
      "service_healthy",
    );
    expect(JSON.stringify(service("worker").healthcheck?.test)).toContain(`127.0.0.1:${workerUrl.port}/health`);
  });

  it("serves the echo job type from the worker it runs", () => {
    expect(argv(service("worker").command).join(" ")).toMatch(/^npm run dev:worker\b/);
    expect(findJobType("echo")).toBeDefined();
  });
});

describe("Hatchetfile (Caddy)", () => {
  const blocks = caddyBlocks(hatchetfile);
  const global = blocks.get("") ?? "";
  const sites = [...blocks].filter(([label]) => label !== "");
  const siteProxying = (upstream: string) => sites.find(([, body]) => upstreams(body).includes(upstream));

  it("is the Caddyfile of the caddy service", () => {
    const mount = mountsOf("caddy").find((m) => m.target === "/etc/caddy/Caddyfile");
    expect(mount?.source).toBe("./Hatchetfile");
  });

  it("turns automatic HTTPS off in its global options", () => {
    expect(global).toMatch(/^\s*auto_https\s+off\s*$/m);
  });

  it("proxies one site to hatchet's runtime port (dashboard + /api)", () => {
    const site = siteProxying(`hatchet:${runtimePort}`) ?? siteProxying(`http://hatchet:${runtimePort}`);
    expect(site, `no site proxies to hatchet:${runtimePort}`).toBeDefined();
    const port = sitePort(site?.[0] ?? "");
    expect(portsOf("caddy").map((p) => p.target)).toContain(port);
  });

  it("proxies another site to hatchet's gRPC port over h2c, with h2c enabled on its listener", () => {
    const site = siteProxying(`h2c://hatchet:${grpcPort}`);
    expect(site, `no site proxies to h2c://hatchet:${grpcPort}`).toBeDefined();
    const port = sitePort(site?.[0] ?? "");
    expect(portsOf("caddy").map((p) => p.target)).toContain(port);
    const server = new RegExp(`servers\\s+:${port}\\s*\\{([^}]*)\\}`).exec(global);
    expect(server?.[1] ?? "").toMatch(/^\s*protocols\b[^\n]*\bh2c\b/m);
  });
});
