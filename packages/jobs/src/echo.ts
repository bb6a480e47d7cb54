// Returns its parameters unchanged: the smallest possible job, for wiring and smoke tests.

import { defineJobType } from "@switchyard/core/job-type";
import { z } from "zod";

export const echo = defineJobType({
  name: "echo",
  description: "Returns its parameters as the result.",
  parameters: z.record(z.string(), z.unknown()),
  defaults: { timeoutSeconds: 30, retries: 0 },
  async run(params) {
    return params;
  },
});
