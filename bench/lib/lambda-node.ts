// The Node.js that Lambda runs switchyard's functions on (nodejs22.x), for measuring cold module
// initialisation the way a cold start pays it: the machine's own Node may be another major (the
// project builds and tests on 20), and majors differ in what loading a module costs (Node 20 has
// no `navigator`, so pg builds a fetch Response at import to detect Cloudflare and loads undici).
// The binary comes from the npm registry's node-linux-<arch> package, cached next to the engine.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { cacheRoot } from "../../dev/hatchet-build.ts";

/** Lambda's Node runtime for switchyard's functions (infra/ deploys nodejs22.x). */
export const LAMBDA_NODE_MAJOR = 22;
/** Pinned so that two bench runs measure with the same binary. */
const LAMBDA_NODE_VERSION = "22.23.5";

export interface LambdaNode {
  /** Path of the node binary to measure with. */
  path: string;
  /** Its version, e.g. `v22.23.5`. */
  version: string;
  /** Why the machine's own Node is used instead, when Lambda's could not be had. */
  fallback?: string;
}

async function versionOf(path: string): Promise<string> {
  const { stdout } = await promisify(execFile)(path, ["--version"]);
  return stdout.trim();
}

/**
 * Lambda's Node: `BENCH_LAMBDA_NODE` when set, else the cached registry binary (installed on first
 * use, about 30 MB), else the running Node with the reason.
 */
export async function lambdaNode(log: (m: string) => void): Promise<LambdaNode> {
  if (process.env.BENCH_LAMBDA_NODE) {
    const path = process.env.BENCH_LAMBDA_NODE;
    return { path, version: await versionOf(path) };
  }
  if (process.versions.node.startsWith(`${LAMBDA_NODE_MAJOR}.`)) {
    return { path: process.execPath, version: process.version };
  }
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = join(cacheRoot(), "node", LAMBDA_NODE_VERSION);
  const path = join(prefix, "node_modules", pkg, "bin", "node");
  try {
    if (!existsSync(path)) {
      log(`  installing Node ${LAMBDA_NODE_VERSION} (${pkg} from the npm registry) to measure as Lambda runs…`);
      await mkdir(prefix, { recursive: true });
      await promisify(execFile)(
        "npm",
        ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", `${pkg}@${LAMBDA_NODE_VERSION}`],
        { timeout: 300_000 },
      );
    }
    return { path, version: await versionOf(path) };
  } catch (err) {
    const reason = `Node ${LAMBDA_NODE_VERSION} could not be installed (${(err as Error).message.split("\n")[0]})`;
    log(`  ${reason}; measuring with this machine's ${process.version}`);
    return { path: process.execPath, version: process.version, fallback: reason };
  }
}
