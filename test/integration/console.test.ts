// GET /api/console driven in a real headless browser against the real API (Postgres, the engine,
// the worker): a tenant's key opens its lanes, a failed job shows its lane blocked, resolve from
// the page unblocks it and the waiting job runs, all without a reload; the selected job's log
// arrives over the log stream; nothing is loaded from another origin. Leaves a screenshot in
// .switchyard/console.png (docs/console.png, in the README, is a copy of one).
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.ts";
import { launchBrowser } from "../support/browser.ts";
import { newTenant, type TenantClient } from "../support/client.ts";

const SCREENSHOT = fileURLToPath(new URL("../../.switchyard/console.png", import.meta.url));

let t: TestApp;
let c: TenantClient & { id: string };
let chromium: Awaited<ReturnType<typeof launchBrowser>> | undefined;

beforeAll(async () => {
  t = await startTestApp();
  c = await newTenant(t);
  chromium = await launchBrowser();
});
afterAll(async () => {
  await chromium?.close();
  await c?.cancelRunning();
  await t?.stop();
});

const lane = (page: Page, targetId: string) => page.locator(`section.lane[data-target="${targetId}"]`);

describe("GET /api/console", () => {
  it("shows a blocked lane, and resolve from the page unblocks it without a reload", async () => {
    if (!chromium) throw new Error("no browser");
    const blocked = await c.target("desk-blocked");
    const failed = await c.job(blocked, "fail", { retryable: false, message: "needs a person" });
    await c.waitStatus(blocked, failed, "error");
    const waiting = await c.job(blocked, "echo", { after: "resolve" });
    const busy = await c.target("desk-busy");
    const sleeping = await c.job(busy, "sleep", { ms: 600_000 });
    await c.waitStatus(busy, sleeping, "running");
    await c.target("desk-idle");

    const page = await chromium.context.newPage();
    const requested: string[] = [];
    const failures: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    page.on("pageerror", (e) => failures.push(e.message));
    const res = await page.goto(`${t.apiUrl}/api/console`);
    expect(res?.status()).toBe(200);
    await page.fill("#key", c.key);
    await page.click("#key-form button");

    await expect.poll(() => lane(page, blocked).getAttribute("data-state"), { timeout: 20_000 }).toBe("blocked");
    expect(await lane(page, busy).getAttribute("data-state")).toBe("running");
    await expect.poll(() => page.locator("section.lane").count()).toBe(3);

    // The failed job: its detail, its live log, and resolve.
    const loadedAt = await page.evaluate(() => performance.timeOrigin);
    await lane(page, blocked).locator(`button.job[data-job="${failed}"]`).click();
    await page.locator("#logs li").filter({ hasText: "needs a person" }).first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.locator('#actions button[data-action="resolve"]').click();

    // The page follows on its own: the lane is free, the waiting job has run.
    await expect.poll(() => lane(page, blocked).getAttribute("data-state"), { timeout: 20_000 }).not.toBe("blocked");
    await expect
      .poll(() => lane(page, blocked).locator(`button.job[data-job="${waiting}"]`).getAttribute("data-status"), {
        timeout: 20_000,
      })
      .toBe("success");
    expect((await c.get(blocked, failed)).status).toBe("success");
    expect(await page.evaluate(() => performance.timeOrigin)).toBe(loadedAt);

    // Interrupt from the page: the running sleep ends paused and blocks its lane.
    await lane(page, busy).locator(`button.job[data-job="${sleeping}"]`).click();
    await page.locator('#actions button[data-action="interrupt"]').click();
    await expect.poll(() => lane(page, busy).getAttribute("data-state"), { timeout: 20_000 }).toBe("blocked");
    expect((await c.get(busy, sleeping)).status).toBe("paused");

    expect(requested.filter((u) => !u.startsWith(`${t.apiUrl}/`) && !u.startsWith("data:"))).toEqual([]);
    expect(failures).toEqual([]);
    await page.close();
  }, 90_000);

  it("keeps the key out of the page's answer and runs only its own script", async () => {
    const res = await fetch(`${t.apiUrl}/api/console`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-[^' ]+'(;|$)/);
    expect(csp).toMatch(/connect-src 'self'/);
    const html = await res.text();
    expect(html).not.toMatch(/sy_[A-Za-z0-9_-]{20,}/);
  });
});
