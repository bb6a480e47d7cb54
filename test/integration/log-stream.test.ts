// GET …/logs/stream, the job's log as Server-Sent Events, read over real HTTP from the local server
// (which serves the streaming handler as a Function URL does) and parsed with eventsource-parser:
// it follows a running job to its end, resumes after Last-Event-ID, keeps an idle stream alive,
// and refuses what GET …/logs/ refuses, in the error shape, before any event.
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { jobPath, newTenant, type TenantClient } from "../support/client.ts";
import { poll } from "../support/poll.ts";

let t: TestApp;
let c: TenantClient & { id: string };

beforeAll(async () => {
  // Reads every 50 ms, and a keep-alive comment after 300 ms of quiet.
  t = await startTestApp({ timing: { logFollowPollMs: 50, logFollowHeartbeatMs: 300 } });
  c = await newTenant(t);
});
afterAll(async () => {
  await c?.cancelRunning();
  await t?.stop();
});

interface Stream {
  status: number;
  contentType: string | null;
  events: EventSourceMessage[];
  comments: string[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens the stream and parses it as it arrives. */
async function open(targetId: string, jobId: string, opts: { headers?: Record<string, string>; query?: string } = {}) {
  const abort = new AbortController();
  const res = await fetch(`${t.apiUrl}${jobPath(targetId, jobId)}/logs/stream${opts.query ?? ""}`, {
    headers: { "x-api-key": c.key, ...opts.headers },
    signal: abort.signal,
  });
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e), onComment: (x) => comments.push(x) });
  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // aborted by close()
    }
  })();
  const s: Stream = {
    status: res.status,
    contentType: res.headers.get("content-type"),
    events,
    comments,
    ended,
    close: () => abort.abort(),
  };
  return s;
}

const codeOf = async (res: Response) => ((await res.json()) as { code: string }).code;

const logEvents = (s: Stream) =>
  s.events.filter((e) => e.event === "log").map((e) => ({ id: Number(e.id), ...JSON.parse(e.data) }));

describe("GET …/logs/stream", () => {
  it("streams a finished job's whole log, then `end` with its status, and closes", async () => {
    const targetId = await c.target("stream-done");
    const jobId = await c.job(targetId, "echo", { hello: "stream" });
    await c.waitStatus(targetId, jobId, "success");
    const s = await open(targetId, jobId);
    expect(s.status).toBe(200);
    expect(s.contentType).toMatch(/^text\/event-stream/);
    await s.ended;
    const logs = await c.api("GET", `${jobPath(targetId, jobId)}/logs/`);
    expect(logEvents(s)).toEqual(logs.body);
    expect(s.events.at(-1)).toMatchObject({ event: "end", data: JSON.stringify({ status: "success" }) });
  });

  it("follows a running job as it writes, until it ends", async () => {
    const targetId = await c.target("stream-live");
    const jobId = await c.job(targetId, "sleep", { ms: 600_000 });
    await c.waitStatus(targetId, jobId, "running");
    const s = await open(targetId, jobId);
    const before = await poll(async () => (logEvents(s).length > 0 ? logEvents(s).length : undefined), {
      label: "the lines written so far",
    });
    expect(s.events.some((e) => e.event === "end")).toBe(false);
    // Lines written after the stream opened arrive on it; the cancel ends the job and the stream.
    await c.action(targetId, jobId, "cancel");
    await s.ended;
    const lines = logEvents(s);
    expect(lines.length).toBeGreaterThan(before);
    const logs = await c.api("GET", `${jobPath(targetId, jobId)}/logs/`);
    expect(lines).toEqual(logs.body);
    expect(lines.map((l) => l.id)).toEqual([...lines.map((l) => l.id)].sort((a, b) => a - b));
    expect(s.events.at(-1)).toMatchObject({ event: "end", data: JSON.stringify({ status: "canceled" }) });
  });

  it("resumes after Last-Event-ID (or ?after=) with only the newer lines", async () => {
    const targetId = await c.target("stream-resume");
    const jobId = await c.job(targetId, "echo", { resume: true });
    await c.waitStatus(targetId, jobId, "success");
    const all = (await c.api("GET", `${jobPath(targetId, jobId)}/logs/`)).body as Array<{ id: number }>;
    expect(all.length).toBeGreaterThanOrEqual(3);
    const first = all[0]?.id ?? 0;
    const viaHeader = await open(targetId, jobId, { headers: { "last-event-id": String(first) } });
    const viaQuery = await open(targetId, jobId, { query: `?after=${first}` });
    await Promise.all([viaHeader.ended, viaQuery.ended]);
    expect(logEvents(viaHeader)).toEqual(all.slice(1));
    expect(logEvents(viaQuery)).toEqual(all.slice(1));
  });

  it("keeps an idle stream alive with comments while the job waits", async () => {
    const targetId = await c.target("stream-idle");
    const blocker = await c.job(targetId, "sleep", { ms: 600_000 });
    await c.waitStatus(targetId, blocker, "running");
    const waiting = await c.job(targetId, "echo", {});
    const s = await open(targetId, waiting);
    await poll(async () => (s.comments.length >= 2 ? true : undefined), { label: "two keep-alive comments" });
    expect(s.events.some((e) => e.event === "end")).toBe(false);
    s.close();
    await c.action(targetId, blocker, "cancel");
    await c.waitStatus(targetId, waiting, "success");
  });

  it("refuses a missing key, another tenant's job and a bad id in the error shape, before any event", async () => {
    const targetId = await c.target("stream-refused");
    const jobId = await c.job(targetId, "echo", {});
    const other = await newTenant(t);
    const cases: Array<[string, number, string]> = [];
    const noKey = await fetch(`${t.apiUrl}${jobPath(targetId, jobId)}/logs/stream`);
    cases.push(["no key", noKey.status, await codeOf(noKey)]);
    const foreign = await fetch(`${t.apiUrl}${jobPath(targetId, jobId)}/logs/stream`, {
      headers: { "x-api-key": other.key },
    });
    cases.push(["another tenant", foreign.status, await codeOf(foreign)]);
    const bad = await fetch(`${t.apiUrl}${jobPath(targetId, "nope")}/logs/stream`, { headers: { "x-api-key": c.key } });
    cases.push(["bad id", bad.status, await codeOf(bad)]);
    const badCursor = await fetch(`${t.apiUrl}${jobPath(targetId, jobId)}/logs/stream`, {
      headers: { "x-api-key": c.key, "last-event-id": "-1" },
    });
    cases.push(["bad Last-Event-ID", badCursor.status, await codeOf(badCursor)]);
    expect(cases).toEqual([
      ["no key", 401, "auth.missing_key"],
      ["another tenant", 404, "target.not_found"],
      ["bad id", 422, "request.invalid"],
      ["bad Last-Event-ID", 422, "request.invalid"],
    ]);
  });
});
