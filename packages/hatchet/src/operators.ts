// Direct delivery's registration: the worker function as an HTTP operator of the engine, which
// then polls its health endpoint for the actions it serves and POSTs it each run. Idempotent:
// the operator's name carries a fingerprint of its endpoints and secret, so an unchanged worker
// keeps its operator, and a moved or re-keyed one gets a new operator while the old ones go. (The
// engine applies a PATCH only when it restarts, and never returns the secret to compare.)
import { createHash } from "node:crypto";
import type { HatchetRest, HttpOperator } from "./rest.ts";

export interface OperatorWorker {
  /** The worker's name in switchyard's registry. */
  name: string;
  /** The worker function's base URL; the operator calls `/operator/run` and `/operator/health` under it. */
  url: string;
  secret: string;
  /** Scopes the operator like the workflow (test files share an engine tenant, each in its namespace). */
  namespace?: string;
}

/** The longest call the engine may hold open; engine v0.105.0 gives up after 25 s regardless. */
const REQUEST_TIMEOUT_SECONDS = 900;

const base = (url: string) => url.replace(/\/$/, "");
export const operatorEndpoints = (url: string) => ({
  triggerEndpoint: `${base(url)}/operator/run`,
  healthcheckEndpoint: `${base(url)}/operator/health`,
});

/** The start of the names of switchyard's operators in a namespace (of one worker, when named). */
export const operatorPrefix = (namespace?: string, workerName = "") =>
  `switchyard:${namespace || "-"}:${workerName ? `${workerName}:` : ""}`;

const prefix = (w: Pick<OperatorWorker, "name" | "namespace">) => operatorPrefix(w.namespace, w.name);

export function operatorName(w: OperatorWorker): string {
  const fingerprint = createHash("sha256")
    .update(JSON.stringify([operatorEndpoints(w.url), w.secret, REQUEST_TIMEOUT_SECONDS]))
    .digest("hex")
    .slice(0, 12);
  return `${prefix(w)}${fingerprint}`;
}

/** Creates the worker's operator unless it exists as is; removes the worker's other operators. */
export async function ensureOperator(rest: HatchetRest, w: OperatorWorker): Promise<HttpOperator> {
  const name = operatorName(w);
  const existing = await rest.listOperators();
  const current =
    existing.find((o) => o.name === name) ??
    (await rest.createOperator({
      name,
      ...operatorEndpoints(w.url),
      signingSecret: w.secret,
      requestTimeoutSeconds: REQUEST_TIMEOUT_SECONDS,
    }));
  for (const stale of existing.filter((o) => o.name.startsWith(prefix(w)) && o.name !== name)) {
    await rest.deleteOperator(stale.metadata.id);
  }
  return current;
}

/** Removes every operator of the worker (it was unregistered). */
export async function removeOperators(rest: HatchetRest, w: Pick<OperatorWorker, "name" | "namespace">) {
  for (const o of (await rest.listOperators()).filter((o) => o.name.startsWith(prefix(w)))) {
    await rest.deleteOperator(o.metadata.id);
  }
}
