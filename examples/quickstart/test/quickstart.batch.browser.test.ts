import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type StartedServer } from "@taskwire/testing/process";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, launchChromium, signedInPage } from "./browser-harness";
import { startQuickstart } from "./quickstart-server";

// Screenshots go to a temp dir removed afterwards, or to TASKWIRE_SCREENSHOT_DIR (kept) to look at them.
const keptScreens = process.env.TASKWIRE_SCREENSHOT_DIR;

describe.skipIf(!chromiumAvailable)("quickstart batch page in headless Chromium", () => {
  let browser: Browser;
  let server: StartedServer | undefined;
  let dir: string;
  let screens: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tw-batch-browser-"));
    screens = keptScreens ?? join(dir, "screens");
    mkdirSync(screens, { recursive: true });
    const env = { PORT: String(await freePort()), TASKWIRE_DB: join(dir, "tasks.db") };
    server = await startQuickstart(env);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startBatch(
    page: Page,
    input: { parts: string; chunks: string; chunkMs: string; approval: boolean },
  ) {
    await page.fill("#batch-form input[name=parts]", input.parts);
    await page.fill("#batch-form input[name=chunks]", input.chunks);
    await page.fill("#batch-form input[name=chunkMs]", input.chunkMs);
    await page.setChecked("#batch-form input[name=approval]", input.approval);
    await page.click("#batch-start");
  }

  const batchStatus = (page: Page) => page.textContent("[data-testid=batch-status]");
  const childStatuses = (page: Page) => page.locator("[data-testid=child-status]").allTextContents();
  const childCounts = async (page: Page) =>
    (await page.locator("[data-testid=batch-child] [data-part=count]").allTextContents()).map(Number);

  /** Full-page screenshot at this width, plus a check that nothing overflows the viewport sideways. */
  async function shoot(page: Page, name: string, width: number) {
    await page.setViewportSize({ width, height: 800 });
    await page.screenshot({ path: join(screens, `${name}-${width}.png`), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `page wider than ${width}px`).toBeLessThanOrEqual(0);
  }

  it("draws the tree with live child progress, asks for approval, and completes when approved", async () => {
    const page = await signedInPage(browser, server!.url, "approver");
    await startBatch(page, { parts: "3", chunks: "8", chunkMs: "120", approval: true });
    await expect.poll(() => page.locator("[data-testid=batch-child]").count(), { timeout: 10_000 }).toBe(3);
    // Live progress: some child has streamed a chunk while the batch still waits for its parts.
    await expect
      .poll(async () => (await childCounts(page)).some((n) => n > 0 && n < 8), { timeout: 10_000 })
      .toBe(true);
    expect(await batchStatus(page)).toBe("waiting for its parts");
    await shoot(page, "batch-running", 1280);

    await expect.poll(() => batchStatus(page), { timeout: 15_000 }).toBe("awaiting approval");
    expect(await page.isVisible("[data-testid=approval]")).toBe(true);
    expect(await childStatuses(page)).toEqual(["completed", "completed", "completed"]);
    expect(await childCounts(page)).toEqual([8, 8, 8]);
    await expect.poll(() => page.locator("[data-testid=batch-child] .digest.ok").count()).toBe(3);
    await shoot(page, "batch-approval", 1280);
    await shoot(page, "batch-approval", 375);

    await page.click("[data-testid=approve]");
    await expect.poll(() => batchStatus(page), { timeout: 10_000 }).toBe("completed");
    const result = await page.textContent("[data-testid=batch-result]");
    expect(result).toContain("3 of them match");
    expect(result).toContain("You approved it.");
    expect(await page.isVisible("[data-testid=approval]")).toBe(false);
    await shoot(page, "batch-approved", 375);
    await page.close();
  }, 60_000);

  it("re-attaches after a reload, follows more children than it opens streams at once, and records a rejection", async () => {
    const page = await signedInPage(browser, server!.url, "reloader");
    await startBatch(page, { parts: "5", chunks: "6", chunkMs: "150", approval: true });
    await expect.poll(() => page.locator("[data-testid=batch-child]").count(), { timeout: 10_000 }).toBe(5);
    await expect
      .poll(async () => (await childCounts(page)).some((n) => n > 0), { timeout: 10_000 })
      .toBe(true);
    const batchId = await page.textContent("[data-testid=batch-id]");
    await page.reload();
    // The page rebuilt the tree from the parent's replayed `child` events.
    await expect.poll(() => page.textContent("[data-testid=batch-id]")).toBe(batchId);
    await expect.poll(() => batchStatus(page), { timeout: 15_000 }).toBe("awaiting approval");
    expect(await page.locator("[data-testid=batch-child]").count()).toBe(5);
    await page.click("[data-testid=reject]");
    await expect.poll(() => batchStatus(page), { timeout: 10_000 }).toBe("completed");
    // Every part was streamed in the end (three at a time), and each streamed digest matches the result.
    await expect
      .poll(() => page.textContent("[data-testid=batch-result]"), { timeout: 10_000 })
      .toContain("5 of them match");
    expect(await page.textContent("[data-testid=batch-result]")).toContain("You rejected it.");
    expect(await childCounts(page)).toEqual([6, 6, 6, 6, 6]);
    await page.close();
  }, 60_000);

  it("cancels the batch and shows every child cancelled", async () => {
    const page = await signedInPage(browser, server!.url, "canceller", { width: 375, height: 800 });
    await startBatch(page, { parts: "4", chunks: "200", chunkMs: "100", approval: false });
    await expect.poll(() => page.locator("[data-testid=batch-child]").count(), { timeout: 10_000 }).toBe(4);
    await expect
      .poll(async () => (await childCounts(page)).filter((n) => n > 0).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(1);
    await page.click("[data-testid=batch-cancel]");
    await expect.poll(() => batchStatus(page), { timeout: 10_000 }).toBe("cancelled");
    await expect.poll(() => childStatuses(page), { timeout: 10_000 }).toEqual(Array(4).fill("cancelled"));
    expect((await childCounts(page)).every((n) => n < 200)).toBe(true);
    expect(await page.isDisabled("[data-testid=batch-cancel]")).toBe(true);
    await shoot(page, "batch-cancelled", 375);
    await shoot(page, "batch-cancelled", 1280);
    await page.close();
  }, 60_000);

  it("shows a validation error naming the field", async () => {
    const page = await signedInPage(browser, server!.url, "validator");
    await startBatch(page, { parts: "21", chunks: "1", chunkMs: "0", approval: false });
    await expect.poll(() => page.textContent("[data-testid=batch-message]")).toContain("parts");
    expect(await page.isVisible("#batch-run")).toBe(false);
    await page.close();
  });
});
