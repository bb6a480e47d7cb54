// Scenario 3: the API's Lambda handlers called in this process, warm, with API Gateway v2 events
// built by hand, against the real database. One database connection, as one Lambda instance has.
// Creates are timed twice: on a blocked target (the relay's dispatch finds it blocked, nothing
// runs: the handler on a quiet system), and on fresh targets, where the stack's relay runs every
// created job through Hatchet and the worker meanwhile; scenario 2 shows them under heavy load.
import { randomUUID } from "node:crypto";
import { closeSharedDatabase } from "@switchyard/db";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import pg from "pg";
import { makeContext } from "../../dev/local-server.ts";
import { handler as createHandler } from "../../functions/api/jobs/create.ts";
import { handler as getHandler } from "../../functions/api/jobs/get.ts";
import { handler as listAllHandler } from "../../functions/api/jobs/list-all.ts";
import { type Cleanups, type Stack, waitFor } from "../lib/stack.ts";
import { round, type Summary, summarize } from "../lib/stats.ts";

export interface HandlersParams {
  warmup: number;
  calls: number;
}

export interface HandlersResult {
  params: HandlersParams & { poolMax: number; listAllTotal: number };
  /** On a blocked target: nothing runs meanwhile. */
  create: Summary;
  /** On fresh targets: the relay runs each created job while the next creates are timed. */
  createLive: Summary;
  get: Summary;
  listAll: Summary;
  parts: {
    /** Round trips to Postgres per call, counted during the warm-up. */
    queriesPerCreate: number;
    queriesPerGet: number;
    queriesPerListAll: number;
  };
  errors: number;
}

type Handler = (event: APIGatewayProxyEventV2, context: ReturnType<typeof makeContext>) => Promise<unknown>;

function event(opts: {
  routeKey: string;
  rawPath: string;
  key: string;
  pathParameters?: Record<string, string>;
  body?: unknown;
}): APIGatewayProxyEventV2 {
  const [method = "GET"] = opts.routeKey.split(" ");
  const now = new Date();
  return {
    version: "2.0",
    routeKey: opts.routeKey,
    rawPath: opts.rawPath,
    rawQueryString: "",
    headers: {
      "x-api-key": opts.key,
      host: "bench.local",
      "user-agent": "switchyard-bench",
      ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(opts.pathParameters ? { pathParameters: opts.pathParameters } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "bench",
      domainName: "bench.local",
      domainPrefix: "bench",
      http: { method, path: opts.rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "switchyard-bench" },
      requestId: randomUUID(),
      routeKey: opts.routeKey,
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    isBase64Encoded: false,
  };
}

/** Counts queries sent to Postgres by any pg client in this process while `fn` runs. */
async function countQueries(fn: () => Promise<void>): Promise<number> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let n = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return n;
}

export async function runHandlers(
  stack: Stack,
  p: HandlersParams,
  cleanups: Cleanups,
  log: (m: string) => void,
): Promise<HandlersResult> {
  Object.assign(process.env, { DATABASE_URL: stack.appDbUrl, DATABASE_POOL_MAX: "1" });
  cleanups.add("handler database pool", closeSharedDatabase);

  const createTargets = await stack.targets(p.warmup + p.calls, "handlers");
  const ctx = () => makeContext("bench-api", 29_000);
  let errors = 0;
  const call = async (h: Handler, e: APIGatewayProxyEventV2) => {
    const t0 = performance.now();
    const res = (await h(e, ctx())) as APIGatewayProxyStructuredResultV2;
    const ms = performance.now() - t0;
    if (res.statusCode !== 200) errors++;
    return { ms, body: JSON.parse(String(res.body ?? "null")) as Record<string, unknown> };
  };
  const key = stack.tenant.key;
  const createEvent = (targetId: string) =>
    event({
      routeKey: "POST /api/targets/{target_id}/jobs/",
      rawPath: `/api/targets/${targetId}/jobs/`,
      key,
      pathParameters: { target_id: targetId },
      body: { api_name: "echo", parameters: { bench: true } },
    });

  // create, quiet: every job goes to one target blocked by a failed job, so the relay's dispatch
  // finds it blocked and nothing runs while the handler is timed.
  const [blocked = ""] = await stack.targets(1, "handlers-blocked");
  const failed = await stack.api("POST", `/api/targets/${blocked}/jobs/`, { api_name: "fail", parameters: {} });
  await waitFor(
    "the blocking job to fail",
    async () => {
      const r = await stack.api("GET", `/api/targets/${blocked}/jobs/${failed.body.id}`);
      return r.body.status === "error" ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const created: Array<{ target: string; id: string }> = [];
  const createQueries = await countQueries(async () => {
    for (let i = 0; i < p.warmup; i++) {
      const r = await call(createHandler as Handler, createEvent(blocked));
      created.push({ target: blocked, id: String(r.body.id) });
    }
  });
  const createMs: number[] = [];
  for (let i = 0; i < p.calls; i++) {
    const r = await call(createHandler as Handler, createEvent(blocked));
    createMs.push(r.ms);
    created.push({ target: blocked, id: String(r.body.id) });
  }
  // create, live: each job on a target of its own, so the relay runs every one meanwhile.
  const liveMs: number[] = [];
  for (const [i, t] of createTargets.entries()) {
    const r = await call(createHandler as Handler, createEvent(t));
    if (i >= p.warmup) liveMs.push(r.ms);
    created.push({ target: t, id: String(r.body.id) });
  }

  // get
  const getEvent = (i: number) => {
    const c = created[i % created.length] ?? { target: "", id: "" };
    return event({
      routeKey: "GET /api/targets/{target_id}/jobs/{job_id}",
      rawPath: `/api/targets/${c.target}/jobs/${c.id}`,
      key,
      pathParameters: { target_id: c.target, job_id: c.id },
    });
  };
  const getQueries = await countQueries(async () => {
    for (let i = 0; i < p.warmup; i++) await call(getHandler as Handler, getEvent(i));
  });
  const getMs: number[] = [];
  for (let i = 0; i < p.calls; i++) getMs.push((await call(getHandler as Handler, getEvent(i))).ms);

  // list-all, the first page of the tenant's jobs
  const listEvent = () => event({ routeKey: "GET /api/jobs/", rawPath: "/api/jobs/", key });
  let listAllTotal = 0;
  const listQueries = await countQueries(async () => {
    for (let i = 0; i < p.warmup; i++) {
      listAllTotal = Number((await call(listAllHandler as Handler, listEvent())).body.total_count);
    }
  });
  const listMs: number[] = [];
  for (let i = 0; i < p.calls; i++) listMs.push((await call(listAllHandler as Handler, listEvent())).ms);
  log(`  handlers: create, get, list-all × ${p.calls} (list-all over ${listAllTotal} jobs)`);
  // The live creates' jobs run on after the timing; the next scenario starts on an idle stack.
  await waitFor(
    "the live creates' jobs to finish",
    async () => {
      const r = await stack.pool.query<{ n: string }>(
        "select count(*) as n from jobs where target_id = any($1) and status in ('queued', 'running')",
        [createTargets],
      );
      return r.rows[0]?.n === "0" ? true : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );

  return {
    params: { ...p, poolMax: 1, listAllTotal },
    create: summarize(createMs),
    createLive: summarize(liveMs),
    get: summarize(getMs),
    listAll: summarize(listMs),
    parts: {
      queriesPerCreate: round(createQueries / p.warmup, 1),
      queriesPerGet: round(getQueries / p.warmup, 1),
      queriesPerListAll: round(listQueries / p.warmup, 1),
    },
    errors,
  };
}
