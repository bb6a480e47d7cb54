// How the long-running dev commands (`npm run dev`, `npm run stack -- up`) end: whatever ends
// them, their engine and servers stop first. The ways a terminal session ends them:
// - Ctrl-C: SIGINT to the whole foreground process group;
// - `kill` of the process or of its group: SIGTERM, possibly twice (npm forwards it as well);
// - the terminal closing: SIGHUP, after which writing to the terminal fails with EIO;
// - npm itself killed: npm exits without passing the signal on, so the only trace is that this
//   process's parent is gone (it is re-parented), which is polled.
// No library covers the last two (signal-exit and friends run synchronous hooks only).

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export function stopOnExit(stop: () => Promise<void>, log: (msg: string) => void): void {
  // A closed terminal must not crash the shutdown through a failed log line.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  let stopping = false;
  const run = (why: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(watch);
    log(`[dev] ${why}: stopping`);
    stop()
      .catch((err: Error) => log(`[dev] stop: ${err.message}`))
      .finally(() => process.exit(0));
  };
  for (const signal of SIGNALS) process.on(signal, () => run(signal));
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) run("parent process exited");
  }, 500);
  watch.unref();
}
