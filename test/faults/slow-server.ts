// A local HTTP server that answers after a delay (`?delay=ms` overrides it per request): the far
// end of `http-request` jobs, so that a delivery is reliably in flight when a fault is thrown. It
// counts requests per `?key=` and keeps when each arrived and was answered.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SlowServer {
  url: string;
  /** Requests received per `key` query parameter (whether or not they were answered). */
  received: Map<string, number>;
  /** Requests answered in full. */
  answered: Map<string, number>;
  /** Every request: its key, when it arrived and when it was answered (undefined: cut off). */
  log: Array<{ key: string; at: number; answeredAt?: number }>;
  total(): number;
  close(): Promise<void>;
}

export async function startSlowServer(delayMs: number): Promise<SlowServer> {
  const received = new Map<string, number>();
  const answered = new Map<string, number>();
  const log: SlowServer["log"] = [];
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const server: Server = createServer((req, res) => {
    const query = new URL(req.url ?? "/", "http://x").searchParams;
    const key = query.get("key") ?? "";
    const entry: SlowServer["log"][number] = { key, at: Date.now() };
    log.push(entry);
    bump(received, key);
    const timer = setTimeout(
      () => {
        if (res.destroyed) return;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ key }));
        entry.answeredAt = Date.now();
        bump(answered, key);
      },
      Number(query.get("delay") ?? delayMs),
    );
    res.once("close", () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answered,
    log,
    total: () => [...received.values()].reduce((a, b) => a + b, 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
