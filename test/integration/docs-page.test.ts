// GET /api/docs in a real headless browser (Debian's chromium, driven by playwright-core): the page
// comes from the API alone (Redoc inlined, the document from /api/openapi.json, nothing from any
// other origin) and renders every operation of the document.
import { fileURLToPath } from "node:url";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalServer } from "../../dev/local-server.ts";
import { openApiDocument } from "../../functions/api/_lib/openapi.ts";
import { apiRoutes, corsPolicy, notFoundHandler } from "../../infra/routes.ts";
import { launchBrowser } from "../support/browser.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

let server: Awaited<ReturnType<typeof startLocalServer>>;
let chromium: Awaited<ReturnType<typeof launchBrowser>> | undefined;
let browser: BrowserContext | undefined;

beforeAll(async () => {
  // The API as npm run dev serves it; the page and the document need no database.
  server = await startLocalServer({
    routes: apiRoutes,
    root,
    notFound: notFoundHandler,
    cors: corsPolicy,
    log: () => {},
  });
  chromium = await launchBrowser();
  browser = chromium.context;
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

const summaries = () =>
  Object.values(openApiDocument().paths).flatMap((ops) =>
    Object.values(ops as Record<string, { operationId: string; summary: string }>),
  );

describe("GET /api/docs", () => {
  it("renders every operation's summary, loading nothing from outside the API", async () => {
    if (!browser) throw new Error("no browser");
    const page = await browser.newPage();
    const requested: string[] = [];
    const failures: string[] = [];
    const blocked: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    page.on("requestfailed", (r) => {
      // Chromium's reason for a request its Content-Security-Policy refused to send.
      if (/^(csp|net::ERR_BLOCKED_BY_CSP)$/.test(r.failure()?.errorText ?? "")) blocked.push(r.url());
    });
    page.on("pageerror", (e) => failures.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") failures.push(m.text());
    });
    const res = await page.goto(`${server.url}/api/docs`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-type"]).toBe("text/html; charset=utf-8");
    // Redoc has fetched the document and rendered its operations (the last one last).
    const ops = summaries();
    await page
      .getByRole("heading", { name: ops.at(-1)?.summary })
      .first()
      .waitFor({ timeout: 30_000 });
    // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered is what a reader sees.
    const text = await page.locator("body").innerText();
    expect(ops).toHaveLength(apiRoutes.length);
    for (const op of ops) expect(text, op.operationId).toContain(op.summary);
    expect(text).toContain("switchyard");
    expect(requested).toContain(`${server.url}/api/openapi.json`);
    // Redoc's sidebar shows a logo from Redocly's CDN: the page's Content-Security-Policy keeps the
    // browser from requesting it (its img then hides itself).
    const outside = requested.filter((u) => !u.startsWith(`${server.url}/`) && !/^(data|blob):/.test(u));
    expect(outside.filter((u) => !blocked.includes(u))).toEqual([]);
    expect(failures.filter((f) => !/cdn\.redoc\.ly.*Content Security Policy/.test(f))).toEqual([]);
    await page.close();
  }, 60_000);

  it("is gzip-encoded for clients that take it, and a 304 once the browser has it", async () => {
    const plain = await fetch(`${server.url}/api/docs`, { headers: { "accept-encoding": "identity" } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-encoding")).toBeNull();
    const html = await plain.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Redoc.init("openapi.json"');

    // fetch decodes gzip itself: the same page arrives.
    const gzipped = await fetch(`${server.url}/api/docs`, { headers: { "accept-encoding": "gzip" } });
    expect(gzipped.headers.get("content-encoding")).toBe("gzip");
    expect(await gzipped.text()).toBe(html);

    const etag = plain.headers.get("etag") ?? "";
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${server.url}/api/docs`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
  });
});
