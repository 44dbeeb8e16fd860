import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type StartedServer } from "@taskwire/testing/process";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, launchChromium, signedInPage as openSignedIn } from "./browser-harness";
import { startQuickstart } from "./quickstart-server";

describe.skipIf(!chromiumAvailable)("quickstart: recent tasks and phone width", () => {
  let browser: Browser;
  let server: StartedServer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tw-recent-"));
    server = await startQuickstart({ PORT: String(await freePort()), TASKWIRE_DB: join(dir, "tasks.db") });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a task with the page's own cookie but outside the page's forms: the page is not watching it. */
  const startElsewhere = (page: Page, path: string, input: object) =>
    page.evaluate(
      async ([p, body]) => {
        const response = await fetch(p as string, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        return (await response.json()).taskId as string;
      },
      [path, input] as const,
    );

  const recentIds = (page: Page) =>
    page
      .locator("[data-testid=recent-task]")
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.taskId));

  it("lists the user's own top-level tasks, newest first, and re-attaches to one with Watch", async () => {
    const page = await openSignedIn(browser, server.url, "lister");
    const first = await startElsewhere(page, "/api/tasks/reports.generate", { chunks: 3, chunkMs: 10 });
    const batch = await startElsewhere(page, "/api/tasks/reports.batch", {
      parts: 2,
      chunks: 2,
      chunkMs: 10,
    });
    await page.click("#recent-refresh");
    // The batch's two children are not listed: the batch view shows them.
    await expect.poll(() => recentIds(page), { timeout: 10_000 }).toEqual([batch, first]);

    // Another user sees none of them.
    const other = await openSignedIn(browser, server.url, "someone-else");
    await expect.poll(() => other.isVisible("#recent-empty")).toBe(true);
    expect(await recentIds(other)).toEqual([]);
    await other.close();

    // Watch replays the finished report from its first event: all chunks, the digest checked in the page.
    await page.locator(`[data-task-id="${first}"] [data-testid=recent-watch]`).click();
    await expect.poll(() => page.textContent("[data-testid=task-id]")).toBe(first);
    await expect.poll(() => page.textContent("[data-testid=status]"), { timeout: 10_000 }).toBe("completed");
    expect(await page.textContent("[data-testid=count]")).toBe("3");
    expect(await page.getAttribute("[data-testid=digest]", "class")).toBe("ok");

    // And the batch: its tree is drawn from the parent's replayed `child` events.
    await page.locator(`[data-task-id="${batch}"] [data-testid=recent-watch]`).click();
    await expect.poll(() => page.textContent("[data-testid=batch-id]")).toBe(batch);
    await expect
      .poll(() => page.textContent("[data-testid=batch-status]"), { timeout: 10_000 })
      .toBe("completed");
    expect(await page.locator("[data-testid=batch-child]").count()).toBe(2);

    // A task started from the page itself is listed as soon as it starts.
    await page.fill("#report-form input[name=chunks]", "2");
    await page.fill("#report-form input[name=chunkMs]", "10");
    await page.click("#start-button");
    await expect.poll(() => page.textContent("[data-testid=status]"), { timeout: 10_000 }).toBe("completed");
    const mine = await page.textContent("[data-testid=task-id]");
    await expect.poll(() => recentIds(page).then((ids) => ids[0])).toBe(mine);
    await page.close();
  }, 60_000);

  it("fits a phone-width screen: long ids and digests wrap instead of widening the page", async () => {
    const page = await openSignedIn(browser, server.url, "phone-user-with-a-long-name", {
      width: 375,
      height: 800,
    });
    await page.fill("#report-form input[name=chunks]", "2");
    await page.fill("#report-form input[name=chunkMs]", "10");
    await page.click("#start-button");
    await expect.poll(() => page.textContent("[data-testid=status]"), { timeout: 10_000 }).toBe("completed");
    await expect.poll(() => recentIds(page).then((ids) => ids.length)).toBe(1);
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
    }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    await page.screenshot({ path: join(dir, "..", "quickstart-phone.png"), fullPage: true });
    await page.close();
  }, 30_000);
});
