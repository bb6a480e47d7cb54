// The API's HTML pages (the reference page, the console): built once per instance, answered with a
// validator (304 when unchanged), gzip when the client takes it (API Gateway does not compress),
// and a Content-Security-Policy that lets only the page's own inline scripts run.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

export interface Page {
  html: string;
  gzip: string;
  etag: string;
  csp: string;
}

/**
 * `html` with its policy: `default-src 'none'`, the hashes of its inline scripts, inline styles,
 * and what `allow` adds (directive → sources, e.g. `connect-src: ["'self'"]`).
 */
export function makePage(html: string, allow: Record<string, string[]> = {}): Page {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, code]) =>
      `'sha256-${createHash("sha256")
        .update(code ?? "")
        .digest("base64")}'`,
  );
  const directives: Record<string, string[]> = {
    "default-src": ["'none'"],
    "script-src": scripts,
    "style-src": ["'unsafe-inline'"],
    ...allow,
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'none'"],
  };
  return {
    html,
    gzip: gzipSync(html).toString("base64"),
    etag: `"${createHash("sha256").update(html).digest("base64url").slice(0, 27)}"`,
    csp: Object.entries(directives)
      .map(([name, sources]) => `${name} ${sources.join(" ")}`)
      .join("; "),
  };
}

/** Checks that a script can sit inside <script>: it must neither end the element nor open a nested one in a comment. */
export function inlinable(script: string, what: string): string {
  if (/<\/script|<!--(?:(?!-->)[\s\S])*?<script[\s/>]/i.test(script)) {
    throw new Error(`${what} cannot be inlined in <script>`);
  }
  return script;
}

/** The page's answer: 304 for the same validator, gzip when accepted. */
export async function servePage(
  event: APIGatewayProxyEventV2,
  page: Promise<Page>,
): Promise<APIGatewayProxyStructuredResultV2> {
  const { html, gzip, etag, csp } = await page;
  // A page changes only with a deployment: browsers revalidate, and an unchanged page is a 304.
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
