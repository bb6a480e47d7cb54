// What handlers need, built once per Lambda instance (warm invocations reuse it) and only when
// first used: a route that never touches the database (openapi.json) needs no DATABASE_URL.
import { type Deps as CoreDeps, Dispatch, type Orchestrator } from "@switchyard/core";
import { type Db, sharedDatabase } from "@switchyard/db";
import { type DeliveryMode, HatchetRest, hatchetSettingsFromEnv } from "@switchyard/hatchet";
import { apiSettings } from "./settings.ts";

export interface Deps extends CoreDeps {
  hatchet: () => HatchetRest;
  delivery: DeliveryMode;
}

let hatchet: HatchetRest | undefined;
const hatchetRest = () => {
  hatchet ??= new HatchetRest(hatchetSettingsFromEnv());
  return hatchet;
};

/** Hatchet is reached lazily: a missing or wrong token fails the hand-over, which the row records. */
const orchestrator: Orchestrator = {
  submit: (input) => hatchetRest().submit(input),
  cancel: (runId) => hatchetRest().cancel(runId),
  runState: (runId) => hatchetRest().runState(runId),
  runWorker: (runId) => hatchetRest().runWorker(runId),
  heldByDeadWorker: (runId) => hatchetRest().heldByDeadWorker(runId),
  submitWebhook: (input) => hatchetRest().submitWebhook(input),
};

const db = (): Db => sharedDatabase().db;

let deps_: Deps | undefined;

export function deps(): Deps {
  deps_ ??= build();
  return deps_;
}

function build(): Deps {
  const settings = apiSettings();
  const delivery = settings.SWITCHYARD_DELIVERY ?? "direct";
  const timing = settings.SWITCHYARD_TIMING;
  return {
    delivery,
    get db() {
      return db();
    },
    orchestrator,
    // Relay mode: the relay is woken by NOTIFY. Direct mode: nothing listens, so the API hands a
    // job over itself, right after the change that let it go.
    host:
      delivery === "relay"
        ? Dispatch.relayHost
        : Dispatch.inlineHost({
            get db() {
              return db();
            },
            orchestrator,
            timing,
          }),
    timing,
    hatchet: hatchetRest,
  };
}
