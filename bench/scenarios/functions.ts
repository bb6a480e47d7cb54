// Scenario 5: each Lambda function as it ships — one minified ESM bundle — with its size and the
// time a fresh Node process takes to import it (the module initialisation a cold start pays on top
// of the runtime's own start), on Lambda's Node (lib/lambda-node.ts) and on this machine's. Bundles come from scripts/bundle.ts when it is there and exports
// bundleAll; otherwise they are built here with the same esbuild settings.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { apiRoutes, workerFunction } from "../../infra/routes.ts";
import { type LambdaNode, lambdaNode } from "../lib/lambda-node.ts";
import type { Cleanups } from "../lib/stack.ts";
import { ROOT } from "../lib/stack.ts";
import { median, round } from "../lib/stats.ts";

/**
 * The docs page (Redoc with its assets inlined, about 1 MB) is a function of its own so that no
 * other API function carries it; the size goal is for the functions that serve the API.
 */
export const DOCS_FUNCTION = "api/docs";

export interface FunctionsParams {
  initRuns: number;
}

export interface FunctionFigure {
  function: string;
  bytes: number;
  /** Median over initRuns fresh processes of Lambda's Node, ms. */
  initMs: number;
  /** Fastest of the runs: what the import costs when nothing else competes for the CPU. */
  initMinMs: number;
  initRunsMs: number[];
  /** The same median on this machine's Node (the one the tests and `npm run dev` use). */
  initHostMs: number;
  /** Why the bundle could not be imported outside Lambda, if it could not. */
  error?: string;
}

export interface FunctionsResult {
  params: FunctionsParams & { bundler: string; node: string; hostNode: string; nodeFallback?: string };
  functions: FunctionFigure[];
  /** The same measurement for an empty module: the floor of the method on this machine. */
  emptyModule: { initMs: number; initMinMs: number };
  api: { maxBytes: number; maxInitMs: number; largest: string; slowest: string };
  all: { maxInitMs: number; slowest: string };
  /** What the create handler's bundle is made of: bytes of output per package (top 12). */
  createComposition: Array<{ module: string; bytes: number }>;
}

interface Bundle {
  function: string;
  file: string;
  bytes: number;
}

const BANNER =
  'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);';

function esbuildOptions(entry: string, outfile: string) {
  return {
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node" as const,
    target: "node22",
    format: "esm" as const,
    minify: true,
    mainFields: ["module", "main"],
    banner: { js: BANNER },
    external: ["@aws-sdk/*"],
    legalComments: "none" as const,
    logLevel: "error" as const,
  };
}

async function bundlesFromScript(outDir: string): Promise<{ bundles: Bundle[]; bundler: string } | undefined> {
  const script = join(ROOT, "scripts", "bundle.ts");
  if (!existsSync(script)) return undefined;
  try {
    const mod = (await import(pathToFileURL(script).href)) as Record<string, unknown>;
    const bundleAll = mod.bundleAll;
    if (typeof bundleAll !== "function") return undefined;
    const results = (await bundleAll({ outDir, reportFile: null, jsonFile: null })) as Array<{
      function: string;
      file: string;
      bytes: number;
    }>;
    if (!Array.isArray(results) || results.length === 0) return undefined;
    return {
      bundles: results.map((r) => ({ function: r.function, file: r.file, bytes: r.bytes })),
      bundler: "scripts/bundle.ts (bundleAll)",
    };
  } catch {
    return undefined;
  }
}

async function bundlesHere(outDir: string): Promise<{ bundles: Bundle[]; bundler: string }> {
  const handlers = [...new Set<string>(apiRoutes.map((r) => r.handler)), workerFunction.handler];
  const bundles: Bundle[] = [];
  for (const handler of handlers) {
    const file = handler.slice(0, handler.lastIndexOf("."));
    const name = file.replace(/^functions\//, "");
    const outfile = join(outDir, name, "index.mjs");
    const result = await build({ ...esbuildOptions(join(ROOT, `${file}.ts`), outfile), write: false });
    const [out] = result.outputFiles;
    if (!out) throw new Error(`esbuild wrote nothing for ${handler}`);
    await mkdir(join(outfile, ".."), { recursive: true });
    await writeFile(outfile, out.contents);
    bundles.push({ function: name, file: outfile, bytes: out.contents.byteLength });
  }
  return { bundles, bundler: "esbuild in bench/scenarios/functions.ts" };
}

/** Bytes of the create bundle per package, from esbuild's metafile. */
async function composition(outDir: string): Promise<Array<{ module: string; bytes: number }>> {
  const outfile = join(outDir, "_composition", "create.mjs");
  const result = await build({
    ...esbuildOptions(join(ROOT, "functions/api/jobs/create.ts"), outfile),
    write: false,
    metafile: true,
  });
  const output = Object.values(result.metafile.outputs)[0];
  const by = new Map<string, number>();
  for (const [path, info] of Object.entries(output?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const key = m?.[1] ?? (path.startsWith("packages/") ? path.split("/").slice(0, 2).join("/") : path.split("/")[0]);
    by.set(key ?? path, (by.get(key ?? path) ?? 0) + info.bytesInOutput);
  }
  return [...by.entries()]
    .map(([module, bytes]) => ({ module, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 12);
}

/** A fresh process of the node binary imports the bundle and prints how long the import took. */
function importTime(node: string, file: string): Promise<number> {
  const code =
    "const t0 = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t0));";
  return new Promise((resolve, reject) => {
    const child = spawn(node, ["--input-type=module", "-e", code, pathToFileURL(file).href], {
      cwd: tmpdir(),
      // No switchyard settings: a module must not need them to load (they are read on first use).
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    child.stderr.on("data", (d) => {
      err += String(d);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const ms = Number(out);
      if (code === 0 && Number.isFinite(ms)) resolve(ms);
      else reject(new Error(`import of ${file} failed (${code}): ${err.slice(0, 300)}`));
    });
  });
}

export async function runFunctions(
  p: FunctionsParams,
  cleanups: Cleanups,
  log: (m: string) => void,
): Promise<FunctionsResult> {
  const outDir = await mkdtemp(join(tmpdir(), "switchyard-bench-bundles-"));
  cleanups.add("bundle folder", () => rm(outDir, { recursive: true, force: true }));
  const { bundles, bundler } = (await bundlesFromScript(outDir)) ?? (await bundlesHere(outDir));
  log(`  ${bundles.length} bundles (${bundler})`);
  const node: LambdaNode = await lambdaNode(log);
  log(`  measuring with Node ${node.version}, and with this machine's ${process.version}`);
  const measure = async (binary: string, file: string) => {
    const runs: number[] = [];
    for (let i = 0; i < p.initRuns; i++) runs.push(round(await importTime(binary, file)));
    return runs;
  };
  const functions: FunctionFigure[] = [];
  for (const b of bundles) {
    let runs: number[] = [];
    let hostRuns: number[] = [];
    let error: string | undefined;
    try {
      runs = await measure(node.path, b.file);
      hostRuns = await measure(process.execPath, b.file);
    } catch (err) {
      error = (err as Error).message;
    }
    functions.push({
      function: b.function,
      bytes: b.bytes,
      initMs: error ? Number.NaN : round(median(runs)),
      initMinMs: error ? Number.NaN : Math.min(...runs),
      initRunsMs: runs,
      initHostMs: error ? Number.NaN : round(median(hostRuns)),
      ...(error ? { error } : {}),
    });
  }
  functions.sort((a, b) => a.function.localeCompare(b.function));
  const empty = join(outDir, "_empty.mjs");
  await writeFile(empty, "export {};\n");
  const emptyRuns: number[] = [];
  for (let i = 0; i < p.initRuns; i++) emptyRuns.push(round(await importTime(node.path, empty)));
  const api = functions.filter((f) => f.function.startsWith("api/"));
  const maxBy = (list: FunctionFigure[], f: (x: FunctionFigure) => number) =>
    list.reduce(
      (best, x) => (f(x) > f(best) ? x : best),
      list[0] ?? { function: "", bytes: 0, initMs: 0, initMinMs: 0, initRunsMs: [], initHostMs: 0 },
    );
  const largest = maxBy(
    api.filter((x) => x.function !== DOCS_FUNCTION),
    (x) => x.bytes,
  );
  // A bundle that failed to load counts as infinitely slow.
  const init = (x: FunctionFigure) => (Number.isFinite(x.initMs) ? x.initMs : Number.POSITIVE_INFINITY);
  const slowestApi = maxBy(api, init);
  const slowest = maxBy(functions, init);
  return {
    params: {
      ...p,
      bundler,
      node: node.version,
      hostNode: process.version,
      ...(node.fallback ? { nodeFallback: node.fallback } : {}),
    },
    functions,
    emptyModule: { initMs: round(median(emptyRuns)), initMinMs: Math.min(...emptyRuns) },
    api: {
      maxBytes: largest.bytes,
      maxInitMs: slowestApi.initMs,
      largest: largest.function,
      slowest: slowestApi.function,
    },
    all: { maxInitMs: slowest.initMs, slowest: slowest.function },
    createComposition: await composition(outDir),
  };
}
