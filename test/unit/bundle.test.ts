// Every function bundles on its own, stays small enough for a quick cold start, and loads as ESM
// (the createRequire banner is what lets bundled CommonJS reach Node's built-ins).
import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BundleResult, bundleAll, lambdaFunctions } from "../../scripts/bundle.ts";

const MAX_BYTES = 5 * 1024 * 1024;
const run = promisify(execFile);

describe("function bundles", () => {
  let dir: string;
  let results: BundleResult[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "switchyard-bundles-"));
    results = await bundleAll({
      outDir: join(dir, "bundles"),
      reportFile: join(dir, "bundles.md"),
      jsonFile: join(dir, "bundles.json"),
    });
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("bundles every deployed function: the API routes, the worker, migrate, register-worker", () => {
    const names = results.map((r) => r.function);
    expect(names).toEqual(expect.arrayContaining(["worker/handler", "migrate", "register-worker", "api/jobs/create"]));
    expect(new Set(names).size).toBe(lambdaFunctions().length);
  });

  it("writes each bundle below 5 MB", () => {
    for (const r of results) {
      expect(existsSync(r.file), r.file).toBe(true);
      expect(statSync(r.file).size).toBe(r.bytes);
      expect(r.bytes, r.function).toBeLessThan(MAX_BYTES);
      expect(r.gzipBytes).toBeLessThan(r.bytes);
    }
  });

  it("ships the migrations next to the migrate function", () => {
    const migrate = results.find((r) => r.function === "migrate");
    expect(migrate && existsSync(join(migrate.file, "..", "migrations", "meta", "_journal.json"))).toBe(true);
  });

  it("writes the reports with one row per function", () => {
    const rows = readFileSync(join(dir, "bundles.md"), "utf8")
      .split("\n")
      .filter((l) => /^\| [a-z]/.test(l) && !l.startsWith("| function "));
    expect(rows.map((l) => l.split(" | ")[0]?.slice(2).trim())).toEqual(results.map((r) => r.function));
    const json = JSON.parse(readFileSync(join(dir, "bundles.json"), "utf8")) as { functions: unknown[] };
    expect(json.functions).toHaveLength(results.length);
  });

  it("loads each bundle as ESM and finds its handler", async () => {
    // Plain Node, as Lambda loads them (importing through vitest would transform 20 MB of bundles).
    const script = `for (const f of JSON.parse(process.argv[1])) {
      const m = await import(f);
      console.log(typeof m.handler);
    }`;
    const files = JSON.stringify(results.map((r) => pathToFileURL(r.file).href));
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script, files], {
      env: { ...process.env, DATABASE_URL: "postgresql://x@127.0.0.1:1/x" },
    });
    expect(stdout.trim().split("\n")).toEqual(results.map(() => "function"));
  }, 60_000);
});
