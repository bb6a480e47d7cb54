// Secrets stay secret: API keys are stored only as SHA-256 hashes and compared as such; no key,
// token or signing secret appears in a log line (the structured lines and metrics at every level
// included), in console output, in a response (other than the one that hands a new key out), or
// in any database table it has no business in.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { format } from "node:util";
import { powertoolsSink, useSink } from "@switchyard/core";
import { apiKeys, jobs } from "@switchyard/db";
import { signRequest } from "@switchyard/workers/signing";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { jobPath } from "../support/client.ts";
import { poll } from "../support/poll.ts";
import { postToWorker } from "../support/worker.ts";

let t: TestApp;
/** What the app logged through its log option. */
const logs: string[] = [];
/** Everything else written to the console or the process's streams while the app ran. */
const consoleLines: string[] = [];
/** Every response the test received: its label, its text, and the secrets it may show. */
const responses: Array<{ label: string; text: string; mayShow: string[] }> = [];

/** A server the http-request jobs call: it records what it got and answers 500. */
let upstream: { server: Server; url: string; seen: Array<{ url: string; authorization?: string }> };

// Values planted in job parameters: the caller's own secrets, which the job's logs, its recorded
// HTTP exchanges and the app's log lines must not repeat.
const URL_TOKEN = `urltoken${randomBytes(12).toString("hex")}`;
const BEARER = `bearer${randomBytes(12).toString("hex")}`;
const URL_PASSWORD = `pw${randomBytes(12).toString("hex")}`;
const OTHER_SECRET = `whsec_${randomBytes(32).toString("base64")}`;

const restores: Array<() => void> = [];

beforeAll(async () => {
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const spy = vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleLines.push(format(...args));
    });
    restores.push(() => spy.mockRestore());
  }
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
      consoleLines.push(text);
      // The structured lines at debug level are kept for the checks, not shown: there are hundreds.
      if (text.startsWith('{"level":') || text.startsWith('{"_aws":')) return true;
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restores.push(() => {
      stream.write = original as typeof stream.write;
    });
  }

  const seen: Array<{ url: string; authorization?: string }> = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
    res.writeHead(500, { "content-type": "text/plain" }).end("upstream is down");
  });
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  upstream = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };

  t = await startTestApp({ logs });
  // Every structured line and metric this process emits, at every level, in the deployed format.
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: "DEBUG", POWERTOOLS_METRICS_DISABLED: "false" });
  useSink(powertoolsSink());
}, 120_000);

afterAll(async () => {
  await t?.stop();
  await new Promise((r) => upstream?.server.close(r));
  for (const restore of restores.reverse()) restore();
});

async function call(
  label: string,
  method: string,
  path: string,
  opts: { key?: string; admin?: string; body?: unknown; mayShow?: string[]; base?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (opts.key !== undefined) headers["x-api-key"] = opts.key;
  if (opts.admin !== undefined) headers["x-admin-key"] = opts.admin;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${opts.base ?? t.apiUrl}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  const headerText = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join("\n");
  responses.push({ label, text: `${headerText}\n\n${text}`, mayShow: opts.mayShow ?? [] });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  // biome-ignore lint/suspicious/noExplicitAny: assertions read fields freely.
  return { status: res.status, body: body as any, text };
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Every string a key-shaped value could leak as: itself and, for webhook secrets, the key bytes. */
function forms(secret: string): string[] {
  const out = [secret];
  if (secret.startsWith("whsec_")) {
    const b64 = secret.slice("whsec_".length);
    out.push(b64, Buffer.from(b64, "base64").toString("hex"), Buffer.from(b64, "base64").toString("base64url"));
  }
  return out;
}

describe("secrets", () => {
  const keys: string[] = [];
  let tenantId = "";

  it("exercises the API, the worker and the relay with keys, tokens and secrets in play", async () => {
    const admin = t.adminKey;
    const created = await call("create tenant", "POST", "/api/admin/tenants/", {
      admin,
      body: { name: `secret-keeper-${randomUUID().slice(0, 8)}` },
    });
    expect(created.status).toBe(201);
    tenantId = created.body.id;
    keys.push(created.body.api_key);
    responses.at(-1)?.mayShow.push(created.body.api_key);
    const second = await call("create key", "POST", `/api/admin/tenants/${tenantId}/keys/`, { admin });
    expect(second.status).toBe(201);
    keys.push(second.body.api_key);
    responses.at(-1)?.mayShow.push(second.body.api_key);
    const other = await t.tenant();
    keys.push(other.key);
    expect((await call("list tenants", "GET", "/api/admin/tenants/", { admin })).status).toBe(200);

    const [key, key2] = keys as [string, string];
    const target = await call("create target", "POST", "/api/targets/", {
      key,
      body: { name: "vault", host: "10.0.0.1", password_hint: "not a secret" },
    });
    expect(target.status).toBe(201);
    const targetId: string = target.body.id;
    // The legacy query parameter works and is not logged either.
    const byQuery = await call(
      "list targets, key in the query",
      "GET",
      `/api/targets/?api_key=${encodeURIComponent(key2)}`,
    );
    expect(byQuery.status).toBe(200);

    const echo = await call("create echo", "POST", `/api/targets/${targetId}/jobs/`, {
      key,
      body: { api_name: "echo", parameters: { hello: "world" } },
    });
    expect(echo.status).toBe(200);

    // Three jobs that fail with secrets in their parameters, each on its own target:
    // a 500 from the upstream, a refused connection, and credentials in the URL (refused by the type).
    const failing: Array<[string, string]> = [];
    const params = [
      {
        url: `${upstream.url}/private/path?token=${URL_TOKEN}&page=1`,
        method: "GET",
        headers: { Authorization: `Bearer ${BEARER}`, "X-Api-Key": BEARER, accept: "application/json" },
      },
      { url: `http://127.0.0.1:1/closed?access_token=${URL_TOKEN}`, headers: { authorization: `Bearer ${BEARER}` } },
      { url: `http://user:${URL_PASSWORD}@127.0.0.1:1/` },
    ];
    for (const [i, parameters] of params.entries()) {
      const lane = (await call(`create target ${i}`, "POST", "/api/targets/", { key, body: { name: `lane-${i}` } }))
        .body.id as string;
      const job = await call(`create http-request ${i}`, "POST", `/api/targets/${lane}/jobs/`, {
        key,
        body: { api_name: "http-request", parameters },
      });
      expect(job.status, job.text).toBe(200);
      failing.push([lane, job.body.id]);
    }

    // Worker registration: the secret is taken, used for the health call, and never shown again.
    const registered = await call("register worker", "POST", "/api/admin/workers/", {
      admin,
      body: { name: "second", url: t.workerUrl, secret: t.signingSecret },
    });
    expect(registered.status, registered.text).toBe(201);
    const refused = await call("register worker with the wrong secret", "POST", "/api/admin/workers/", {
      admin,
      body: { name: "third", url: t.workerUrl, secret: OTHER_SECRET },
    });
    expect(refused.status).toBe(422);
    const malformed = await call("register worker with a malformed secret", "POST", "/api/admin/workers/", {
      admin,
      body: { name: "fourth", url: t.workerUrl, secret: `whsec_${URL_PASSWORD}` },
    });
    expect(malformed.status).toBe(422);
    const workers = await call("list workers", "GET", "/api/admin/workers/", { admin });
    expect(workers.status).toBe(200);
    expect(workers.body.length).toBeGreaterThanOrEqual(2);
    expect(findKeys(workers.body, "secret")).toEqual([]);
    expect(registered.body).not.toHaveProperty("secret");
    expect((await call("delete worker", "DELETE", `/api/admin/workers/${registered.body.id}`, { admin })).status).toBe(
      200,
    );

    // Refusals do not echo what they refuse.
    const wrongKeys = [
      `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`,
      `${key}x`,
      key.slice(0, -1),
      sha256(key),
      key.toUpperCase() === key ? key.toLowerCase() : key.toUpperCase(),
      admin,
    ];
    for (const wrong of wrongKeys) {
      expect((await call("wrong tenant key", "GET", "/api/targets/", { key: wrong })).status).toBe(401);
    }
    for (const wrong of [key, `${admin}x`, admin.slice(0, -1), sha256(admin)]) {
      expect((await call("wrong admin key", "GET", "/api/admin/tenants/", { admin: wrong })).status).toBe(401);
    }
    const unsigned = await postToWorker(t.workerUrl, "/deliver", "{}", signRequest(OTHER_SECRET, "{}"));
    responses.push({ label: "worker, wrong secret", text: await unsigned.text(), mayShow: [] });
    expect(unsigned.status).toBe(401);

    // Everything a tenant can read about its jobs.
    for (const [lane, id] of failing) {
      await poll(
        async () => {
          const r = await call("poll job", "GET", jobPath(lane, id), { key });
          return r.body.status === "error" ? r : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250, label: `http-request job ${id} to fail` },
      );
      const job = await call("get failed job", "GET", jobPath(lane, id), { key });
      for (const secret of [URL_TOKEN, BEARER, URL_PASSWORD]) {
        expect(JSON.stringify([job.body.error, job.body.result])).not.toContain(secret);
      }
      const logLines = await call("job logs", "GET", `${jobPath(lane, id)}/logs/`, { key });
      const exchanges = await call("job http exchanges", "GET", `${jobPath(lane, id)}/http_exchanges/`, {
        key,
      });
      for (const r of [logLines, exchanges]) {
        expect(r.status).toBe(200);
        for (const secret of [URL_TOKEN, BEARER, URL_PASSWORD]) expect(r.text).not.toContain(secret);
      }
    }
    // The upstream did get the credentials: redaction is in what is recorded, not what is sent.
    expect(upstream.seen.length).toBeGreaterThan(0);
    expect(upstream.seen[0]?.authorization).toBe(`Bearer ${BEARER}`);
    expect(upstream.seen[0]?.url).toContain(URL_TOKEN);

    for (const [label, path] of [
      ["list jobs", "/api/jobs/"],
      ["list targets", "/api/targets/"],
      ["queue status", "/api/jobs/queue/status"],
      ["diagnostics", "/api/diagnostics"],
      ["openapi", "/api/openapi.json"],
    ]) {
      expect((await call(label ?? "", "GET", path ?? "", { key })).status).toBe(200);
    }
    expect((await call("resync", "POST", "/api/jobs/queue/resync", { key })).status).toBe(200);
  }, 120_000);

  it("stores API keys only as SHA-256 hashes", async () => {
    const rows = await t.database.db.select().from(apiKeys);
    expect(rows.length).toBeGreaterThanOrEqual(keys.length);
    for (const key of keys) {
      const mine = rows.filter((r) => r.keyHash === sha256(key));
      expect(mine).toHaveLength(1);
      expect(mine[0]?.keyHash).toMatch(/^[0-9a-f]{64}$/);
      // Only a short prefix, to tell keys apart in listings.
      expect(mine[0]?.prefix.length).toBeLessThanOrEqual(8);
      for (const row of rows) {
        for (const value of Object.values(row)) expect(String(value)).not.toContain(key);
      }
    }
  });

  it("keeps keys and tokens out of every table, and the signing secret out of all but the worker registry", async () => {
    const db = t.database.db;
    const tables = await db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
    );
    expect(tables.rows.length).toBeGreaterThan(5);
    const everywhere = [...keys, t.adminKey, t.env.HATCHET_CLIENT_TOKEN ?? "", OTHER_SECRET];
    for (const { table_name } of tables.rows) {
      const rows = await db.execute<{ row: string }>(sql`select t::text as row from ${sql.identifier(table_name)} t`);
      const dump = rows.rows.map((r) => r.row).join("\n");
      for (const secret of everywhere.flatMap(forms)) {
        expect(dump.includes(secret), `${table_name} holds a secret`).toBe(false);
      }
      if (table_name !== "webhook_workers") {
        for (const secret of forms(t.signingSecret)) {
          expect(dump.includes(secret), `${table_name} holds the signing secret`).toBe(false);
        }
      }
    }
    // The caller's own secrets are kept where the caller put them (the job's parameters) and
    // nowhere else: not in logs, errors or recorded exchanges.
    const withParams = await db
      .select({ id: jobs.id })
      .from(jobs)
      .where(sql`${jobs.parameters}::text like ${`%${URL_TOKEN}%`}`);
    expect(withParams.length).toBe(2);
    for (const table of ["job_logs", "job_http_exchanges", "job_attempts"]) {
      const rows = await db.execute<{ row: string }>(sql`select t::text as row from ${sql.identifier(table)} t`);
      const dump = rows.rows.map((r) => r.row).join("\n");
      for (const secret of [URL_TOKEN, BEARER, URL_PASSWORD]) {
        expect(dump.includes(secret), `${table} holds ${secret}`).toBe(false);
      }
    }
    const [failed] = await db.select({ error: jobs.error }).from(jobs).where(sql`${jobs.error} is not null`).limit(1);
    expect(failed?.error).toBeTruthy();
    expect(await db.$count(jobs, eq(jobs.status, "error"))).toBe(3);
  });

  it("never writes a key, token or secret to a log line, the console or a response", () => {
    expect(logs.length).toBeGreaterThan(20);
    expect(responses.length).toBeGreaterThan(30);
    const secrets: Array<[string, string]> = [
      ...keys.map((k, i): [string, string] => [`tenant key ${i}`, k]),
      ["admin key", t.adminKey],
      ...forms(t.signingSecret).map((s, i): [string, string] => [`signing secret form ${i}`, s]),
      ...forms(OTHER_SECRET).map((s, i): [string, string] => [`wrong secret form ${i}`, s]),
      ["Hatchet token", t.env.HATCHET_CLIENT_TOKEN ?? ""],
      ["Hatchet token signature", (t.env.HATCHET_CLIENT_TOKEN ?? "").split(".")[2] ?? ""],
    ];
    const callerSecrets: Array<[string, string]> = [
      ["token in a URL", URL_TOKEN],
      ["bearer token", BEARER],
      ["password in a URL", URL_PASSWORD],
    ];
    for (const [, s] of [...secrets, ...callerSecrets]) expect(s.length).toBeGreaterThan(10);

    const logText = logs.join("\n");
    const consoleText = consoleLines.join("\n");
    // The structured lines and the metrics were written, so they were searched too.
    for (const line of ['"message":"job created"', '"message":"job finished"', '"_aws":', '"JobsFinished"']) {
      expect(consoleText, `no ${line} in the output`).toContain(line);
    }
    for (const [name, secret] of [...secrets, ...callerSecrets]) {
      expect(logText.includes(secret), `the app's log shows the ${name}`).toBe(false);
      expect(consoleText.includes(secret), `the console shows the ${name}`).toBe(false);
    }
    for (const r of responses) {
      for (const [name, secret] of secrets) {
        if (r.mayShow.includes(secret)) continue;
        expect(r.text.includes(secret), `the response to "${r.label}" shows the ${name}`).toBe(false);
      }
    }
  });
});

/** Paths of every property called `name`, at any depth. */
function findKeys(value: unknown, name: string, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => findKeys(v, name, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(k === name ? [`${path}.${k}`] : []),
    ...findKeys(v, name, `${path}.${k}`),
  ]);
}
