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

describe.skipIf(!chromiumAvailable)("the task inspector in headless Chromium", () => {
  let browser: Browser;
  let server: StartedServer | undefined;
  let dir: string;
  let screens: string;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tw-inspector-browser-"));
    screens = keptScreens ?? join(dir, "screens");
    mkdirSync(screens, { recursive: true });
    server = await startQuickstart({ PORT: String(await freePort()), TASKWIRE_DB: join(dir, "tasks.db") });
    base = server.url;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a task over the app's own HTTP API as `user` — from outside the inspector page. */
  async function startElsewhere(user: string, task: string, input: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${base}/api/tasks/${task}`, {
      method: "POST",
      headers: { Cookie: `tw_demo_user=${user}`, "Content-Type": "application/json" },
      body: JSON.stringify(input),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { taskId: string }).taskId;
  }

  /** Signs in with the quickstart's demo form, then opens the inspector (at a task, with `hash`). */
  async function openInspector(user: string, hash = "", viewport = { width: 1280, height: 800 }) {
    const page = await signedInPage(browser, base, user, viewport);
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${base}/inspector/${hash}`);
    await expect.poll(() => page.textContent("[data-testid=scope]")).toContain(user);
    return { page, errors };
  }

  const detailStatus = (page: Page) => page.textContent("[data-testid=detail-status]");
  const eventNames = (page: Page) =>
    page
      .locator("[data-testid=event-row]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name")));
  const rowOf = (page: Page, taskId: string) =>
    page.locator(`[data-testid=task-row][data-task-id="${taskId}"]`);

  /** Screenshot (to `inspector-<name>-<width>.png`) and a check that nothing overflows sideways. */
  async function shoot(page: Page, name: string, width: number) {
    await page.setViewportSize({ width, height: 800 });
    await page.screenshot({ path: join(screens, `inspector-${name}-${width}.png`) });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `page wider than ${width}px`).toBeLessThanOrEqual(0);
  }

  it("shows a task started elsewhere within seconds, then its timeline and events live", async () => {
    const { page, errors } = await openInspector("ivy");
    await expect.poll(() => page.isVisible("#list-empty")).toBe(true);
    const taskId = await startElsewhere("ivy", "reports.generate", { chunks: 25, chunkMs: 150 });
    const startedAt = Date.now();
    await expect.poll(() => rowOf(page, taskId).count(), { timeout: 4000, interval: 50 }).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(3500);

    await shoot(page, "list", 375);
    await page.setViewportSize({ width: 1280, height: 800 });
    await rowOf(page, taskId).click();
    await expect.poll(() => page.textContent("[data-testid=detail-id]")).toBe(taskId);
    // Live: timeline rows and progress events arrive while the task is still running.
    await expect
      .poll(() => page.locator("[data-testid=timeline-row]").count(), { timeout: 5000 })
      .toBeGreaterThan(2);
    await expect
      .poll(() => page.locator("[data-testid=event-row]").count(), { timeout: 5000 })
      .toBeGreaterThan(2);
    expect(await detailStatus(page)).toBe("running");
    expect(await rowOf(page, taskId).getAttribute("aria-current")).toBe("true");
    await shoot(page, "running", 1280);
    await shoot(page, "running", 375);
    await page.setViewportSize({ width: 1280, height: 800 });

    await expect.poll(() => detailStatus(page), { timeout: 15_000 }).toBe("completed");
    await expect.poll(() => page.locator("[data-testid=timeline-row]").count()).toBe(25);
    const names = await eventNames(page);
    expect(names).toEqual([...Array(25).fill("progress"), "completed"]);
    const seqs = await page
      .locator("[data-testid=event-row]")
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-seq"))));
    expect(seqs).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    expect(await page.textContent("[data-testid=result]")).toContain('"chunks": 25');
    await expect.poll(() => page.getAttribute("[data-testid=stream-state]", "data-state")).toBe("ended");
    await expect.poll(() => rowOf(page, taskId).getAttribute("data-status")).toBe("completed");
    await shoot(page, "completed", 1280);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("cancels a running task", async () => {
    const taskId = await startElsewhere("jan", "reports.generate", { chunks: 200, chunkMs: 100 });
    const { page, errors } = await openInspector("jan", `#/tasks/${taskId}`);
    await expect.poll(() => detailStatus(page), { timeout: 5000 }).toBe("running");
    await expect
      .poll(() => page.locator("[data-testid=event-row]").count(), { timeout: 5000 })
      .toBeGreaterThan(0);
    expect(await page.isDisabled("[data-testid=retry]")).toBe(true);
    await page.click("[data-testid=cancel]");
    await expect.poll(() => detailStatus(page), { timeout: 10_000 }).toBe("cancelled");
    await expect.poll(() => eventNames(page)).toContain("cancelled");
    expect(await page.isDisabled("[data-testid=cancel]")).toBe(true);
    expect((await eventNames(page)).filter((n) => n === "progress").length).toBeLessThan(200);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("retries a failed task: attempt 2 runs from its checkpoints and fails again at the same chunk", async () => {
    // failAt throws a NonRetriableError at that chunk on every run: the retry's effect is attempt 2, the
    // replayed checkpoints (no second progress for chunks 1-2) and a second `failed` event.
    const taskId = await startElsewhere("kim", "reports.generate", { chunks: 5, chunkMs: 50, failAt: 3 });
    const { page, errors } = await openInspector("kim", `#/tasks/${taskId}`);
    await expect.poll(() => detailStatus(page), { timeout: 10_000 }).toBe("failed");
    expect(await page.textContent("[data-testid=detail-error]")).toContain("CHUNK_FAILED");
    expect(await page.textContent("[data-testid=attempt]")).toBe("1");
    expect(await page.isDisabled("[data-testid=cancel]")).toBe(true);
    await shoot(page, "failed", 1280);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.click("[data-testid=retry]");
    await expect.poll(() => page.textContent("[data-testid=attempt]"), { timeout: 10_000 }).toBe("2");
    await expect
      .poll(() => eventNames(page), { timeout: 10_000 })
      .toEqual(["progress", "progress", "failed", "failed"]);
    await expect.poll(() => detailStatus(page)).toBe("failed");
    expect(await page.textContent("[data-testid=action-message]")).toContain("attempt 2");
    expect(await page.locator("[data-testid=timeline-row]").count()).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("approves a batch through the signal form, with its children drawn as a tree", async () => {
    const taskId = await startElsewhere("lea", "reports.batch", {
      parts: 2,
      chunks: 3,
      chunkMs: 50,
      approval: true,
    });
    const { page, errors } = await openInspector("lea", `#/tasks/${taskId}`);
    await expect.poll(() => page.locator("[data-testid=child-node]").count(), { timeout: 10_000 }).toBe(2);
    await expect.poll(() => detailStatus(page), { timeout: 15_000 }).toBe("waiting");
    await expect.poll(() => page.isVisible("[data-testid=signal-form]")).toBe(true);
    await expect
      .poll(() => page.locator("[data-testid=child-status]").allTextContents())
      .toEqual(["completed", "completed"]);
    await expect.poll(() => eventNames(page)).toContain("awaiting_approval");
    await shoot(page, "approval", 1280);
    await shoot(page, "approval", 375);
    await page.setViewportSize({ width: 1280, height: 800 });

    // The generic form: a payload the task's schema refuses is answered with the field it names.
    await page.fill("[data-testid=signal-payload]", '{ "approved": "yes" }');
    await page.click("[data-testid=signal-send]");
    await expect.poll(() => page.textContent("[data-testid=signal-message]")).toContain("approved");
    expect(await page.getAttribute("[data-testid=signal-message]", "class")).toContain("error");
    expect(await detailStatus(page)).toBe("waiting");

    await page.click("[data-testid=approve]");
    await expect.poll(() => detailStatus(page), { timeout: 10_000 }).toBe("completed");
    expect(await page.textContent("[data-testid=result]")).toContain('"approved": true');
    const snapshot = await fetch(`${base}/api/tasks/${taskId}`, { headers: { Cookie: "tw_demo_user=lea" } });
    expect(((await snapshot.json()) as { result: { approved: boolean } }).result.approved).toBe(true);
    expect(await page.isVisible("[data-testid=signal-form]")).toBe(false);

    // A child links to its own view, which links back to the parent.
    await page.locator("[data-testid=child-node] a").first().click();
    await expect.poll(() => page.textContent("[data-testid=detail-task]")).toBe("reports.generate");
    expect(await page.getAttribute(".facts a.id-link", "href")).toBe(`#/tasks/${taskId}`);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("another user's task is not reachable: opened by URL it shows not found, and it is not listed", async () => {
    const taskId = await startElsewhere("mia", "reports.generate", { chunks: 2, chunkMs: 10 });
    const { page } = await openInspector("ned", `#/tasks/${taskId}`);
    await expect.poll(() => page.isVisible("[data-testid=not-found]")).toBe(true);
    expect(await page.isVisible("[data-testid=detail]")).toBe(false);
    await expect.poll(() => page.isVisible("#list-empty")).toBe(true);
    expect(await rowOf(page, taskId).count()).toBe(0);
    await shoot(page, "not-found", 375);
    await page.close();
  }, 30_000);

  it("without a sign-in the page and its API answer 401 with no task data", async () => {
    const taskId = await startElsewhere("ola", "reports.generate", { chunks: 1, chunkMs: 0 });
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(`${base}/inspector/`);
    expect(response?.status()).toBe(401);
    expect(await page.locator("[data-testid=task-row]").count()).toBe(0);
    await context.close();
    for (const path of [
      "/inspector",
      "/inspector/",
      "/inspector/api/tasks",
      `/inspector/api/tasks/${taskId}`,
    ]) {
      const res = await fetch(`${base}${path}`, { redirect: "manual" });
      expect(res.status, path).toBe(401);
      const text = await res.text();
      expect(JSON.parse(text).error.code).toBe("UNAUTHENTICATED");
      expect(text).not.toContain(taskId);
    }
  });
});
