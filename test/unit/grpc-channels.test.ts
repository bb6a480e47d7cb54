// The Hatchet SDK's channels compress with gzip; switchyard's replacement factory must not, and it
// caps the reconnect backoff. A plain HTTP/2 server stands in for the engine and records the
// encoding each call announces.
import { once } from "node:events";
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import type { ClientConfig } from "@hatchet-dev/typescript-sdk/clients/hatchet-client/client-config.js";
import grpcHelpers from "@hatchet-dev/typescript-sdk/util/grpc-helpers.js";
import { type Channel, ChannelCredentials, createClientFactory } from "nice-grpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hatchetClient, RECONNECT_BACKOFF_MAX_MS, uncompressedChannel } from "../../packages/hatchet/src/client.ts";

const sdkChannel = grpcHelpers.channelFactory;

let server: Http2Server;
let port = 0;
const seen: Array<string | undefined> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers["grpc-encoding"] as string | undefined);
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/grpc", "grpc-accept-encoding": "identity,gzip" });
      // One empty, uncompressed message, then status OK in the trailers.
      res.write(Buffer.from([0, 0, 0, 0, 0]));
      res.addTrailers({ "grpc-status": "0" });
      res.end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const echo = {
  ping: {
    path: "/test.Echo/Ping",
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
    options: {},
  },
} as const;

async function encodingOf(channel: Channel): Promise<string | undefined> {
  const client = createClientFactory().create(echo, channel);
  const before = seen.length;
  await client.ping(Buffer.from("x".repeat(500)));
  channel.close();
  return seen[before];
}

const config = () =>
  ({ host_port: `127.0.0.1:${port}`, tls_config: { server_name: "localhost" } }) as unknown as ClientConfig;

describe("gRPC channels", () => {
  it("the SDK's own factory sends gzip (what the replacement exists for)", async () => {
    expect(await encodingOf(sdkChannel(config(), ChannelCredentials.createInsecure()))).toBe("gzip");
  });

  it("the replacement sends messages uncompressed", async () => {
    expect(await encodingOf(uncompressedChannel(config(), ChannelCredentials.createInsecure()))).toBeUndefined();
  });

  it("the replacement caps the reconnect backoff (grpc-js's own grows to 120 s), the SDK's does not", () => {
    // grpc-js keeps a channel's options on its internal channel and hands them to each subchannel's
    // backoff; there is no public getter.
    const options = (c: Channel) =>
      (c as unknown as { internalChannel: { options: Record<string, unknown> } }).internalChannel.options;
    const ours = uncompressedChannel(config(), ChannelCredentials.createInsecure());
    const sdks = sdkChannel(config(), ChannelCredentials.createInsecure());
    expect(options(ours)["grpc.max_reconnect_backoff_ms"]).toBe(RECONNECT_BACKOFF_MAX_MS);
    expect(RECONNECT_BACKOFF_MAX_MS).toBeLessThanOrEqual(1000);
    expect(options(sdks)["grpc.max_reconnect_backoff_ms"]).toBeUndefined();
    ours.close();
    sdks.close();
  });

  it("a client made by hatchetClient() opens its channels through the replacement", () => {
    hatchetClient({
      token: fakeToken(),
      hostPort: `127.0.0.1:${port}`,
      apiUrl: "http://127.0.0.1:1",
      tlsStrategy: "none",
    });
    expect(grpcHelpers.channelFactory).toBe(uncompressedChannel);
  });
});

/** A token-shaped JWT: the SDK reads the tenant from it without verifying it. */
function fakeToken() {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "none" })}.${part({ sub: "00000000-0000-0000-0000-000000000000", server_url: "http://127.0.0.1:1", grpc_broadcast_address: `127.0.0.1:${port}` })}.sig`;
}
