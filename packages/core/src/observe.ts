// What the people who run switchyard see: log lines and metrics that each carry the ids of the
// request or job they belong to, so one job can be followed from its create through the engine
// to its worker. The ids travel in AsyncLocalStorage: concurrent requests and attempts in one
// process (npm run dev, the relay) never lend each other theirs, which Powertools' own
// appendKeys (one set per process, as one Lambda invocation at a time assumes) would.
//
// Deployed, Powertools for AWS Lambda writes the lines as JSON and the metrics as CloudWatch
// embedded metric format (EMF), both on stdout, where CloudWatch Logs turns EMF into metrics
// with no API call. `npm run dev` prints readable lines instead, metrics among them at debug.
import { AsyncLocalStorage } from "node:async_hooks";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { setting } from "./config.ts";

/** The ids a line or metric carries: whichever of them the request or job in progress has. */
export interface TraceIds {
  /** The part of switchyard writing: api, worker, relay (one process may hold several in npm run dev). */
  role?: string;
  /** API Gateway's request id (the `x-request-id` answered to the client). */
  request_id?: string;
  /** Lambda's invocation id, for the platform's own REPORT lines. */
  aws_request_id?: string;
  tenant_id?: string;
  target_id?: string;
  job_id?: string;
  hatchet_run_id?: string;
  attempt?: number;
}

const trace = new AsyncLocalStorage<TraceIds>();

/** Runs `fn` with `ids` added to the current ones: every line and metric inside carries them. */
export function traced<T>(ids: TraceIds, fn: () => T): T {
  const known = Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined && v !== null));
  return trace.run({ ...trace.getStore(), ...known }, fn);
}

/**
 * Adds ids learnt on the way (the tenant, once its key is checked) to the current scope, for the
 * rest of it; outside any scope it does nothing.
 */
export function annotate(ids: TraceIds): void {
  const store = trace.getStore();
  if (store) Object.assign(store, Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined)));
}

/** The ids of the request or job in progress. */
export function currentTrace(): TraceIds {
  return trace.getStore() ?? {};
}

/**
 * Every metric switchyard emits, with its unit. Names are CloudWatch's (namespace `switchyard`,
 * dimensions `service` and `tenant`, and `status` or `kind` where given); docs/operations.md says
 * what each means and which alarm to set on it.
 */
export const METRICS = {
  JobsCreated: "Count",
  JobsStarted: "Count",
  JobsFinished: "Count",
  /** A job's create → its first attempt's start. */
  QueueWait: "Milliseconds",
  /** A job's hand-over to the engine → its attempt's start: the engine and the delivery. */
  HandOffTime: "Milliseconds",
  /** A job the API or dispatcher could not hand to the engine (it is retried). */
  HandOverFailures: "Count",
  /** A call to a worker or a webhook endpoint that failed (kind: job or webhook). */
  DeliveryFailures: "Count",
} as const;
export type MetricName = keyof typeof METRICS;

export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

/** Where lines and metrics go: JSON and EMF (deployed), readable lines (npm run dev), or a test's list. */
export interface Sink {
  log(level: Level, message: string, fields: Fields): void;
  metric(name: MetricName, value: number, dimensions: Record<string, string>, fields: Fields): void;
}

/** Powertools' levels, lowest first: a line prints when its level is at or above the threshold. */
const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"];

/** POWERTOOLS_LOG_LEVEL in a process's settings (config.ts); INFO unless set. */
export const logEnv = {
  POWERTOOLS_LOG_LEVEL: setting((raw) => {
    if (raw !== undefined && !LEVELS.includes(raw.toUpperCase())) {
      throw new Error(`POWERTOOLS_LOG_LEVEL must be one of ${LEVELS.join(", ")}, not ${JSON.stringify(raw)}`);
    }
    return raw;
  }),
};

const rank = (level: string) => LEVELS.indexOf(level.toUpperCase());

/** JSON lines and EMF metrics through Powertools (service and namespace `switchyard` unless set). */
export function powertoolsSink(env: NodeJS.ProcessEnv = process.env): Sink {
  const serviceName = env.POWERTOOLS_SERVICE_NAME ?? "switchyard";
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? "switchyard", serviceName });
  return {
    log(level, message, fields) {
      logger[level](message, fields);
    },
    metric(name, value, dimensions, fields) {
      // One EMF document per event and dimension set, each with its own dimensions (concurrent
      // events never share a set): across tenants (service, status or kind) for the alarms, and
      // per tenant. Powertools folds both sets into one document only with a warning per key.
      const { tenant, ...rest } = dimensions;
      for (const set of tenant ? [rest, dimensions] : [rest]) {
        const one = metrics.singleMetric();
        for (const [k, v] of Object.entries(set)) one.addDimension(k, v);
        for (const [k, v] of Object.entries(fields)) one.addMetadata(k, String(v));
        one.addMetric(name, METRICS[name], value);
      }
    },
  };
}

/**
 * One readable line per entry: time, level, role, message, then the other fields as key=value.
 * Written here because Powertools prints only JSON (its dev mode indents it over many lines).
 */
export function readableSink(env: NodeJS.ProcessEnv = process.env): Sink {
  // An unknown level is refused at start-up (logEnv); here it falls back to INFO, as Powertools does.
  const given = rank(env.POWERTOOLS_LOG_LEVEL ?? "INFO");
  const min = given < 0 ? rank("INFO") : given;
  const print = (level: Level, text: string, { role, ...fields }: Fields) => {
    if (rank(level) < min) return;
    const time = new Date().toISOString().slice(11, 23);
    const pairs = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    const line = [time, level.toUpperCase().padEnd(5), `[${String(role ?? "-")}]`, text, ...pairs].join(" ");
    (level === "warn" || level === "error" ? console.error : console.log)(line);
  };
  return {
    log: print,
    metric(name, value, dimensions, fields) {
      print("debug", `metric ${name}=${value}${METRICS[name] === "Milliseconds" ? "ms" : ""}`, {
        ...dimensions,
        ...fields,
      });
    },
  };
}

let sink: Sink | undefined;

/**
 * Replaces where lines and metrics go (npm run dev prints them readably, tests collect them);
 * returns the sink it replaced. Unset, it is Powertools.
 */
export function useSink(next: Sink | undefined): Sink | undefined {
  const previous = sink;
  sink = next;
  return previous;
}

const current = (): Sink => {
  sink ??= powertoolsSink();
  return sink;
};

function write(level: Level, message: string, fields: Fields = {}) {
  try {
    current().log(level, message, { ...currentTrace(), ...fields });
  } catch {
    // A log line is never worth failing the request or the job.
  }
}

export const log = {
  debug: (message: string, fields?: Fields) => write("debug", message, fields),
  info: (message: string, fields?: Fields) => write("info", message, fields),
  warn: (message: string, fields?: Fields) => write("warn", message, fields),
  /** With the error's name, message and stack (never its other properties, which may hold secrets). */
  error: (message: string, err?: unknown, fields?: Fields) =>
    write("error", message, {
      ...fields,
      ...(err === undefined
        ? {}
        : err instanceof Error
          ? { error: { name: err.name, message: err.message, stack: err.stack } }
          : { error: { message: String(err) } }),
    }),
};

/**
 * Records one value of a metric, per tenant (the current one unless given). The job and target
 * ids go along as searchable properties, not dimensions (one series per job would be useless).
 */
export function metric(
  name: MetricName,
  value: number,
  about: Pick<TraceIds, "tenant_id" | "target_id" | "job_id"> & { status?: string; kind?: string } = {},
): void {
  const { tenant_id, target_id, job_id, status, kind } = { ...currentTrace(), ...about };
  const dimensions: Record<string, string> = {
    ...(tenant_id ? { tenant: tenant_id } : {}),
    ...(status ? { status } : {}),
    ...(kind ? { kind } : {}),
  };
  try {
    current().metric(name, value, dimensions, {
      ...(job_id ? { job_id } : {}),
      ...(target_id ? { target_id } : {}),
    });
  } catch {
    // As for log lines.
  }
}
