// The Hatchet engine builds, cached outside the checkout:
//   - the release build (`ensureHatchetBinaries`): what `npm run dev`, the tests and docker
//     compose's version run;
//   - the local-operator build (`ensureLocalOperatorEngine`): the same hatchet-lite from a copy of
//     the module patched at build time, whose HTTP operator may call loopback endpoints when
//     SWITCHYARD_OPERATOR_ALLOW_LOCAL=1 (local runs and tests serve those endpoints themselves).

import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { chmod, cp, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { HATCHET_VERSION } from "@switchyard/hatchet/engine";

const run = promisify(execFile);

export { HATCHET_VERSION };

export const HATCHET_MODULE = "github.com/hatchet-dev/hatchet";
export const HATCHET_BINARIES = ["hatchet-lite", "hatchet-migrate", "hatchet-admin"] as const;
/** Set to 1 in the local-operator engine's environment to let its operator call loopback. */
export const LOCAL_OPERATOR_ENV = "SWITCHYARD_OPERATOR_ALLOW_LOCAL";
const LOCAL_OPERATOR_VERSION = `${HATCHET_VERSION}-local-operator`;
/** How often a running `go` command reports that it is still busy. */
const PROGRESS_EVERY_MS = 15_000;

export type Log = (msg: string) => void;

export class HatchetSetupError extends Error {
  override name = "HatchetSetupError";
}

export function cacheRoot(): string {
  if (process.env.SWITCHYARD_CACHE_DIR) return process.env.SWITCHYARD_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(base, "switchyard");
}

export function binDir(version = HATCHET_VERSION): string {
  return join(cacheRoot(), "hatchet", version, "bin");
}

/**
 * Builds the pinned binaries unless the cache has them. `go install pkg@version` cannot be used
 * as is: it asks the proxy for the module's version list (to report deprecations), and the proxy
 * refuses that list. So the packages are installed from a throwaway module that requires the
 * pinned version, with Hatchet's own go.sum as the checksums for dependencies the checksum
 * database does not know (github.com/hatchet-dev/pgoutbox).
 */
export async function ensureHatchetBinaries(log: Log = () => {}): Promise<string> {
  const dir = binDir();
  if (existsSync(join(dir, ".complete"))) return dir;
  await build({ label: "hatchet build", dir, stamp: `${HATCHET_VERSION}\n`, log }, async (b) => {
    await downloadModule(b);
    await b.stage("compiling hatchet-lite, hatchet-migrate and hatchet-admin");
    await b.go(installArgs(HATCHET_BINARIES));
  });
  return dir;
}

/**
 * Path of a hatchet-lite identical to the release build unless LOCAL_OPERATOR_ENV=1 is in its
 * environment. Then the operator REST routes accept http and https endpoints at any port, and
 * HTTP operators call 127.0.0.1 and ::1 (and nothing else) at any port, without verifying TLS.
 * Use it with the release build's hatchet-migrate and hatchet-admin. Rebuilt when the patch
 * below changes.
 */
export async function ensureLocalOperatorEngine(log: Log = () => {}): Promise<string> {
  const dir = binDir(LOCAL_OPERATOR_VERSION);
  const stamp = `${HATCHET_VERSION} local-operator patch ${patchDigest()}\n`;
  const lite = join(dir, "hatchet-lite");
  if ((await readFile(join(dir, ".complete"), "utf8").catch(() => "")) === stamp) return lite;
  await build({ label: "hatchet local-operator build", dir, stamp, log }, async (b) => {
    const modDir = await downloadModule(b);
    await b.stage("copying and patching the module");
    // A fixed path: the Go build cache keys packages on their folder, so a rebuild reuses them.
    const src = join(dirname(dir), "src");
    await copyModule(modDir, src);
    await applyPatch(src);
    await b.go(["mod", "edit", `-replace=${HATCHET_MODULE}=${src}`]);
    await b.stage("compiling hatchet-lite");
    await b.go(installArgs(["hatchet-lite"]));
    await rm(src, { recursive: true, force: true });
  });
  return lite;
}

function installArgs(binaries: readonly string[]): string[] {
  // -v names each package as it compiles: the build log shows progress, the ticker counts it.
  const ldflags = `-s -w -X main.Version=${HATCHET_VERSION}`;
  return ["install", "-v", "-ldflags", ldflags, ...binaries.map((b) => `${HATCHET_MODULE}/cmd/${b}`)];
}

interface BuildOptions {
  /** Prefix of the progress lines. */
  label: string;
  /** Final bin folder; built in a sibling `.partial` folder and renamed when complete. */
  dir: string;
  stamp: string;
  log: Log;
}

interface Build {
  /** The throwaway module's folder. */
  work: string;
  /** Runs go in the throwaway module; the output goes to the build log. Returns stdout. */
  go(args: string[]): Promise<string>;
  /** Announces the next stage with the time spent so far. */
  stage(what: string): Promise<void>;
}

async function build(opts: BuildOptions, body: (b: Build) => Promise<void>): Promise<void> {
  await assertGo();
  const started = Date.now();
  // Per process and per build, so both builds may run at once.
  const work = join(tmpdir(), `switchyard-hatchet-build-${process.pid}-${basename(dirname(opts.dir))}`);
  const staging = `${opts.dir}.partial`;
  const logFile = join(dirname(opts.dir), "build.log");
  await Promise.all([work, staging].map((d) => rm(d, { recursive: true, force: true })));
  await Promise.all([work, staging].map((d) => mkdir(d, { recursive: true })));
  await writeFile(logFile, "");
  opts.log(
    `${opts.label}: Hatchet ${HATCHET_VERSION} with go install (first run only, a few minutes); log: ${logFile}`,
  );
  const env = { ...process.env, GOBIN: staging, GOTOOLCHAIN: "local", CGO_ENABLED: "0", GOFLAGS: "-mod=mod" };
  let current = "";
  const b: Build = {
    work,
    go: (args) => goCommand(args, { cwd: work, env, logFile }, (counts) => progress(opts, current, counts, started)),
    stage: async (what) => {
      current = what;
      opts.log(`${opts.label}: ${what}… ${elapsed(started)}`);
      await writeFile(logFile, `\n## ${what} (${elapsed(started)})\n`, { flag: "a" });
    },
  };
  try {
    await b.go(["mod", "init", "switchyard-hatchet-build"]);
    await body(b);
    await writeFile(join(staging, ".complete"), opts.stamp);
    await rm(opts.dir, { recursive: true, force: true });
    await rename(staging, opts.dir);
    opts.log(`${opts.label}: done in ${elapsed(started)}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function progress(opts: BuildOptions, stage: string, counts: GoCounts, started: number): void {
  const parts = [
    counts.downloads > 0 ? `${counts.downloads} modules downloaded` : "",
    counts.packages > 0 ? `${counts.packages} packages so far` : "",
    elapsed(started),
  ];
  opts.log(`${opts.label}: still ${stage} (${parts.filter(Boolean).join(", ")})`);
}

async function assertGo(): Promise<void> {
  try {
    await run("go", ["version"]);
  } catch {
    throw new HatchetSetupError(
      "Go is not installed or not on PATH: the Hatchet engine is built with `go install`. " +
        "Install Go >= 1.26, or set HATCHET_CLIENT_TOKEN to use an existing engine.",
    );
  }
}

/** Requires the pinned version in the throwaway module, with Hatchet's go.sum; returns its folder. */
async function downloadModule(b: Build): Promise<string> {
  await b.stage("downloading the module");
  await b.go(["mod", "edit", `-require=${HATCHET_MODULE}@${HATCHET_VERSION}`]);
  await b.go(["mod", "download", "-x", `${HATCHET_MODULE}@${HATCHET_VERSION}`]);
  const modDir = (await b.go(["list", "-m", "-f", "{{.Dir}}", `${HATCHET_MODULE}@${HATCHET_VERSION}`])).trim();
  await writeFile(join(b.work, "go.sum"), await readFile(join(modDir, "go.sum")));
  return modDir;
}

interface GoCounts {
  /** "go: downloading …" lines. */
  downloads: number;
  /** Packages named by `go install -v`. */
  packages: number;
}

interface GoContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
}

/**
 * Runs go, appending its output to the build log as it comes. Every PROGRESS_EVERY_MS it calls
 * `tick` with what go has reported so far.
 */
async function goCommand(args: string[], ctx: GoContext, tick: (counts: GoCounts) => void): Promise<string> {
  const out = createWriteStream(ctx.logFile, { flags: "a" });
  out.write(`$ go ${args.join(" ")}\n`);
  const child = spawn("go", args, { cwd: ctx.cwd, env: ctx.env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  const counts: GoCounts = { downloads: 0, packages: 0 };
  const tail: string[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    out.write(chunk);
  });
  const lines = createInterface({ input: child.stderr });
  const linesDone = new Promise((resolve) => lines.once("close", resolve));
  lines.on("line", (line) => {
    out.write(`${line}\n`);
    if (line.startsWith("go: downloading ")) counts.downloads++;
    else if (/^[\w.~-]+(\/[\w.~-]+)*$/.test(line)) counts.packages++;
    tail.push(line);
    if (tail.length > 8) tail.shift();
  });
  const timer = setInterval(() => tick(counts), PROGRESS_EVERY_MS);
  const code = await new Promise<number | null>((resolve) => {
    child.once("error", (err) => {
      tail.push(err.message);
      resolve(-1);
    });
    child.once("close", resolve);
  });
  clearInterval(timer);
  // Every line is written before the log is closed (a failed spawn has no output to wait for).
  if (code !== -1) await linesDone;
  await new Promise((resolve) => out.end(resolve));
  if (code !== 0) {
    throw new HatchetSetupError(`go ${args[0]} failed (full log: ${ctx.logFile}):\n${tail.join("\n")}`);
  }
  return stdout;
}

/** "12 s", "1 min 40 s". */
function elapsed(since: number): string {
  const s = Math.round((Date.now() - since) / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Copies the read-only module from the module cache and makes the copy writable. */
async function copyModule(modDir: string, dest: string): Promise<void> {
  await rm(dest, { recursive: true, force: true });
  // frontend/ is the dashboard's sources (97 MB, no Go package, nothing embeds it).
  const skip = join(modDir, "frontend");
  await cp(modDir, dest, { recursive: true, filter: (from) => from !== skip });
  await chmod(dest, 0o755);
  for (const entry of await readdir(dest, { recursive: true, withFileTypes: true })) {
    await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
}

interface Edit {
  /** Exact text that must occur once in the file. */
  anchor: string;
  replacement: string;
}

const SAFECLIENT = "pkg/operator/httpoperator/safeclient/safeclient.go";

/**
 * The local-operator patch: edits of the SSRF guard's package only. Each anchor must occur
 * exactly once, so another engine version fails here instead of building a mis-patched binary.
 */
const LOCAL_OPERATOR_PATCH: Record<string, Edit[]> = {
  [SAFECLIENT]: [
    {
      anchor: '\t"net/url"\n\t"slices"\n',
      replacement: '\t"net/url"\n\t"os"\n\t"slices"\n',
    },
    {
      anchor: "\tallowedPort             = 443\n)\n",
      replacement: `\tallowedPort             = 443
)

// switchyard local build: with SWITCHYARD_OPERATOR_ALLOW_LOCAL=1 the operator (health poll and
// delivery) and ValidateEndpoint (the operator REST routes) accept http and https at any port,
// and New only reaches 127.0.0.1 and ::1, with unverified TLS, so local runs and tests can
// serve the operator endpoints. Without it the policy is the release one. Never set in production.
func allowLocal() bool {
	return os.Getenv("SWITCHYARD_OPERATOR_ALLOW_LOCAL") == "1"
}

// switchyard local build: the schemes the policy accepts.
func policySchemes() []string {
	if allowLocal() {
		return []string{"https", "http"}
	}

	return []string{allowedScheme}
}

// switchyard local build: the explicit ports the policy accepts.
func policyPorts() []int {
	if !allowLocal() {
		return []int{allowedPort}
	}

	ports := make([]int, 0, 65535)
	for p := 1; p <= 65535; p++ {
		ports = append(ports, p)
	}

	return ports
}
`,
    },
    {
      anchor: "func New(cfg Config, l *zerolog.Logger) (*Sender, error) {\n",
      replacement: `func New(cfg Config, l *zerolog.Logger) (*Sender, error) {
	if allowLocal() {
		// switchyard local build: the test hatches. Disabling the blocklist is not enough for
		// loopback (safeurl blocks private networks itself); its allowlist is, and makes
		// loopback the only reachable destination. EnableIPv6 lets ::1 be dialled.
		cfg.allowedPortsOverride = policyPorts()
		cfg.testDisableBlocklist = true
		cfg.testAllowedIPs = []string{"127.0.0.1", "::1"}
		cfg.testInsecureTLS = true
		cfg.EnableIPv6 = true
	}

`,
    },
    {
      anchor: "\t\tSetAllowedSchemes(allowedScheme).\n",
      replacement: "\t\tSetAllowedSchemes(policySchemes()...). // switchyard local build: http too when local\n",
    },
    {
      anchor: "\t_, err := validateURL(rawURL, []int{allowedPort})\n",
      replacement: "\t_, err := validateURL(rawURL, policyPorts()) // switchyard local build: any port when local\n",
    },
    {
      anchor: "\tif u.Scheme != allowedScheme {\n",
      replacement:
        "\tif !slices.Contains(policySchemes(), u.Scheme) { // switchyard local build: http too when local\n",
    },
  ],
};

function patchDigest(): string {
  return createHash("sha256").update(JSON.stringify(LOCAL_OPERATOR_PATCH)).digest("hex").slice(0, 12);
}

async function applyPatch(src: string): Promise<void> {
  for (const [file, edits] of Object.entries(LOCAL_OPERATOR_PATCH)) {
    const path = join(src, file);
    let text = await readFile(path, "utf8");
    for (const edit of edits) text = applyEdit(text, edit, relative(src, path));
    await writeFile(path, text);
  }
}

function applyEdit(text: string, edit: Edit, file: string): string {
  const count = text.split(edit.anchor).length - 1;
  if (count !== 1) {
    throw new HatchetSetupError(
      `local-operator patch: anchor ${JSON.stringify(edit.anchor)} occurs ${count} times in ${file} of ` +
        `${HATCHET_MODULE}@${HATCHET_VERSION}, expected once; the patch does not fit this engine version`,
    );
  }
  return text.replace(edit.anchor, () => edit.replacement);
}
