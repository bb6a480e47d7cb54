// GET /api/docs: the OpenAPI document rendered by Redoc. Redoc's standalone bundle (npm `redoc`) is
// inlined in the page, so the API serves its own reference page and the browser loads nothing from
// anywhere else. It makes this function's bundle about 1.1 MB, which is why the page has a function
// of its own: the JSON routes stay small. A plain handler (not route()): it answers HTML.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

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

/** The page, its validator, and its gzip encoding (API Gateway does not compress). */
interface Page {
  html: string;
  gzip: string;
  etag: string;
  csp: string;
}

export async function docsPage(): Promise<Page> {
  const script = await redocScript();
  // Inlined in <script>, the bundle must neither end the element nor open a nested one inside an
  // HTML comment (the parser's "double escaped" state); this version does neither.
  if (/<\/script|<!--(?:(?!-->)[\s\S])*?<script[\s/>]/i.test(script)) {
    throw new Error("Redoc's bundle cannot be inlined in <script>");
  }
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
  return {
    html,
    gzip: gzipSync(html).toString("base64"),
    etag: `"${createHash("sha256").update(html).digest("base64url").slice(0, 27)}"`,
    csp: contentSecurityPolicy(html),
  };
}

/**
 * Nothing but this page's own two scripts runs, and nothing is fetched from another origin: Redoc's
 * sidebar links to a logo on Redocly's CDN, which the browser then does not request. Redoc styles
 * itself with inline <style> elements and runs its search index in a worker made from a blob.
 */
function contentSecurityPolicy(html: string): string {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, code]) =>
      `'sha256-${createHash("sha256")
        .update(code ?? "")
        .digest("base64")}'`,
  );
  return [
    "default-src 'none'",
    `script-src ${scripts.join(" ")}`,
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

let page: Promise<Page> | undefined;

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  page ??= docsPage();
  const { html, gzip, etag, csp } = await page;
  // The page changes only with a deployment: browsers revalidate, and an unchanged page is a 304.
  const headers = { etag, "cache-control": "no-cache", vary: "accept-encoding" };
  if (event.headers?.["if-none-match"] === etag) return { statusCode: 304, headers };
  const gzipped = /\bgzip\b/.test(event.headers?.["accept-encoding"] ?? "");
  return {
    statusCode: 200,
    headers: {
      ...headers,
      "content-type": "text/html; charset=utf-8",
      "x-content-type-options": "nosniff",
      "content-security-policy": csp,
      ...(gzipped ? { "content-encoding": "gzip" } : {}),
    },
    body: gzipped ? gzip : html,
    isBase64Encoded: gzipped,
  };
}
