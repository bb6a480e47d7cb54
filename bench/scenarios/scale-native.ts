// Scenario 2b: the scale run's load down the native path, right after the relay's run on the same
// engine: the same number of `echo` jobs over the same number of targets, triggered with the same
// number of calls in flight, run by a plain SDK worker in this process. It measures what the engine
// alone sustains on this machine, the ceiling any path through it shares, and checks that its
// per-target concurrency key alone keeps each target's jobs in order, one at a time.
import { randomUUID } from "node:crypto";
import type { NativeWorker } from "../lib/native.ts";
import { waitsInterrupted } from "../lib/stack.ts";
import { mapLimit, round, type Summary, sleep, summarize } from "../lib/stats.ts";
import type { ScaleParams } from "./scale.ts";

export interface ScaleNativeResult {
  params: Pick<ScaleParams, "jobs" | "targets" | "inFlight">;
  completed: number;
  /** Jobs per second from the first trigger sent to the last task function returned. */
  throughput: number;
  wallSeconds: number;
  /** The trigger call (gRPC) as the client saw it. */
  triggerAck: Summary;
  triggerToStart: Summary;
  triggerToDone: Summary;
  order: { ok: boolean; targetsChecked: number; outOfOrder: number; overlaps: number; examples: string[] };
}

export async function runScaleNative(
  native: NativeWorker,
  p: Pick<ScaleParams, "jobs" | "targets" | "inFlight" | "timeoutMs">,
  log: (m: string) => void,
): Promise<ScaleNativeResult> {
  const tenantId = randomUUID();
  const targets = Array.from({ length: p.targets }, () => randomUUID());
  const plan = Array.from({ length: p.jobs }, (_, i) => ({
    jobId: randomUUID(),
    targetId: targets[i % targets.length] ?? "",
    seq: i,
  }));
  const sent = new Map<string, { at: number; acked: number }>();
  const first = performance.now();
  await mapLimit(plan, p.inFlight, async (job) => {
    const at = performance.now();
    await native.task.runNoWait({
      jobId: job.jobId,
      tenantId,
      targetId: job.targetId,
      apiName: "echo",
      parameters: { i: job.seq },
    });
    sent.set(job.jobId, { at, acked: performance.now() });
  });
  log(`  ${sent.size} native runs triggered in ${((performance.now() - first) / 1000).toFixed(1)} s`);
  const deadline = Date.now() + p.timeoutMs;
  const doneCount = () => plan.filter((j) => native.marks.has(j.jobId)).length;
  while (doneCount() < plan.length && Date.now() < deadline) {
    const down = waitsInterrupted();
    if (down) throw down;
    await sleep(100);
  }
  const done = plan.flatMap((j) => {
    const mark = native.marks.get(j.jobId);
    const s = sent.get(j.jobId);
    return mark && s ? [{ ...j, ...mark, sent: s }] : [];
  });
  log(`  ${done.length}/${plan.length} native runs completed`);

  // Per target: runs in start order follow the trigger order and never overlap. The relay path
  // keeps order through switchyard's own dispatch (one run per target in the engine at a time);
  // here only the engine's concurrency key does.
  const byTarget = new Map<string, typeof done>();
  for (const d of done) byTarget.set(d.targetId, [...(byTarget.get(d.targetId) ?? []), d]);
  let outOfOrder = 0;
  let overlaps = 0;
  const examples: string[] = [];
  for (const list of byTarget.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const cur = list[i];
      if (!prev || !cur) continue;
      // Out of order only when the later-started run was triggered (acknowledged) first.
      if (cur.seq < prev.seq && cur.sent.acked < prev.sent.at) {
        outOfOrder++;
        if (examples.length < 5) {
          const gap = Math.round(prev.sent.at - cur.sent.acked);
          examples.push(
            `trigger ${cur.seq} started after ${prev.seq}, which was sent ${gap} ms after it was acknowledged`,
          );
        }
      }
      if (cur.start < prev.end) overlaps++;
    }
  }
  for (const j of plan) native.marks.delete(j.jobId);
  const lastEnd = Math.max(...done.map((d) => d.end));
  return {
    params: { jobs: p.jobs, targets: p.targets, inFlight: p.inFlight },
    completed: done.length,
    throughput: round(done.length / ((lastEnd - first) / 1000)),
    wallSeconds: round((lastEnd - first) / 1000),
    triggerAck: summarize(done.map((d) => d.sent.acked - d.sent.at)),
    triggerToStart: summarize(done.map((d) => d.start - d.sent.at)),
    triggerToDone: summarize(done.map((d) => d.end - d.sent.at)),
    order: {
      ok: outOfOrder === 0 && overlaps === 0 && done.length === plan.length,
      targetsChecked: byTarget.size,
      outOfOrder,
      overlaps,
      examples,
    },
  };
}
