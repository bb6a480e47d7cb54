// `npm run register -- --name NAME --url URL`: registers a deployed worker function as the deploy's
// registrar does (functions/register-worker.ts), from this machine. `sst dev` runs it in direct
// mode so the engine's operator calls the stage's Function URL, which SST forwards here.
import { parseArgs } from "node:util";
import { handler } from "../functions/register-worker.ts";

const { values } = parseArgs({ options: { name: { type: "string" }, url: { type: "string" } } });

handler({ name: values.name, url: values.url })
  .then((out) => {
    console.log(JSON.stringify(out));
    process.exit(0);
  })
  .catch((err: unknown) => {
    console.error(`register: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
