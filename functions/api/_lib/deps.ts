// What handlers need, built once per Lambda instance (warm invocations reuse it) and only when
// first used: a route that never touches the database (openapi.json) needs no DATABASE_URL.
import type { Scheduler } from "@switchyard/core";
import { type Db, sharedDatabase } from "@switchyard/db";
import { HatchetRest } from "@switchyard/hatchet/rest";
import { hatchetSettingsFromEnv } from "@switchyard/hatchet/settings";

export interface Deps {
  readonly db: Db;
  scheduler: Scheduler;
  hatchet: () => HatchetRest;
}

let hatchet: HatchetRest | undefined;
const hatchetRest = () => {
  hatchet ??= new HatchetRest(hatchetSettingsFromEnv());
  return hatchet;
};

/** Hatchet is reached lazily: a missing or wrong token fails the hand-over, which the row records. */
const scheduler: Scheduler = {
  submit: (input) => hatchetRest().submit(input),
  cancel: (runId) => hatchetRest().cancel(runId),
};

const deps_: Deps = {
  get db() {
    return sharedDatabase().db;
  },
  scheduler,
  hatchet: hatchetRest,
};

export function deps(): Deps {
  return deps_;
}
