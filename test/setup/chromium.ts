// The API's pages are tested in Debian's chromium (test/support/browser.ts). On a fresh machine
// the test command installs it, as CI's script does: the apt package, when the run is root and
// apt-get exists; a browser is never downloaded from the web. Otherwise it says what to install.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { CHROMIUM } from "../support/browser.ts";

const run = promisify(execFile);

export async function ensureChromium(log: (msg: string) => void): Promise<void> {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    log(`no ${CHROMIUM}: the page tests will fail; install Debian's chromium package`);
    return;
  }
  log("installing Debian's chromium package for the page tests (once)…");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    await run("apt-get", ["update", "-qq"], { env });
    await run("apt-get", ["install", "-y", "-qq", "chromium"], { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    log(`could not install chromium (${(err as Error).message.split("\n")[0]}): the page tests will fail`);
  }
}
