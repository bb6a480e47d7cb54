// packages/client's types are generated from the OpenAPI document and committed; regenerating them
// from the document the API serves must give the same file, so they cannot drift from the API.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { handler as openApiHandler } from "../../functions/api/openapi.ts";
import { generateTypes, TYPES_FILE } from "../../packages/client/scripts/generate.ts";

/** The document as GET /api/openapi.json answers it. */
async function servedDocument(): Promise<object> {
  const event = { headers: {}, requestContext: { http: { method: "GET" } }, rawPath: "/api/openapi.json" };
  const res = (await openApiHandler(event as never, {} as never)) as { statusCode: number; body: string };
  expect(res.statusCode).toBe(200);
  return JSON.parse(res.body);
}

describe("@switchyard/client's generated types", () => {
  it("are what openapi-typescript makes of the served document (npm run generate -w @switchyard/client)", async () => {
    const regenerated = await generateTypes(await servedDocument());
    // Not toBe: a diff of 4000 lines would bury the message.
    expect(regenerated === readFileSync(TYPES_FILE, "utf8"), "stale: run npm run generate -w @switchyard/client").toBe(
      true,
    );
  }, 60_000);

  it("type every operation of the document", async () => {
    const doc = (await servedDocument()) as { paths: Record<string, Record<string, { operationId: string }>> };
    const types = readFileSync(TYPES_FILE, "utf8");
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) expect(types).toContain(`  ${op.operationId}: {`);
    }
  });
});
