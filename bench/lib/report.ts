// Turns results.json into docs/benchmarks.md (the generated part between the result markers; the
// notes around it are kept) and bench/chart.svg.
//
// The chart is written by hand as SVG: a dozen bars need no chart library, the file is plain text
// that diffs well between runs, renders on GitHub without scripts, and the benchmark stays free
// of dependencies that would have to be installed, audited and kept up to date.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import type { Summary } from "./stats.ts";

export const START = "<!-- results:start -->";
export const END = "<!-- results:end -->";

export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: the report reads results.json field by field.
type Json = any;

const ms = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? "–" : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
const num = (v: number | undefined, digits = 1) =>
  v === undefined || !Number.isFinite(v) ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: digits });
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

function table(head: string[], rows: string[][], align?: string[]): string {
  const sep = head.map((_, i) => align?.[i] ?? (i === 0 ? "---" : "---:"));
  return [head, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

const pct = (s: Summary | undefined) => [ms(s?.p50), ms(s?.p90), ms(s?.p99)];

export interface ChartRow {
  label: string;
  p50: number;
  p99: number;
}

export function chartRows(r: Json): ChartRow[] {
  const rows: ChartRow[] = [];
  const add = (label: string, s: Summary | undefined) => {
    if (s && Number.isFinite(s.p50) && Number.isFinite(s.p99)) rows.push({ label, p50: s.p50, p99: s.p99 });
  };
  const p = r.scenarios?.relayVsNative;
  add("1 relay, burst: create → start", p?.relay?.burst?.createToStart);
  add("1 relay, burst: create → done", p?.relay?.burst?.createToDone);
  add("1 native, burst: create → start", p?.native?.burst?.createToStart);
  add("1 native, burst: create → done", p?.native?.burst?.createToDone);
  add("1 relay, one at a time: create → done", p?.relay?.sequential?.createToDone);
  add("1 native, one at a time: create → done", p?.native?.sequential?.createToDone);
  const s = r.scenarios?.scale;
  add("2 scale: create → done", s?.createToDone);
  add("2 lanes: hand-off to the waiting next job", s?.handoff);
  const h = r.scenarios?.apiHandlers;
  add("3 handler: create", h?.create);
  add("3 handler: get", h?.get);
  add("3 handler: list-all", h?.listAll);
  const c = r.scenarios?.cancel;
  add("4 cancel: ack → executor aborted", c?.ackToAbort);
  add("4 cancel: ack → status visible", c?.ackToVisible);
  return rows;
}

const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** A horizontal bar chart of p50 and p99 per row on a logarithmic time axis. */
export function chartSvg(rows: ChartRow[], title: string): string {
  const left = 300;
  const right = 70;
  const plotW = 560;
  const top = 56;
  const rowH = 30;
  const width = left + plotW + right;
  const height = top + rows.length * rowH + 40;
  const maxV = Math.max(10, ...rows.map((r) => r.p99));
  const minV = Math.min(1, ...rows.map((r) => r.p50).filter((v) => v > 0));
  const lo = 10 ** Math.floor(Math.log10(minV));
  const hi = 10 ** Math.ceil(Math.log10(maxV));
  const x = (v: number) =>
    left + (Math.log10(Math.max(v, lo)) - Math.log10(lo)) * (plotW / (Math.log10(hi) - Math.log10(lo)));
  const label = (v: number) =>
    v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s` : `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} ms`;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title id="chart-title">${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${left}" y="32" width="12" height="10" fill="#2b6cb0"/><text x="${left + 16}" y="41">p50</text>`,
    `<rect x="${left + 60}" y="32" width="12" height="10" fill="#90cdf4"/><text x="${left + 76}" y="41">p99</text>`,
    `<text x="${left + 120}" y="41" fill="#555">logarithmic time axis</text>`,
  );
  for (let v = lo; v <= hi; v *= 10) {
    const gx = x(v).toFixed(1);
    out.push(
      `<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + rows.length * rowH}" stroke="#ddd"/>`,
      `<text x="${gx}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`,
    );
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${esc(r.label)}</text>`);
    const w50 = Math.max(1, x(r.p50) - left);
    const w99 = Math.max(1, x(r.p99) - left);
    out.push(
      `<rect x="${left}" y="${y + 4}" width="${w99.toFixed(1)}" height="22" fill="#90cdf4"/>`,
      `<rect x="${left}" y="${y + 9}" width="${w50.toFixed(1)}" height="12" fill="#2b6cb0"/>`,
      `<text x="${(left + w99 + 4).toFixed(1)}" y="${y + 13}" font-size="10" fill="#333">${label(r.p99)}</text>`,
      `<text x="${(left + w99 + 4).toFixed(1)}" y="${y + 25}" font-size="10" fill="#2b6cb0">${label(r.p50)}</text>`,
    );
  });
  out.push("</svg>", "");
  return out.join("\n");
}

function breakdownTable(one: Record<string, Summary> | undefined, burst: Record<string, Summary> | undefined): string {
  if (!one || !burst) return "";
  return table(
    ["segment", "one at a time p50", "p90", "last burst p50", "p90"],
    Object.entries(one).map(([k, s]) => [k, ms(s.p50), ms(s.p90), ms(burst[k]?.p50), ms(burst[k]?.p90)]),
  );
}

function cpuTable(r: Json): string {
  const scenarios = Object.entries(r.scenarios ?? {}).filter(([, v]) => (v as Json)?.cpu);
  if (scenarios.length === 0) return "";
  const groups = [...new Set(scenarios.flatMap(([, v]) => Object.keys((v as Json).cpu.byGroup)))].sort();
  const rows = groups.map((g) => [g, ...scenarios.map(([, v]) => num((v as Json).cpu.byGroup[g] ?? 0, 2))]);
  rows.push(["wall-clock seconds", ...scenarios.map(([, v]) => num((v as Json).cpu.seconds, 1))]);
  rows.push(["both cores busy", ...scenarios.map(([, v]) => `${Math.round((v as Json).cpu.machineBusy * 100)} %`)]);
  return table(["CPU seconds", ...scenarios.map(([k]) => k)], rows);
}

export function markdown(r: Json): string {
  const m = r.machine;
  const v = r.versions;
  const lines: string[] = [];
  const p = r.scenarios?.relayVsNative;
  const s = r.scenarios?.scale;
  const h = r.scenarios?.apiHandlers;
  const c = r.scenarios?.cancel;
  const f = r.scenarios?.functions;
  lines.push(
    `Run of ${r.generatedAt} (\`npm run bench\`, ${num(r.durationSeconds, 0)} s in all).`,
    "",
    "![](../bench/chart.svg)",
    "",
    "### Goals",
    "",
    table(
      ["goal", "measured", "met"],
      (r.goals as Goal[]).map((g) => [g.goal, g.measured, g.met ? "yes" : "**no**"]),
      ["---", "---", "---"],
    ),
    "",
  );
  if (r.productErrors?.count > 0) {
    lines.push(
      `The product processes logged ${r.productErrors.count} error lines during the run, e.g. ${(r.productErrors.examples as string[]).map((e) => `\`${e}\``).join("; ")}.`,
      "",
    );
  }
  for (const [name, sc] of Object.entries(r.scenarios ?? {})) {
    if ((sc as Json)?.error) lines.push(`**Scenario ${name} failed:** ${(sc as Json).error}`, "");
  }
  if (p?.relay) {
    const row = (name: string, x: Json, seq: boolean) => {
      const part = seq ? x.sequential : x.burst;
      return [name, ...pct(part.createToStart), ...pct(part.createToDone), seq ? "–" : num(x.burst.throughputMedian)];
    };
    lines.push(
      "### 1. Relay path vs native path",
      "",
      `${p.params.rounds} alternating rounds; each round sends a burst of ${p.params.burst} \`echo\` jobs (one per target, all at once) down each path, then ${p.params.sequentialPerRound} jobs one at a time. Relay: HTTP create → API → Postgres (commit and NOTIFY; the create answers) → the relay's dispatcher → Hatchet (bulk trigger) → relay → signed POST → worker → Postgres; start = \`started_at\`, done = \`completed_at\`. Native: \`task.runNoWait\` → Hatchet → an SDK worker in the benchmark process running \`echo.run\`; start = the task function begins, done = \`ref.output\` resolves. Both tasks use the same per-target concurrency key.`,
      "",
      table(
        ["path", "start p50", "start p90", "start p99", "done p50", "done p90", "done p99", "jobs/s (median round)"],
        [
          row("relay, burst", p.relay, false),
          row("native, burst", p.native, false),
          row("relay, one at a time", p.relay, true),
          row("native, one at a time", p.native, true),
        ],
      ),
      "",
      `Ratios relay/native: latency p50 (burst, create → done) **${num(p.ratios.latencyP50, 2)}**; one at a time ${num(p.ratios.latencyP50Sequential, 2)}; throughput **${num(p.ratios.throughput, 2)}**. Throughput per round: relay ${p.relay.burst.throughputPerRound.join(", ")}; native ${p.native.burst.throughputPerRound.join(", ")} jobs/s. Create answered (client): relay p50 ${ms(p.relay.burst.createAck.p50)}, native trigger p50 ${ms(p.native.burst.createAck.p50)}; native create → task function returned p50 ${ms(p.native.burst.createToFnEnd?.p50)}.`,
      "",
      `Where the time goes, segment by segment (engine timestamps read from its own tables; ${p.breakdown.oneAtATime.sampleRuns} one-at-a-time runs and the ${p.breakdown.burst.sampleRuns} runs of the last bursts). The API, engine, relay and worker rows follow each other in time; the client rows run alongside them. Values near zero can come out slightly negative: the processes' clocks agree only to about a millisecond.`,
      "",
      "Relay path:",
      "",
      breakdownTable(p.breakdown.oneAtATime.relay, p.breakdown.burst.relay),
      "",
      "Native path:",
      "",
      breakdownTable(p.breakdown.oneAtATime.native, p.breakdown.burst.native),
      "",
    );
  }
  if (s?.params) {
    lines.push(
      "### 2. Scale",
      "",
      `${num(s.params.jobs, 0)} \`echo\` jobs over ${s.params.targets} targets, created over HTTP with ${s.params.inFlight} requests in flight.`,
      "",
      table(
        ["measure", "value"],
        [
          ["completed / succeeded", `${s.completed} / ${s.succeeded}`],
          [
            "sustained throughput (first create → last completion)",
            `**${num(s.throughput)} jobs/s** over ${num(s.wallSeconds)} s`,
          ],
          ["create rate (create phase)", `${num(s.createRate)} creates/s`],
          ...(s.cpu
            ? [
                [
                  "CPU per job (each process group's CPU over the scenario ÷ jobs run, lanes included)",
                  Object.entries(s.cpu.byGroup as Record<string, number>)
                    .filter(([, sec]) => sec >= 0.5)
                    .sort((a, b) => b[1] - a[1])
                    .map(
                      ([g, sec]) =>
                        `${g} ${((sec * 1000) / Math.max(1, s.completed + s.params.lanes * s.params.jobsPerLane)).toFixed(1)} ms`,
                    )
                    .join("; "),
                ],
              ]
            : []),
          [
            "per-target order (start order = seq, no overlap)",
            s.order.ok
              ? `held on all ${s.order.targetsChecked} targets`
              : `**violated**: ${s.order.outOfOrder} out of order, ${s.order.overlaps} overlaps, ${s.order.missingAttempts} missing attempts`,
          ],
        ],
        ["---", "---"],
      ),
      "",
      table(
        ["latency", "p50", "p90", "p99"],
        [
          ["create answered (client)", ...pct(s.createAck)],
          ["create → start", ...pct(s.createToStart)],
          ["create → done", ...pct(s.createToDone)],
          ["start → done (worker)", ...pct(s.run)],
          [
            `lanes: previous job finished → next job of the target started (next job already waiting; n = ${s.handoff?.n ?? 0})`,
            ...pct(s.handoff),
          ],
          ["API create handler as served (product log, whole ms)", ...pct(s.served?.apiCreate)],
          ["worker /deliver as served (product log, whole ms)", ...pct(s.served?.workerDeliver)],
        ],
      ),
      "",
      "Where a create's time went under this load (sample of jobs, engine timestamps):",
      "",
      table(
        ["part", "p50", "p90"],
        Object.entries(s.createParts ?? {}).map(([k, x]) => [k, ms((x as Summary).p50), ms((x as Summary).p90)]),
      ),
      "",
      `Lanes: ${s.params.lanes} more targets with ${s.params.jobsPerLane} jobs each created back to back, so a job's successor is already waiting when it ends; order ${s.lanesOrder?.ok ? "held" : "**violated**"} there too. A hand-off as the engine saw it (ms after the previous job's \`completed_at\`, up to 100 pairs):`,
      "",
      table(
        ["event", "p50", "p90"],
        Object.entries(s.handoffEngine ?? {}).map(([k, x]) => [k, ms((x as Summary).p50), ms((x as Summary).p90)]),
      ),
      "",
    );
  }
  const sn = r.scenarios?.scaleNative;
  if (sn?.params) {
    const perJob = (group: string) =>
      `${((1000 * (sn.cpu?.byGroup?.[group] ?? 0)) / Math.max(1, sn.completed)).toFixed(1)} ms`;
    lines.push(
      "The same load down the native path, right after, on the same engine: the engine's own ceiling on this machine.",
      "",
      table(
        ["native path", "value"],
        [
          [
            "completed; sustained throughput (first trigger → last task returned)",
            `${sn.completed}/${sn.params.jobs}; **${num(sn.throughput)} jobs/s** over ${num(sn.wallSeconds)} s`,
          ],
          ...(s?.throughput ? [["relay/native throughput", `**${num(s.throughput / sn.throughput, 2)}**`]] : []),
          [
            "CPU per job: Hatchet engine; its Postgres; the benchmark process (SDK worker and client)",
            `${perJob("Hatchet engine")}; ${perJob("Postgres: engine database")}; ${perJob("benchmark process")}`,
          ],
          ["trigger answered, p50 / p99", `${ms(sn.triggerAck.p50)} / ${ms(sn.triggerAck.p99)}`],
          ["trigger → task done, p50 / p99", `${ms(sn.triggerToDone.p50)} / ${ms(sn.triggerToDone.p99)}`],
          [
            "per-target order (start order = trigger order, no overlap)",
            sn.order.ok
              ? `held on all ${sn.order.targetsChecked} targets`
              : `**violated**: ${sn.order.outOfOrder} out of order, ${sn.order.overlaps} overlaps`,
          ],
        ],
        ["---", "---"],
      ),
      "",
    );
  }
  if (h?.create) {
    lines.push(
      "### 3. API handlers in process (warm)",
      "",
      `The Lambda handlers called directly with API Gateway v2 events, ${h.params.warmup} warm-up then ${h.params.calls} calls each, one database connection (one Lambda instance). A create commits the job and a NOTIFY and answers; it is timed on a target blocked by a failed job (the relay's dispatch finds it blocked, nothing runs) and on fresh targets (the relay runs each job through Hatchet and the worker while the next creates are timed). list-all reads the first page of a tenant with ${num(h.params.listAllTotal, 0)} jobs.`,
      "",
      table(
        ["handler", "p50", "p90", "p99", "max", "queries per call"],
        [
          [
            "create (quiet: blocked target, nothing runs)",
            ...pct(h.create),
            ms(h.create.max),
            num(h.parts.queriesPerCreate),
          ],
          ...(h.createLive
            ? [["create (live: the relay runs each job meanwhile)", ...pct(h.createLive), ms(h.createLive.max), "–"]]
            : []),
          ["get", ...pct(h.get), ms(h.get.max), num(h.parts.queriesPerGet)],
          ["list-all", ...pct(h.listAll), ms(h.listAll.max), num(h.parts.queriesPerListAll)],
        ],
      ),
      "",
    );
  }
  if (c?.ackToAbort) {
    lines.push(
      "### 4. Cancel a running job",
      "",
      `${c.params.runs} runs: a \`sleep\` job (${c.params.sleepMs / 1000} s) runs, \`POST …/cancel/\` answers 200 (the ack), the worker notices the stop request and aborts the executor, writing \`completed_at\`. Visible = a GET polled every ${c.params.getPollMs} ms first shows \`canceled\`.`,
      "",
      table(
        ["measure", "p50", "p90", "p99", "max"],
        [
          ["ack → executor aborted (completed_at)", ...pct(c.ackToAbort), ms(c.ackToAbort.max)],
          ["ack → status visible", ...pct(c.ackToVisible), ms(c.ackToVisible.max)],
          ["cancel call (send → 200)", ...pct(c.cancelCall), ms(c.cancelCall.max)],
        ],
      ),
      "",
      `Final statuses: ${Object.entries(c.statuses)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}.`,
      "",
    );
  }
  if (f?.functions) {
    lines.push(
      "### 5. Function bundles and cold module initialisation",
      "",
      `Bundles from ${f.params.bundler}: minified ESM for Node 22, everything bundled but \`@aws-sdk/*\`. Init = \`await import(bundle)\` in a fresh \`node\` (${f.params.node}) process, median of ${f.params.initRuns}.`,
      "",
      table(
        ["function", "bundle", "init (median)", "init (fastest)", "init runs, ms"],
        (f.functions as Json[]).map((x) => [
          x.function,
          kb(x.bytes),
          x.error ? `failed: ${x.error.slice(0, 80)}` : ms(x.initMs),
          ms(x.initMinMs),
          x.initRunsMs.map((n: number) => n.toFixed(0)).join(", "),
        ]),
      ),
      "",
      `An empty module measured the same way: median ${ms(f.emptyModule?.initMs)}, fastest ${ms(f.emptyModule?.initMinMs)}.`,
      "",
      `What the create handler's bundle is made of: ${(f.createComposition as Json[])
        .map((x) => `${x.module} ${kb(x.bytes)}`)
        .join(", ")}.`,
      "",
    );
  }
  const cpu = cpuTable(r);
  if (cpu)
    lines.push(
      "### CPU per scenario",
      "",
      "User + system CPU seconds from /proc over each scenario, by process.",
      "",
      cpu,
      "",
    );
  lines.push(
    "### Machine, versions, parameters",
    "",
    table(
      ["", ""],
      [
        ["CPU", `${m.cpus} × ${m.cpuModel}`],
        ["memory", `${num(m.memoryGiB)} GiB`],
        ["OS", m.os],
        ["Node", m.node],
        ["load average (1 min) at start / end", `${num(m.loadAvgStart, 2)} / ${num(m.loadAvgEnd, 2)}`],
        ["Hatchet engine", v.hatchetEngine],
        ["Hatchet TypeScript SDK", v.hatchetSdk],
        ["Postgres", v.postgres],
        ["esbuild", v.esbuild],
        ["drizzle-orm / pg", `${v.drizzleOrm} / ${v.pg}`],
      ],
      ["---", "---"],
    ),
    "",
    "Parameters (`bench/run.ts`, `PARAMS`):",
    "",
    "```json",
    JSON.stringify(r.parameters, null, 2),
    "```",
  );
  return lines.join("\n");
}

const TEMPLATE = (generated: string) => `# Benchmarks

\`npm run bench\` (bench/run.ts) starts its own Postgres databases and a private Hatchet engine on
free ports, runs the product's processes against them, measures, and writes
[bench/results.json](../bench/results.json), this page's results section and
[bench/chart.svg](../bench/chart.svg). Everything runs on 127.0.0.1 and is stopped and dropped at
the end. The section between the markers is regenerated on every run; the notes below it are not.

## Results

${START}
${generated}
${END}

## Notes
`;

export async function writeDocs(file: string, generated: string): Promise<void> {
  if (!existsSync(file)) {
    await writeFile(file, TEMPLATE(generated));
    return;
  }
  const text = await readFile(file, "utf8");
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a === -1 || b === -1 || b < a) {
    await writeFile(file, `${text.trimEnd()}\n\n${TEMPLATE(generated)}`);
    return;
  }
  await writeFile(file, `${text.slice(0, a + START.length)}\n${generated}\n${text.slice(b)}`);
}
