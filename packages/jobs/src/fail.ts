// Fails on purpose, so retries and failure handling can be tested end to end.

import { defineJobType, JobFailure } from "@switchyard/core/job-type";
import { z } from "zod";

export const fail = defineJobType({
  name: "fail",
  description:
    "Throws a JobFailure with the given message; with `succeed_on_attempt`, succeeds from that attempt on (0 is the first).",
  parameters: z.strictObject({
    message: z.string().default("failed on purpose"),
    retryable: z.boolean().default(false),
    succeed_on_attempt: z.number().int().min(0).optional(),
  }),
  defaults: { timeoutSeconds: 30, retries: 2 },
  async run({ message, retryable, succeed_on_attempt }, ctx) {
    if (succeed_on_attempt !== undefined && ctx.attempt >= succeed_on_attempt) {
      return { attempt: ctx.attempt };
    }
    throw new JobFailure(message, retryable);
  },
});
