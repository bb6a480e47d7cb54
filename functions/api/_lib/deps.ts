// What handlers need, built once per Lambda instance (warm invocations reuse it).
import type { Scheduler } from "@switchyard/core";
import { type Db, sharedDatabase } from "@switchyard/db";
import { HatchetRest } from "@switchyard/hatchet/rest";
import { hatchetSettingsFromEnv } from "@switchyard/hatchet/settings";

export interface Deps {
  db: Db;
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

export function deps(): Deps {
  return { db: sharedDatabase().db, scheduler, hatchet: hatchetRest };
}
