// GET /api/docs: the OpenAPI document rendered by Redoc. Redoc's standalone bundle (npm `redoc`) is
// inlined in the page, so the API serves its own reference page and the browser loads nothing from
// anywhere else. It makes this function's bundle about 1.1 MB, which is why the page has a function
// of its own: the JSON routes stay small. A plain handler (not route()): it answers HTML.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { inlinable, makePage, type Page, servePage } from "./_lib/page.ts";

/** Redoc's standalone script, as its package ships it. */
async function redocScript(): Promise<string> {
  try {
    // esbuild (npm run bundle, SST's build) inlines the file as a string here.
    return (await import("redoc/bundles/redoc.standalone.js", { with: { type: "text" } })).default;
  } catch {
    // Node cannot import text (the local server, the tests): read the file where npm put it.
    return readFile(fileURLToPath(import.meta.resolve("redoc/bundles/redoc.standalone.js")), "utf8");
  }
}

export async function docsPage(): Promise<Page> {
  const script = inlinable(await redocScript(), "Redoc's bundle");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>switchyard API reference</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; }</style>
</head>
<body>
<div id="redoc"></div>
<script>${script}</script>
<script>
// Relative to /api/docs: the document of the same deployment.
Redoc.init("openapi.json", { expandResponses: "200,201", jsonSampleExpandLevel: 3 }, document.getElementById("redoc"));
</script>
</body>
</html>
`;
  // Redoc's sidebar links to a logo on Redocly's CDN, which the browser then does not request.
  // Redoc styles itself with inline <style> elements and runs its search index in a blob worker.
  return makePage(html, {
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["blob:"],
  });
}

let page: Promise<Page> | undefined;

export function handler(event: APIGatewayProxyEventV2) {
  page ??= docsPage();
  return servePage(event, page);
}
