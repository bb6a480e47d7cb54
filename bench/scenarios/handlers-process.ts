// The timed part of scenario 3, in a process of its own (started by handlers.ts, once per delivery
// mode): the API's Lambda handlers imported and called warm with API Gateway v2 events built by
// hand, against the real database, with one connection, as one Lambda instance has. A process per
// mode because the handlers read the mode (SWITCHYARD_DELIVERY) once, when first called, as a
// Lambda instance does. Reads its plan from BENCH_HANDLERS (JSON) and the product's settings from
// its environment; prints its figures as one JSON line after RESULT_MARK.
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { closeSharedDatabase } from "@switchyard/db";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import pg from "pg";
import { makeContext } from "../../dev/local-server.ts";
import { handler as createHandler } from "../../functions/api/jobs/create.ts";
import { handler as getHandler } from "../../functions/api/jobs/get.ts";
import { handler as listAllHandler } from "../../functions/api/jobs/list-all.ts";

export const RESULT_MARK = "BENCH_HANDLERS_RESULT ";

export interface HandlersPlan {
  key: string;
  /** A target blocked by a failed job: creates there hand nothing over. */
  blocked: string;
  /** One fresh target per live create (warm-up included). */
  createTargets: string[];
  warmup: number;
  calls: number;
}

export interface HandlersFigures {
  createMs: number[];
  liveMs: number[];
  getMs: number[];
  listMs: number[];
  queries: { create: number; get: number; listAll: number };
  listAllTotal: number;
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

async function measure(p: HandlersPlan): Promise<HandlersFigures> {
  const ctx = () => makeContext("bench-api", 29_000);
  let errors = 0;
  const call = async (h: Handler, e: APIGatewayProxyEventV2) => {
    const t0 = performance.now();
    const res = (await h(e, ctx())) as APIGatewayProxyStructuredResultV2;
    const ms = performance.now() - t0;
    if (res.statusCode !== 200) errors++;
    return { ms, body: JSON.parse(String(res.body ?? "null")) as Record<string, unknown> };
  };
  const createEvent = (targetId: string) =>
    event({
      routeKey: "POST /api/targets/{target_id}/jobs/",
      rawPath: `/api/targets/${targetId}/jobs/`,
      key: p.key,
      pathParameters: { target_id: targetId },
      body: { api_name: "echo", parameters: { bench: true } },
    });

  // create, quiet: every job goes to the blocked target, so dispatch finds it blocked and nothing
  // runs while the handler is timed (in direct mode the handler's own hand-over finds it so).
  const created: Array<{ target: string; id: string }> = [];
  const createQueries = await countQueries(async () => {
    for (let i = 0; i < p.warmup; i++) {
      const r = await call(createHandler as Handler, createEvent(p.blocked));
      created.push({ target: p.blocked, id: String(r.body.id) });
    }
  });
  const createMs: number[] = [];
  for (let i = 0; i < p.calls; i++) {
    const r = await call(createHandler as Handler, createEvent(p.blocked));
    createMs.push(r.ms);
    created.push({ target: p.blocked, id: String(r.body.id) });
  }
  // create, live: each job on a target of its own, so every one runs meanwhile (in direct mode
  // the handler itself hands it to Hatchet before it answers).
  const liveMs: number[] = [];
  for (const [i, t] of p.createTargets.entries()) {
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
      key: p.key,
      pathParameters: { target_id: c.target, job_id: c.id },
    });
  };
  const getQueries = await countQueries(async () => {
    for (let i = 0; i < p.warmup; i++) await call(getHandler as Handler, getEvent(i));
  });
  const getMs: number[] = [];
  for (let i = 0; i < p.calls; i++) getMs.push((await call(getHandler as Handler, getEvent(i))).ms);

  // list-all, the first page of the tenant's jobs
  const listEvent = () => event({ routeKey: "GET /api/jobs/", rawPath: "/api/jobs/", key: p.key });
  let listAllTotal = 0;
  const listQueries = await countQueries(async () => {
    for (let i = 0; i < p.warmup; i++) {
      listAllTotal = Number((await call(listAllHandler as Handler, listEvent())).body.total_count);
    }
  });
  const listMs: number[] = [];
  for (let i = 0; i < p.calls; i++) listMs.push((await call(listAllHandler as Handler, listEvent())).ms);
  return {
    createMs,
    liveMs,
    getMs,
    listMs,
    queries: { create: createQueries, get: getQueries, listAll: listQueries },
    listAllTotal,
    errors,
  };
}

async function main() {
  const plan = JSON.parse(process.env.BENCH_HANDLERS ?? "null") as HandlersPlan | null;
  if (!plan) throw new Error("BENCH_HANDLERS is not set: this process is started by bench/scenarios/handlers.ts");
  const figures = await measure(plan);
  await closeSharedDatabase();
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(figures)}\n`);
}

// Only when run as the process; handlers.ts imports this module for its types and marker.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  });
}
