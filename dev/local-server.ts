// Serves the API's Lambda handlers over plain HTTP: each request becomes an API Gateway v2 (HTTP API,
// payload 2.0) event, and the handler's result becomes the response. No published library does this
// direction faithfully (they send v1-like events, pre-parse bodies, drop path parameters or need a
// cloud account), so this small adapter lives here, driven by the same route table as the deployed API.

import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { access } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";

export interface LambdaRoute {
  method: string;
  path: string;
  handler: string;
}
export type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;
/** A response-streaming handler (functions/_lib/streaming.ts), marked with this symbol outside Lambda. */
const STREAMING = Symbol.for("switchyard.streaming");
type StreamingHandler = (event: APIGatewayProxyEventV2, stream: Writable, context: Context) => Promise<void>;

/** `handler` is `path/to/file.export`, relative to `root`, without the `.ts` extension. */
export async function loadHandler(root: string, handler: string): Promise<LambdaHandler> {
  const dot = handler.lastIndexOf(".");
  if (dot <= 0 || dot === handler.length - 1) throw new Error(`Bad handler "${handler}": expected "file.export"`);
  const file = join(root, `${handler.slice(0, dot)}.ts`);
  const name = handler.slice(dot + 1);
  await access(file).catch(() => {
    throw new Error(`Handler file not found: ${file} (handler "${handler}")`);
  });
  const mod: Record<string, unknown> = await import(pathToFileURL(file).href);
  const fn = mod[name];
  if (typeof fn !== "function") throw new Error(`Handler export "${name}" not found in ${file}`);
  return fn as LambdaHandler;
}

function decode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function beats(a: number[], b: number[]): boolean {
  const i = a.findIndex((rank, j) => rank !== b[j]);
  return i >= 0 && (a[i] ?? 0) < (b[i] ?? 0);
}

// Rank per template segment (0 literal, 1 `{name}`, 2 `{name+}`): the lowest rank, compared left to right, wins.
function matchPath(template: string, path: string) {
  const want = template.split("/");
  const got = path.split("/");
  const params: [string, string][] = [];
  const rank: number[] = [];
  for (const [i, seg] of want.entries()) {
    const param = /^\{([^{}+]+)(\+?)\}$/.exec(seg);
    if (!param) {
      if (got[i] !== seg) return undefined;
      rank.push(0);
      continue;
    }
    const greedy = param[2] === "+";
    const value = decode((greedy ? got.slice(i).join("/") : got[i]) ?? "");
    if (!value) return undefined;
    params.push([param[1] ?? "", value]);
    rank.push(greedy ? 2 : 1);
    if (greedy) return { params, rank };
  }
  return got.length === want.length ? { params, rank } : undefined;
}

export function matchRoute<R extends LambdaRoute>(
  routes: readonly R[],
  method: string,
  path: string,
): { route: R; pathParameters: Record<string, string> } | undefined {
  let best: { route: R; params: [string, string][]; rank: number[] } | undefined;
  for (const route of routes) {
    if (route.method.toUpperCase() !== method.toUpperCase()) continue;
    const m = matchPath(route.path, path);
    if (m && (!best || beats(m.rank, best.rank))) best = { route, ...m };
  }
  return best && { route: best.route, pathParameters: Object.fromEntries(best.params) };
}

// Bodies of these types (or without a type) reach the handler as utf8 text; anything else as base64.
const TEXT_TYPE = /^\s*(text\/[^;]*|application\/([\w.-]+\+)?(json|xml)|application\/x-www-form-urlencoded)\s*(;|$)/i;

export function toEvent(
  req: IncomingMessage,
  body: Buffer,
  route: LambdaRoute,
  pathParameters: Record<string, string>,
): APIGatewayProxyEventV2 {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQueryString = q === -1 ? "" : url.slice(q + 1);
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values && name !== "cookie") headers[name] = values.join(",");
  }
  const cookies = (req.headersDistinct.cookie ?? [])
    .join(";")
    .split(/\s*;\s*/)
    .filter(Boolean);
  const query = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(rawQueryString)) query.set(k, query.has(k) ? `${query.get(k)},${v}` : v);
  const routeKey = `${route.method} ${route.path}`;
  const text = !headers["content-type"] || TEXT_TYPE.test(headers["content-type"]);
  const domainName = headers.host ?? "localhost";
  const now = new Date();
  const [, day, month, year, hms] = now.toUTCString().split(" "); // "Thu, 12 Mar 2020 19:03:58 GMT"
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query.size > 0 ? { queryStringParameters: Object.fromEntries(query) } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName,
      domainPrefix: domainName.split(".")[0] ?? domainName,
      http: {
        method: req.method ?? "GET",
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: `${day}/${month}/${year}:${hms} +0000`,
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: body.toString(text ? "utf8" : "base64") } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

export function makeContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  const region = process.env.AWS_REGION ?? "us-east-1";
  const unsupported = () => {
    throw new Error("context.done/fail/succeed are not supported: return or throw from the handler");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]${awsRequestId.replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

export function writeResult(res: ServerResponse, result: unknown): void {
  if (typeof result === "object" && result !== null && "statusCode" in result) {
    const r = result as APIGatewayProxyStructuredResultV2;
    res.statusCode = r.statusCode ?? 200;
    for (const [name, value] of Object.entries(r.headers ?? {})) res.setHeader(name, String(value));
    if (r.cookies?.length) res.setHeader("set-cookie", r.cookies);
    const body: unknown = r.body;
    const text = typeof body === "string" || body == null ? body : JSON.stringify(body);
    res.end(text == null ? undefined : Buffer.from(text, r.isBase64Encoded ? "base64" : "utf8"));
    return;
  }
  // Simple response: anything else is the JSON body of a 200 (a string is sent as is).
  res.writeHead(200, { "content-type": "application/json" });
  res.end(typeof result === "string" ? result : (JSON.stringify(result) ?? "null"));
}

/**
 * The stream a streaming handler writes to, as Lambda's HttpResponseStream.from gives it: status
 * and headers first (`setMeta`), then the body. Ending it answers the request; the handler may
 * run on afterwards, as it does in Lambda.
 */
function responseStream(res: ServerResponse): Writable & { setMeta(meta: APIGatewayProxyStructuredResultV2): void } {
  // A client that went away (the engine gave up on its call, a relay died) is not the handler's
  // error: what it writes then is dropped, as Lambda drops it.
  const stream = new Writable({
    write(chunk, _encoding, done) {
      if (res.destroyed) return done();
      res.write(chunk, () => done());
    },
    final(done) {
      if (res.destroyed) return done();
      res.end(() => done());
    },
  });
  stream.on("error", () => {});
  return Object.assign(stream, {
    setMeta(meta: APIGatewayProxyStructuredResultV2) {
      res.statusCode = meta.statusCode ?? 200;
      for (const [name, value] of Object.entries(meta.headers ?? {})) res.setHeader(name, String(value));
    },
  });
}

export interface CorsPolicy {
  allowOrigins: readonly string[];
  allowMethods: readonly string[];
  allowHeaders: readonly string[];
  exposeHeaders: readonly string[];
  maxAgeSeconds: number;
}

const isPreflight = (req: IncomingMessage) =>
  req.method === "OPTIONS" &&
  req.headers.origin !== undefined &&
  req.headers["access-control-request-method"] !== undefined;

/** The CORS headers API Gateway adds for a request from an allowed origin (answers and preflights alike). */
function applyCors(req: IncomingMessage, res: ServerResponse, cors: CorsPolicy): void {
  const origin = req.headers.origin;
  if (!origin || !(cors.allowOrigins.includes("*") || cors.allowOrigins.includes(origin))) return;
  res.setHeader("access-control-allow-origin", cors.allowOrigins.includes("*") ? "*" : origin);
  if (isPreflight(req)) {
    res.setHeader("access-control-allow-methods", cors.allowMethods.join(","));
    res.setHeader("access-control-allow-headers", cors.allowHeaders.join(","));
    res.setHeader("access-control-max-age", String(cors.maxAgeSeconds));
  } else if (cors.exposeHeaders.length > 0) {
    res.setHeader("access-control-expose-headers", cors.exposeHeaders.join(","));
  }
}

function sendMessage(res: ServerResponse, status: number, message: string): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ message }));
}

/** Reads the whole body; undefined when it exceeds `max` (the rest is drained, not kept). */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  }
  return size > max ? undefined : Buffer.concat(chunks);
}

export async function startLocalServer(opts: {
  routes: readonly LambdaRoute[];
  root: string;
  port?: number;
  host?: string;
  timeoutMs?: number;
  maxBodyBytes?: number;
  log?: (line: string) => void;
  /** Called after each request is answered (and its handler has returned). */
  onResponse?: (method: string, path: string, status: number) => void;
  /** The handler for a method and path no route has (API Gateway's `$default` route). */
  notFound?: string;
  /** Answer preflights and add CORS headers as API Gateway does with this policy. */
  cors?: CorsPolicy;
}): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const { routes, root, host = "127.0.0.1", timeoutMs = 30_000, maxBodyBytes = 10 * 1024 * 1024 } = opts;
  const log = opts.log ?? ((line: string) => console.log(line));
  const handlers = new Map<string, Promise<LambdaHandler>>();
  const getHandler = (handler: string): Promise<LambdaHandler> => {
    let loading = handlers.get(handler);
    if (!loading) {
      loading = loadHandler(root, handler);
      loading.catch(() => handlers.delete(handler)); // retry on the next request once the file is fixed
      handlers.set(handler, loading);
    }
    return loading;
  };

  const server = createServer(async (req, res) => {
    const started = performance.now();
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    try {
      const body = await readBody(req, maxBodyBytes);
      const match =
        matchRoute(routes, method, path) ??
        (opts.notFound
          ? { route: { method, path: "$default", handler: opts.notFound }, pathParameters: {} }
          : undefined);
      if (opts.cors) applyCors(req, res, opts.cors);
      if (opts.cors && isPreflight(req)) res.writeHead(204).end();
      else if (!body) sendMessage(res, 413, "Request Entity Too Large");
      else if (!match) sendMessage(res, 404, "Not Found");
      else {
        const handler = await getHandler(match.route.handler);
        const name = match.route.handler.replace(/\.[^.]*$/, "").replace(/[^\w-]+/g, "-");
        const event = toEvent(req, body, match.route, match.pathParameters);
        const context = makeContext(name, timeoutMs);
        if (STREAMING in handler) await (handler as unknown as StreamingHandler)(event, responseStream(res), context);
        else writeResult(res, await handler(event, context));
      }
    } catch (err) {
      // Only the error: request headers carry API keys and must not reach the log.
      log(`${method} ${path} error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (res.headersSent) res.destroy();
      else sendMessage(res, 500, "Internal Server Error");
    }
    log(`${method} ${path} ${res.statusCode} ${Math.round(performance.now() - started)}ms`);
    opts.onResponse?.(method, path, res.statusCode);
  });

  server.listen(opts.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
