// A TCP proxy on 127.0.0.1 in front of a port, whose connections can be cut at will (the network
// between the relay and the worker function failing mid-request), or which can hold back one
// direction (what a caller never receives from an engine that dies before it sends).
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  url: string;
  /** Connections accepted so far. */
  accepted(): number;
  /** Destroys every open connection (both sides); returns how many were open. */
  drop(): number;
  /**
   * Stops passing one direction, on open connections and new ones: what the clients send
   * ("requests") or what the upstream sends ("replies").
   */
  hold(direction: "requests" | "replies"): void;
  /**
   * Ends `hold`: resets every open connection, so what was held never arrives (a socket that is
   * not read keeps its data, and its peer's close, until it is), and passes both ways on new ones.
   */
  loseHeld(): number;
  close(): Promise<void>;
}

export async function startProxy(upstreamPort: number): Promise<TcpProxy> {
  const open = new Set<[Socket, Socket]>();
  let accepted = 0;
  let holding: "requests" | "replies" | undefined;
  const server: Server = createServer((downstream) => {
    accepted++;
    const upstream = connect(upstreamPort, "127.0.0.1");
    const pair: [Socket, Socket] = [downstream, upstream];
    open.add(pair);
    const end = () => {
      open.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    if (holding !== "requests") downstream.pipe(upstream);
    if (holding !== "replies") upstream.pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const drop = () => {
    const n = open.size;
    for (const [a, b] of [...open]) {
      // A reset, not a polite FIN: what a dropped network path looks like to both ends.
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    open.clear();
    return n;
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    drop,
    hold(direction) {
      holding = direction;
      for (const [downstream, upstream] of open) {
        const [from, to] = direction === "replies" ? [upstream, downstream] : [downstream, upstream];
        from.unpipe(to);
        from.pause();
      }
    },
    loseHeld() {
      holding = undefined;
      return drop();
    },
    close: () =>
      new Promise<void>((resolve) => {
        drop();
        server.close(() => resolve());
      }),
  };
}
