// What a job type (an executor) is. A job type is a name, a zod schema for its parameters and a
// run function; workers serve job types, the API validates parameters against their schemas.
import type { z } from "zod";

export interface JobTypeDefaults {
  /** Hard limit for one attempt, in seconds. */
  timeoutSeconds: number;
  /** Attempts after the first one for retryable failures. */
  retries: number;
}

export type LogType = "system" | "message" | "tool_use" | "error" | "progress";

export interface HttpExchangeRecord {
  request: { method: string; url: string; headers: Record<string, string>; body?: string };
  response?: { status: number; headers: Record<string, string>; body?: string };
  error?: string;
  durationMs: number;
}

export interface JobContext {
  jobId: string;
  tenantId: string;
  targetId: string;
  /** 0 for the first attempt. */
  attempt: number;
  /** Fires on cancel, on interrupt, and shortly before the worker's time runs out. */
  signal: AbortSignal;
  log(content: string | Record<string, unknown>, type?: LogType): Promise<void>;
  /** Reports progress in [0, 1] with an optional message; stored as a progress log. */
  progress(fraction: number, message?: string): Promise<void>;
  recordHttpExchange(exchange: HttpExchangeRecord): Promise<void>;
}

export interface JobType<S extends z.ZodType = z.ZodType, R = unknown> {
  name: string;
  description: string;
  parameters: S;
  defaults: JobTypeDefaults;
  run(params: z.infer<S>, ctx: JobContext): Promise<R>;
}

/** Declares a job type with its parameter type inferred from the schema. */
export function defineJobType<S extends z.ZodType, R>(def: JobType<S, R>): JobType<S, R> {
  return def;
}

/** Thrown by a job type to fail the attempt; `retryable` decides whether another attempt follows. */
export class JobFailure extends Error {
  override name = "JobFailure";
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}
