// Handlers that answer before they are done: Lambda response streaming (a Function URL with
// RESPONSE_STREAM). The HTTP answer goes out when `respond` is called; the invocation goes on until
// the handler returns, so the code after `respond` (an attempt that outlives the engine's call, the
// next job's hand-over, a sweep) still runs. The local HTTP adapter serves the same handlers: where
// Lambda's `awslambda` global is missing, the handler is marked and the adapter passes a stream of
// its own. Written here because no library wraps Lambda's streaming globals.
import type { Writable } from "node:stream";
import { log, traced } from "@switchyard/core";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";

export interface ResponseMeta {
  statusCode: number;
  headers: Record<string, string>;
}

/** The stream a streaming handler writes its answer to; `setMeta` is the local adapter's prelude. */
export type ResponseStream = Writable & { setMeta?(meta: ResponseMeta): void };

type StreamingFn = (event: APIGatewayProxyEventV2, stream: ResponseStream, context: Context) => Promise<void>;

interface LambdaStreamingGlobals {
  streamifyResponse(fn: StreamingFn): unknown;
  HttpResponseStream: { from(stream: Writable, meta: ResponseMeta): Writable };
}

/** Marks a handler that the local adapter must call with a response stream. */
export const STREAMING = Symbol.for("switchyard.streaming");

// Lambda's runtime defines `awslambda.streamifyResponse`; other code may define an `awslambda`
// object of its own (Powertools' invoke store does, outside Lambda too), so the function is the test.
const candidate = (globalThis as unknown as { awslambda?: Partial<LambdaStreamingGlobals> }).awslambda;
const lambda = typeof candidate?.streamifyResponse === "function" ? (candidate as LambdaStreamingGlobals) : undefined;

/** Answers `status` with `body` as JSON, once; later calls are ignored. */
export type Respond = (status: number, body: unknown) => void;

/** Sends the status and headers; the body is then written to the stream it returns. */
export type OpenResponse = (meta: ResponseMeta) => Writable;

/**
 * A streaming handler in its plainest form: `open(meta)` sends status and headers and gives the
 * stream the body is written to (Lambda's HttpResponseStream, or the local adapter's). The
 * handler ends the stream itself; the invocation lasts until it returns.
 */
export function streamingHandler(
  role: string,
  fn: (event: APIGatewayProxyEventV2, context: Context, open: OpenResponse) => Promise<void>,
) {
  const ids = (event: APIGatewayProxyEventV2, context: Context) => ({
    role,
    request_id: event.requestContext?.requestId,
    aws_request_id: context?.awsRequestId,
  });
  const streaming: StreamingFn = (event, stream, context) =>
    traced(ids(event, context), () =>
      fn(event, context, (meta) => {
        if (lambda) return lambda.HttpResponseStream.from(stream, meta);
        stream.setMeta?.(meta);
        return stream;
      }),
    );
  if (lambda) return lambda.streamifyResponse(streaming);
  return Object.assign(streaming, { [STREAMING]: true as const });
}

/**
 * A streaming handler whose body calls `respond(status, body)` once, then may go on working. A
 * handler that returns without responding answers 500.
 */
export function respondingHandler(
  role: string,
  fn: (event: APIGatewayProxyEventV2, context: Context, respond: Respond) => Promise<void>,
) {
  return streamingHandler(role, async (event, context, open) => {
    let responded = false;
    const respond: Respond = (statusCode, body) => {
      if (responded) return;
      responded = true;
      open({ statusCode, headers: { "content-type": "application/json" } }).end(JSON.stringify(body));
    };
    try {
      await fn(event, context, respond);
    } catch (err) {
      // The error's name, message and stack only: nothing a request carried (a signature).
      log.error("unhandled error", err);
      respond(500, { detail: "Internal Server Error", code: "internal" });
      return;
    }
    respond(500, { detail: "the handler gave no answer", code: "internal" });
  });
}
