// What each part imports is what it declares: a workspace package lists every npm package and
// workspace package its source imports (and nothing it does not), at the one version the root
// pins, and every runtime dependency of the root is imported by code that runs in production.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : tsFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The npm packages a file imports (by package name), type-only imports included. */
function packagesImported(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((spec) => !spec.startsWith(".") && !spec.startsWith("node:") && !builtinModules.includes(spec))
    .map((spec) =>
      spec
        .split("/")
        .slice(0, spec.startsWith("@") ? 2 : 1)
        .join("/"),
    );
}

const root = manifest(ROOT);
const workspaces = readdirSync(join(ROOT, "packages")).map((name) => join(ROOT, "packages", name));

describe("dependencies", () => {
  it.each(workspaces.map((dir) => [relative(ROOT, dir), dir]))(
    "%s declares exactly what its source imports",
    (_name, dir) => {
      const own = manifest(dir);
      const imported = new Set(
        tsFiles(join(dir, "src"))
          .flatMap(packagesImported)
          .filter((p) => p !== own.name),
      );
      expect(Object.keys(own.dependencies ?? {}).sort()).toEqual([...imported].sort());
    },
  );

  it("pins each package at the root's version, and workspace packages as workspace links", () => {
    const pinned = { ...root.devDependencies, ...root.dependencies };
    for (const dir of workspaces) {
      for (const [name, version] of Object.entries(manifest(dir).dependencies ?? {})) {
        if (name.startsWith("@switchyard/")) expect(version, `${name} in ${dir}`).toBe("*");
        else if (pinned[name]) expect(version, `${name} in ${dir}`).toBe(pinned[name]);
        else expect(version, `${name} in ${dir}`).toMatch(/^\d+\.\d+\.\d+$/);
      }
    }
  });

  it("imports every runtime dependency of the root in production code, and nothing undeclared", () => {
    // What runs deployed or under npm run dev: the functions, the workspace packages, dev/ and infra/.
    const production = ["functions", "packages", "dev", "infra"].flatMap((d) => tsFiles(join(ROOT, d)));
    const imported = new Set(production.flatMap(packagesImported));
    for (const name of Object.keys(root.dependencies ?? {})) {
      expect(imported.has(name), `${name} is a dependency that nothing imports`).toBe(true);
    }
    const declared = new Set([
      ...Object.keys(root.dependencies ?? {}),
      ...Object.keys(root.devDependencies ?? {}),
      ...workspaces.map((d) => manifest(d).name),
      ...workspaces.flatMap((d) => Object.keys(manifest(d).dependencies ?? {})),
      // Type packages: `aws-lambda` comes from @types/aws-lambda; `sst` and `$config` are SST's own globals.
      "aws-lambda",
    ]);
    const undeclared = [...imported].filter((name) => !declared.has(name));
    expect(undeclared).toEqual([]);
  });
});
