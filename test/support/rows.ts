// What Postgres holds for a job, read straight from the tables: for tests that check what the
// API, a worker or the dispatcher wrote, beyond what the API answers.
import { type Db, jobAttempts, jobs } from "@switchyard/db";
import { asc, eq, inArray } from "drizzle-orm";
import { poll } from "./poll.ts";

/** The job's row; fails when there is none. */
export async function jobRow(db: Db, jobId: string) {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, jobId));
  if (!row) throw new Error(`no row for job ${jobId}`);
  return row;
}

/** The attempts of the jobs, in the order they started. */
export function attemptsOf(db: Db, jobIds: string[]) {
  return db.select().from(jobAttempts).where(inArray(jobAttempts.jobId, jobIds)).orderBy(asc(jobAttempts.startedAt));
}

/** Polls until the job's first attempt has finished (whatever its outcome); returns that attempt. */
export function waitFirstAttemptFinished(db: Db, jobId: string, timeoutMs = 20_000) {
  return poll(
    async () => {
      const [first] = await attemptsOf(db, [jobId]);
      return first?.finishedAt ? first : undefined;
    },
    { timeoutMs, label: `the first attempt of job ${jobId} to finish` },
  );
}
