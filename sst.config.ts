/// <reference path="./.sst/platform/config.d.ts" />

export default $config({
  app(input) {
    return {
      name: "switchyard",
      // Production keeps its database and secrets when the stage is removed; other stages clean up.
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
      home: "aws",
    };
  },
  async run() {
    const { delivery } = await import("./infra/delivery.ts");
    const { db } = await import("./infra/network.ts");
    await import("./infra/secrets.ts");
    await import("./infra/migrate.ts");
    await import("./infra/hatchet.ts");
    const { worker } = await import("./infra/worker.ts");
    const { api, streams } = await import("./infra/api.ts");
    // Direct delivery (the default) runs nothing of switchyard's own all the time: the relay, a
    // Fargate service, exists only in relay mode.
    const relay = delivery === "relay" ? (await import("./infra/relay.ts")).relay : undefined;
    return {
      delivery,
      api: api.url,
      // The log stream's origin (GET {logStream}/api/targets/…/jobs/…/logs/stream).
      logStream: streams[0]?.url,
      worker: worker.url,
      ...(relay ? { relay: relay.service } : {}),
      database: db.host,
    };
  },
});
