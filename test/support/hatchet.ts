import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { poll } from "./poll.ts";

/** Client settings for the test engine plus a namespace of its own, so test files never share workflows. */
export function hatchetTestEnv(): Record<string, string> {
  const engine = inject("hatchetEnv");
  return {
    ...pick(process.env, [
      "HATCHET_CLIENT_TOKEN",
      "HATCHET_CLIENT_TLS_STRATEGY",
      "HATCHET_CLIENT_HOST_PORT",
      "HATCHET_CLIENT_API_URL",
    ]),
    ...engine,
    HATCHET_CLIENT_NAMESPACE: `t${randomUUID().slice(0, 8)}`,
    HATCHET_CLIENT_LOG_LEVEL: "ERROR",
  };
}

/**
 * Polls until Hatchet reports the run in one of the states (QUEUED, RUNNING, COMPLETED, …). The
 * engine's run status trails the run by a moment.
 */
export function waitRunState(
  hatchet: { runState(runId: string): Promise<string> },
  runId: string,
  want: string | string[],
  timeoutMs = 20_000,
) {
  const wanted = ([] as string[]).concat(want);
  return poll(async () => (wanted.includes(await hatchet.runState(runId)) ? true : undefined), {
    timeoutMs,
    label: `Hatchet run ${runId} ${wanted.join(" or ")}`,
  });
}

function pick(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((k) => (env[k] ? [[k, env[k]]] : [])));
}
