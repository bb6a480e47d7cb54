// The lines and metrics of observe.ts: the deployed format (Powertools JSON and CloudWatch EMF on
// stdout), the readable one of npm run dev, and ids that stay with their own request or job.
import { setTimeout as sleep } from "node:timers/promises";
import {
  annotate,
  type Fields,
  log,
  metric,
  powertoolsSink,
  readableSink,
  type Sink,
  traced,
  useSink,
} from "@switchyard/core";
import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  useSink(undefined);
  vi.restoreAllMocks();
});

/** What the sink writes to stdout and stderr while `fn` runs, one parsed JSON document per line. */
function outputOf(fn: () => void): Array<Record<string, unknown>> {
  const written: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  }
  fn();
  vi.restoreAllMocks();
  return written
    .join("")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("the deployed format", () => {
  const env = { POWERTOOLS_LOG_LEVEL: "INFO", POWERTOOLS_METRICS_DISABLED: "false" };

  it("writes a line as one JSON document with the ids in scope and the fields given", () => {
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", env.POWERTOOLS_LOG_LEVEL);
    const docs = outputOf(() => {
      useSink(powertoolsSink());
      traced({ role: "worker", job_id: "j1", tenant_id: "t1", attempt: 0 }, () =>
        log.info("attempt started", { api_name: "echo" }),
      );
      log.debug("below the level");
    });
    expect(docs).toEqual([
      expect.objectContaining({
        level: "INFO",
        message: "attempt started",
        service: "switchyard",
        role: "worker",
        job_id: "j1",
        tenant_id: "t1",
        attempt: 0,
        api_name: "echo",
        timestamp: expect.any(String),
      }),
    ]);
  });

  it("writes a metric as CloudWatch EMF with its unit, across tenants and per tenant", () => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", env.POWERTOOLS_METRICS_DISABLED);
    const docs = outputOf(() => {
      useSink(powertoolsSink());
      metric("JobsFinished", 1, { tenant_id: "t1", job_id: "j1", status: "error" });
    });
    type Emf = {
      _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: unknown[] }> };
    };
    const sets = (docs as unknown as Emf[]).map((d) =>
      d._aws.CloudWatchMetrics[0]?.Dimensions.map((s) => [...s].sort()),
    );
    expect(sets).toEqual([[["service", "status"]], [["service", "status", "tenant"]]]);
    for (const doc of docs as unknown as Emf[]) {
      expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({
        Namespace: "switchyard",
        Metrics: [{ Name: "JobsFinished", Unit: "Count" }],
      });
      expect(doc).toMatchObject({ JobsFinished: 1, status: "error", job_id: "j1", service: "switchyard" });
    }
    expect(docs[1]).toMatchObject({ tenant: "t1" });
  });

  it("logs an error's name, message and stack, never its other properties", () => {
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", "INFO");
    const err = Object.assign(new Error("connection refused"), { config: { password: "hunter2-secret" } });
    const docs = outputOf(() => {
      useSink(powertoolsSink());
      log.error("unhandled error", err);
    });
    expect(docs[0]).toMatchObject({
      level: "ERROR",
      error: { name: "Error", message: "connection refused", stack: expect.stringContaining("observe.test.ts") },
    });
    expect(JSON.stringify(docs)).not.toContain("hunter2-secret");
  });
});

describe("the readable format (npm run dev)", () => {
  it("prints one line: time, level, role, message, then the fields", () => {
    const printed: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void printed.push(line));
    useSink(readableSink({ POWERTOOLS_LOG_LEVEL: "INFO" }));
    traced({ role: "api", job_id: "j1" }, () => log.info("job created", { api_name: "echo" }));
    log.debug("hidden below info");
    metric("JobsCreated", 1);
    expect(printed).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[api\] job created job_id=j1 api_name=echo$/),
    ]);
  });

  it("prints metrics at debug", () => {
    const printed: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void printed.push(line));
    useSink(readableSink({ POWERTOOLS_LOG_LEVEL: "DEBUG" }));
    metric("QueueWait", 42, { tenant_id: "t1" });
    expect(printed).toEqual([expect.stringMatching(/DEBUG \[-\] metric QueueWait=42ms tenant=t1$/)]);
  });
});

describe("ids in scope", () => {
  it("keeps each of two overlapping scopes' ids, and adds what one learns to it alone", async () => {
    const seen: Array<{ message: string; fields: Fields }> = [];
    const collect: Sink = { log: (_l, message, fields) => seen.push({ message, fields }), metric: () => {} };
    useSink(collect);
    const request = (id: string, tenant: string, delayMs: number) =>
      traced({ request_id: id }, async () => {
        await sleep(delayMs);
        annotate({ tenant_id: tenant });
        await sleep(delayMs);
        log.info(`done ${id}`);
      });
    await Promise.all([request("r1", "t1", 20), request("r2", "t2", 5)]);
    log.info("outside");
    expect(seen).toEqual([
      { message: "done r2", fields: { request_id: "r2", tenant_id: "t2" } },
      { message: "done r1", fields: { request_id: "r1", tenant_id: "t1" } },
      { message: "outside", fields: {} },
    ]);
  });

  it("lets a field given to a line override the scope's, and never fails the caller", () => {
    const throwing: Sink = {
      log: () => {
        throw new Error("disk full");
      },
      metric: () => {
        throw new Error("disk full");
      },
    };
    useSink(throwing);
    expect(() => log.info("x")).not.toThrow();
    expect(() => metric("JobsCreated", 1)).not.toThrow();
    const seen: Fields[] = [];
    useSink({ log: (_l, _m, f) => seen.push(f), metric: () => {} });
    traced({ role: "relay", job_id: "a" }, () => log.warn("w", { job_id: "b" }));
    expect(seen).toEqual([{ role: "relay", job_id: "b" }]);
  });
});
