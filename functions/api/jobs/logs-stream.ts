// GET …/jobs/{job_id}/logs/stream: the job's log as Server-Sent Events, following it until it ends.
// Each line is an event `log` whose id is the line's id, so a client that reconnects (EventSource
// does so by itself, sending Last-Event-ID) gets only the lines it has not seen; `end` carries the
// status the job stopped at. A streaming function behind a Function URL in deployments, as API
// Gateway buffers whole answers (docs/deploy.md); errors before the stream starts are answered in
// the API's error shape. Written on Lambda's streaming API, which no middy middleware covers.
import type { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Jobs, log } from "@switchyard/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { streamingHandler } from "../../_lib/streaming.ts";
import { deps } from "../_lib/deps.ts";
import { authenticate, errorAnswer, parse } from "../_lib/http.ts";
import { JobPath, LogsQuery } from "../_lib/schemas.ts";

/** The stream ends this long before the function's deadline; the client reconnects. */
const DEADLINE_MARGIN_MS = 1000;

export const handler = streamingHandler("api", async (event, context, open) => {
  const d = deps();
  let request: { tenantId: string; targetId: string; jobId: string; after: number };
  try {
    request = await follow(event);
    // The job must exist before the stream opens: a 404 is an answer, not an event.
    await Jobs.get(d.db, request.tenantId, request.targetId, request.jobId);
  } catch (err) {
    const a = errorAnswer(err);
    open({ statusCode: a.statusCode, headers: a.headers }).end(a.body);
    return;
  }
  const out = open({
    statusCode: 200,
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
  });
  const closed = new Promise<void>((resolve) => {
    out.once("close", resolve);
    out.once("error", resolve);
  });
  const until = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS);
  try {
    await stream(out, request, until, closed);
  } catch (err) {
    // Headers are gone: the error becomes the stream's last event, without internals.
    log.error("log stream failed", err);
    write(out, 'event: error\ndata: {"detail":"the log stream failed; reconnect to resume"}\n\n');
  }
  out.end();
});

async function follow(event: APIGatewayProxyEventV2) {
  const tenantId = await authenticate("tenant", event, deps());
  // API Gateway and the local server fill pathParameters; a Function URL gives only the path.
  const path = parse(JobPath, event.pathParameters ?? idsFromPath(event.rawPath), "path") as {
    target_id: string;
    job_id: string;
  };
  const query = parse(LogsQuery, event.queryStringParameters ?? {}, "query") as { after?: number };
  const lastEventId = event.headers["last-event-id"];
  const resumed =
    lastEventId === undefined ? undefined : (parse(LogsQuery, { after: lastEventId }, "headers") as { after?: number });
  return { tenantId, targetId: path.target_id, jobId: path.job_id, after: resumed?.after ?? query.after ?? 0 };
}

function idsFromPath(rawPath: string): Record<string, string> {
  const m = /^\/api\/targets\/([^/]+)\/jobs\/([^/]+)\/logs\/stream$/.exec(rawPath);
  return m ? { target_id: decodeURIComponent(m[1] ?? ""), job_id: decodeURIComponent(m[2] ?? "") } : {};
}

async function stream(
  out: Writable,
  req: { tenantId: string; targetId: string; jobId: string; after: number },
  until: number,
  closed: Promise<void>,
) {
  const { db, timing } = deps();
  let after = req.after;
  let lastWrite = Date.now();
  let endSeen = false;
  // Reconnect after 1 s when the stream ends early (the deadline), not EventSource's default 3 s.
  write(out, "retry: 1000\n\n");
  while (!out.destroyed && Date.now() < until) {
    const tail = await Jobs.logTail(db, req.tenantId, req.targetId, req.jobId, after);
    for (const line of tail.lines) {
      write(out, `id: ${line.id}\nevent: log\ndata: ${JSON.stringify(line)}\n\n`);
      after = line.id;
      lastWrite = Date.now();
    }
    if (tail.lines.length === 0 && endSeen) {
      write(out, `event: end\ndata: ${JSON.stringify({ status: tail.status })}\n\n`);
      return;
    }
    // One more read after the status that ends the stream, for lines written just after it.
    endSeen = Jobs.FOLLOW_ENDS_AT.includes(tail.status);
    if (Date.now() - lastWrite >= timing.logFollowHeartbeatMs) {
      write(out, ": keep-alive\n\n");
      lastWrite = Date.now();
    }
    if (tail.lines.length < 500) await Promise.race([sleep(timing.logFollowPollMs), closed]);
  }
}

function write(out: Writable, chunk: string) {
  if (!out.destroyed && !out.writableEnded) out.write(chunk);
}
