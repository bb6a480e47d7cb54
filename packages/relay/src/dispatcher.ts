// The relay's dispatch host: hands targets' next jobs to Hatchet as soon as they may go. The API
// wakes it with a NOTIFY when a job is created or unblocked, the relay itself when a run ends, and
// a periodic sweep (core's Dispatch.sweep) repairs whatever a lost notification, a failed trigger
// or a dispatcher that died mid hand-over left behind.
import { Dispatch, type Orchestrator, type Timing, Webhooks } from "@switchyard/core";
import type { Database } from "@switchyard/db";
import type pg from "pg";

export interface Dispatcher {
  /** Dispatches the target (coalesced with a dispatch of it already waiting); resolves when done. */
  wake(targetId: string): Promise<void>;
  /** One sweep: lost hand-overs back to waiting, every ready target dispatched. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export interface DispatcherOptions {
  database: Database;
  orchestrator: Orchestrator;
  timing: Pick<Timing, "sweepMs" | "lostHandOverMs">;
  /**
   * Hand-overs at once (default 32); each is a short transaction and a trigger. The orchestrator
   * batches the triggers that meet, so more at once means fewer, larger calls to the engine.
   */
  concurrency?: number;
  log: (msg: string) => void;
}

/** The sweep's row in dispatch_sweeps. */
const HOST = "relay";

export async function startDispatcher(opts: DispatcherOptions): Promise<Dispatcher> {
  const { database, log, timing } = opts;
  const deps = { db: database.db, orchestrator: opts.orchestrator };
  const queue = keyedQueue(opts.concurrency ?? 32, async (targetId) => {
    await Dispatch.dispatchTarget(deps, targetId).catch((err: Error) => log(`dispatch failed: ${err.message}`));
  });

  let sweeping: Promise<number> | undefined;
  const sweep = () => {
    sweeping ??= Dispatch.takeSweepTurn(database.db, HOST, 0)
      .then(() => Webhooks.dispatchPending(database.db, opts.orchestrator, timing))
      .then(() => Dispatch.sweep(database.db, timing, queue.add))
      .then(({ withdrawn, ready }) => {
        if (withdrawn.length > 0) log(`put back ${withdrawn.length} hand-over(s) that never got a run`);
        return ready.length;
      })
      .catch((err: Error) => {
        log(`sweep failed: ${err.message}`);
        return 0;
      })
      .finally(() => {
        sweeping = undefined;
      });
    return sweeping;
  };

  const listener = listen(database.pool, Dispatch.DISPATCH_CHANNEL, {
    onMessage: (targetId) => void queue.add(targetId),
    // Notifications sent while no connection listened are gone: look at the table instead.
    onConnect: () => void sweep(),
    log,
  });
  await listener.ready;
  const timer = setInterval(() => void sweep(), timing.sweepMs);

  let stopped = false;
  return {
    // After stop, a wake (a run ending during the drain) is left to the next relay's sweep.
    wake: (targetId) => (stopped ? Promise.resolve() : queue.add(targetId)),
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await listener.stop();
      await queue.idle();
    },
  };
}

/**
 * Runs `run(key)` for added keys with bounded concurrency, never twice at once for one key: a key
 * added while it runs runs once more afterwards, however often it was added meanwhile. Written
 * here because queue libraries (p-queue and the like) neither coalesce nor serialise per key.
 */
function keyedQueue(concurrency: number, run: (key: string) => Promise<void>) {
  const waiting = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const running = new Set<string>();
  const idle = new Set<() => void>();

  const pump = () => {
    for (const [key, entry] of waiting) {
      if (running.size >= concurrency) return;
      if (running.has(key)) continue;
      waiting.delete(key);
      running.add(key);
      void run(key).finally(() => {
        running.delete(key);
        entry.resolve();
        pump();
      });
    }
    if (running.size === 0 && waiting.size === 0) for (const done of idle) done();
  };

  return {
    add(key: string): Promise<void> {
      let entry = waiting.get(key);
      if (!entry) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => {
          resolve = r;
        });
        entry = { promise, resolve };
        waiting.set(key, entry);
        pump();
      }
      return entry.promise;
    },
    idle(): Promise<void> {
      if (running.size === 0 && waiting.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          idle.delete(done);
          resolve();
        };
        idle.add(done);
      });
    },
  };
}

/** LISTENs on a dedicated pooled connection, reconnecting after a loss until stopped. */
function listen(
  pool: pg.Pool,
  channel: string,
  handlers: { onMessage: (payload: string) => void; onConnect: () => void; log: (msg: string) => void },
) {
  let stopped = false;
  let client: pg.PoolClient | undefined;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const c = await pool.connect();
    const lost = (err?: Error) => {
      if (client !== c) return;
      client = undefined;
      c.release(err ?? true);
      if (stopped) return;
      handlers.log(`dispatch listener lost its connection${err ? `: ${err.message}` : ""}; reconnecting`);
      const again = () => {
        retry = undefined;
        if (!stopped) connect().catch(() => (retry = setTimeout(again, 1000)));
      };
      retry = setTimeout(again, 1000);
    };
    c.on("notification", (n) => n.channel === channel && n.payload && handlers.onMessage(n.payload));
    c.on("error", lost);
    c.on("end", () => lost());
    try {
      // The channel is a constant identifier, not input.
      await c.query(`LISTEN ${channel}`);
    } catch (err) {
      c.release(true);
      throw err;
    }
    client = c;
    handlers.onConnect();
  };

  return {
    ready: connect(),
    async stop() {
      stopped = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      // Destroyed rather than returned to the pool: its session and its handlers go with it.
      c?.release(true);
    },
  };
}
