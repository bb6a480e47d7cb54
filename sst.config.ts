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
    const { db } = await import("./infra/network.ts");
    await import("./infra/secrets.ts");
    await import("./infra/migrate.ts");
    const { worker } = await import("./infra/worker.ts");
    const { relay } = await import("./infra/relay.ts");
    const { api } = await import("./infra/api.ts");
    return {
      api: api.url,
      worker: worker.url,
      relay: relay.service,
      database: db.host,
    };
  },
});
