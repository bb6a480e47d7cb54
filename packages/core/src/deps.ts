// What the job services need, passed in by each process (an API function, the relay, the worker).
import type { Db } from "@switchyard/db";
import type { DispatchHost } from "./job/dispatch.ts";
import type { Orchestrator } from "./orchestrator.ts";
import type { Timing } from "./timing.ts";

export interface Deps {
  db: Db;
  orchestrator: Orchestrator;
  /** How this process lets dispatch know a target's next job may go (relay or direct mode). */
  host: DispatchHost;
  timing: Timing;
}
