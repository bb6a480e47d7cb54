// Bundles every Lambda function the way it ships (one ESM file per function) and reports the
// sizes: `npm run bundle` writes .switchyard/bundles/, docs/bundles.md and bench/bundles.json.
// Size is cold-start time on Lambda, so a dependency that balloons a handler shows up here.
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import { apiRoutes, notFoundHandler, workerFunction } from "../infra/routes.ts";

export const ROOT = join(import.meta.dirname, "..");

export interface LambdaFunction {
  /** Report name, e.g. `api/jobs/create`. */
  name: string;
  /** `file.export`, as in infra/. */
  handler: string;
  /** Folders copied next to the bundle, as `copyFiles` does in infra/. */
  copy?: { from: string; to: string }[];
}

/** Every function infra/ deploys, each handler file once. */
export function lambdaFunctions(): LambdaFunction[] {
  const handlers = [
    ...new Set<string>(apiRoutes.map((r) => r.handler)),
    notFoundHandler,
    workerFunction.handler,
    "functions/register-worker.handler",
  ];
  const fns: LambdaFunction[] = handlers.map((handler) => ({ name: nameOf(handler), handler }));
  fns.push({
    name: nameOf("functions/migrate.handler"),
    handler: "functions/migrate.handler",
    copy: [{ from: "packages/db/migrations", to: "migrations" }],
  });
  return fns;
}

function nameOf(handler: string): string {
  return handler.slice(0, handler.lastIndexOf(".")).replace(/^functions\//, "");
}

export interface BundleResult {
  function: string;
  handler: string;
  file: string;
  bytes: number;
  gzipBytes: number;
}

export interface BundleOptions {
  outDir?: string;
  /** Markdown report; null skips it. */
  reportFile?: string | null;
  /** JSON report; null skips it. */
  jsonFile?: string | null;
}

export async function bundleAll(opts: BundleOptions = {}): Promise<BundleResult[]> {
  const outDir = opts.outDir ?? join(ROOT, ".switchyard", "bundles");
  await rm(outDir, { recursive: true, force: true });
  const results = await Promise.all(lambdaFunctions().map((fn) => bundleOne(fn, outDir)));
  results.sort((a, b) => a.function.localeCompare(b.function));
  const reportFile = opts.reportFile === undefined ? join(ROOT, "docs", "bundles.md") : opts.reportFile;
  const jsonFile = opts.jsonFile === undefined ? join(ROOT, "bench", "bundles.json") : opts.jsonFile;
  if (reportFile) await writeReport(reportFile, results);
  if (jsonFile) {
    await mkdir(dirname(jsonFile), { recursive: true });
    const rows = results.map(({ file: _file, ...row }) => row);
    await writeFile(jsonFile, `${JSON.stringify({ target: "node22", format: "esm", functions: rows }, null, 2)}\n`);
  }
  return results;
}

/** Leaves every npm package outside the bundle and bundles switchyard's own workspace packages. */
const npmPackagesExternal: Plugin = {
  name: "npm-packages-external",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@switchyard/") ? undefined : { path: args.path, external: true },
    );
  },
};

/**
 * Loads `node:http` through require() instead of an ESM import. Node builds an ESM module's
 * facade by reading every export, and node:http's include lazy getters (WebSocket and friends)
 * that load undici: about 12 ms of every cold start on Node 22, for the one constant
 * (`STATUS_CODES`) that @middy/util imports from it. require() returns the module without
 * touching those getters.
 */
const httpThroughRequire: Plugin = {
  name: "http-through-require",
  setup(b) {
    b.onResolve({ filter: /^(node:)?http$/ }, () => ({ path: "node:http", namespace: "http-through-require" }));
    b.onLoad({ filter: /.*/, namespace: "http-through-require" }, () => ({
      contents: 'module.exports = require("node:http");',
      loader: "js",
    }));
  },
};

/**
 * One minified ESM file for Node 22 from a TypeScript entry point, written to `outfile`; with
 * `npmExternal`, npm packages are imported from node_modules at run time instead.
 */
async function bundleFile(entry: string, outfile: string, npmExternal = false): Promise<Uint8Array> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    minify: true,
    treeShaking: true,
    // Prefer packages' ESM builds: they tree-shake, their CommonJS builds do not.
    mainFields: ["module", "main"],
    // CommonJS dependencies bundled into ESM still call require() for Node built-ins, and some
    // (Hatchet's SDK) read __dirname, which ESM does not define.
    banner: {
      js: [
        'import { createRequire as __createRequire } from "node:module";',
        'import { fileURLToPath as __fileURLToPath } from "node:url";',
        "const require = __createRequire(import.meta.url);",
        "const __filename = __fileURLToPath(import.meta.url);",
        'const __dirname = __filename.slice(0, __filename.lastIndexOf("/"));',
      ].join(" "),
    },
    // The Lambda Node runtime provides AWS SDK v3; everything else ships in the bundle.
    external: ["@aws-sdk/*"],
    plugins: npmExternal ? [npmPackagesExternal] : [httpThroughRequire],
    legalComments: "none",
    logLevel: "warning",
    write: false,
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error(`esbuild wrote nothing for ${entry}`);
  await mkdir(dirname(outfile), { recursive: true });
  await writeFile(outfile, output.contents);
  return output.contents;
}

/**
 * The relay's container entry point (relay mode), as infra/relay.Dockerfile builds it: switchyard's
 * own code in one file, npm packages from the image's production node_modules. Hatchet's SDK cannot
 * be bundled (its worker starts a heartbeat thread from a file of its own package), and gRPC must
 * then stay outside too, so that the SDK and switchyard's channel factory share one copy.
 */
export const RELAY_BUNDLE = join(ROOT, ".switchyard", "bundles", "relay", "main.mjs");

export async function bundleRelay(outfile = RELAY_BUNDLE): Promise<string> {
  await bundleFile("packages/relay/src/main.ts", outfile, true);
  return outfile;
}

async function bundleOne(fn: LambdaFunction, outDir: string): Promise<BundleResult> {
  const dot = fn.handler.lastIndexOf(".");
  const outfile = join(outDir, fn.name, "index.mjs");
  const contents = await bundleFile(`${fn.handler.slice(0, dot)}.ts`, outfile);
  for (const c of fn.copy ?? []) await cp(join(ROOT, c.from), join(dirname(outfile), c.to), { recursive: true });
  return {
    function: fn.name,
    handler: fn.handler,
    file: outfile,
    bytes: contents.byteLength,
    gzipBytes: gzipSync(contents).byteLength,
  };
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1);

/** A Markdown table laid out as the formatter lays it out, so the committed report stays untouched by it. */
function table(header: string[], rows: string[][], rightAligned: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (rightAligned[i] ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)];
}

async function writeReport(file: string, results: BundleResult[]): Promise<void> {
  const total = results.reduce((s, r) => s + r.bytes, 0);
  const lines = [
    "# Function bundles",
    "",
    "Generated by `npm run bundle` (scripts/bundle.ts): one minified ESM bundle per Lambda function,",
    "esbuild for Node 22, everything bundled except `@aws-sdk/*` (the Lambda runtime provides it).",
    "Gzip is the default level, close to what the deployment zip holds.",
    "",
    ...table(
      ["function", "bundle KB", "gzip KB"],
      results.map((r) => [r.function, kb(r.bytes), kb(r.gzipBytes)]),
      [false, true, true],
    ),
    "",
    `${results.length} functions, ${kb(total)} KB in all.`,
    "",
  ];
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, lines.join("\n"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href && process.argv[2] === "relay") {
  // `npm run bundle -- relay [outfile]`: the relay alone (its container build).
  bundleRelay(process.argv[3]).then(
    (file) => console.log(file),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const started = Date.now();
  bundleAll()
    .then((results) => {
      for (const r of results) {
        console.log(`${r.function.padEnd(28)} ${kb(r.bytes).padStart(8)} KB  gzip ${kb(r.gzipBytes).padStart(7)} KB`);
      }
      console.log(`${results.length} bundles in .switchyard/bundles/ (${Date.now() - started} ms)`);
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    });
}
