// GET /api/console: the operator's console, a page that shows a tenant's targets as lanes and
// their jobs (status, attempts, live logs, HTTP exchanges, actions) using only the public API with
// the tenant's key. Its script (console/app.js) is inlined, so the page loads nothing from elsewhere.
// Deployed, the log stream has an origin of its own (SWITCHYARD_LOG_STREAM_URL), which the page is told.
import { readFile } from "node:fs/promises";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { inlinable, makePage, type Page, servePage } from "./_lib/page.ts";

async function appScript(): Promise<string> {
  try {
    // esbuild inlines the file as a string here.
    return (await import("./console/app.js", { with: { type: "text" } })).default;
  } catch {
    // Node cannot import text (the local server, the tests).
    return readFile(new URL("./console/app.js", import.meta.url), "utf8");
  }
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
header.top { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #1d2330; color: #fff; }
header.top h1 { font-size: 1.1rem; margin: 0; }
#status { margin-left: auto; font-size: .85rem; opacity: .85; }
#status.error { color: #ffb4b4; opacity: 1; }
main { display: grid; grid-template-columns: 1fr minmax(320px, 36%); gap: 1rem; padding: 1rem; }
.lane { background: #fff; border-radius: 6px; border-left: 6px solid #9aa3b2; margin-bottom: .8rem; padding: .5rem .8rem; }
.lane.running { border-left-color: #2f7de1; } .lane.blocked { border-left-color: #d9534f; } .lane.waiting { border-left-color: #e0a100; }
.lane header { display: flex; gap: .6rem; align-items: baseline; } .lane h2 { font-size: 1rem; margin: 0; }
.badge { font-size: .75rem; text-transform: uppercase; letter-spacing: .04em; opacity: .7; }
.columns { display: grid; grid-template-columns: repeat(4, 1fr); gap: .5rem; }
.column h3 { font-size: .75rem; text-transform: uppercase; opacity: .6; margin: .4rem 0; }
button.job { display: block; width: 100%; text-align: left; margin: 0 0 .3rem; padding: .3rem .4rem; border: 1px solid #d5d9e0; border-radius: 4px; background: #fafbfc; cursor: pointer; }
button.job.selected { outline: 2px solid #2f7de1; }
button.job.error, button.job.paused { background: #fdecec; } button.job.running { background: #e8f1fd; } button.job.success { background: #ebf7ee; }
#detail { background: #fff; border-radius: 6px; padding: .6rem .8rem; align-self: start; position: sticky; top: 1rem; }
#detail pre { font-size: .8rem; background: #f6f7f9; padding: .4rem; overflow: auto; }
#actions button { margin-right: .4rem; }
#logs { font: 12px/1.35 ui-monospace, monospace; max-height: 40vh; overflow: auto; padding-left: 2.2rem; }
#logs li.error { color: #b52b27; }
`;

export async function consolePage(logStreamUrl = process.env.SWITCHYARD_LOG_STREAM_URL ?? ""): Promise<Page> {
  const script = inlinable(await appScript(), "The console's script");
  const streamOrigin = logStreamUrl ? new URL(logStreamUrl).origin : "";
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="log-stream" content="${streamOrigin}">
<title>switchyard console</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header class="top">
  <h1>switchyard</h1>
  <form id="key-form"><input id="key" type="password" placeholder="tenant API key (sy_…)" size="40" autocomplete="off"> <button>Open</button></form>
  <span id="status">enter a tenant's API key</span>
</header>
<main>
  <div id="lanes"></div>
  <aside id="detail" hidden>
    <h2 id="detail-title"></h2>
    <div id="actions"></div>
    <pre id="detail-fields"></pre>
    <h3>Logs (live)</h3>
    <ol id="logs"></ol>
    <h3>HTTP exchanges</h3>
    <ul id="exchanges"></ul>
  </aside>
</main>
<script>${script}</script>
</body>
</html>
`;
  return makePage(html, { "connect-src": ["'self'", ...(streamOrigin ? [streamOrigin] : [])] });
}

let page: Promise<Page> | undefined;

export function handler(event: APIGatewayProxyEventV2) {
  page ??= consolePage();
  return servePage(event, page);
}
