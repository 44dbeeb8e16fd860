import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type StartedServer } from "@taskwire/testing/process";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, launchChromium, signedInPage as openSignedIn } from "./browser-harness";
import { startQuickstart } from "./quickstart-server";

describe.skipIf(!chromiumAvailable)("quickstart page in headless Chromium", () => {
  let browser: Browser;
  let server: StartedServer | undefined;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tw-browser-"));
    env = { PORT: String(await freePort()), TASKWIRE_DB: join(dir, "tasks.db"), TASKWIRE_LEASE_MS: "1000" };
    server = await startQuickstart(env);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const signedInPage = (name: string) => openSignedIn(browser, server!.url, name);

  async function startReport(page: Page, input: { chunks: string; chunkMs: string; failAt?: string }) {
    await page.fill("#report-form input[name=chunks]", input.chunks);
    await page.fill("#report-form input[name=chunkMs]", input.chunkMs);
    await page.fill("#report-form input[name=failAt]", input.failAt ?? "");
    await page.click("#start-button");
  }

  const count = (page: Page) => page.textContent("[data-testid=count]").then(Number);
  const status = (page: Page) => page.textContent("[data-testid=status]");
  const notices = (page: Page) => page.locator("#log li.duplicate, #log li.gap").count();

  it("shows validation errors naming the field", async () => {
    const page = await signedInPage("val");
    await startReport(page, { chunks: "0", chunkMs: "10" });
    await expect.poll(() => page.textContent("[data-testid=message]")).toContain("chunks");
    await page.close();
  });

  it("starts a report, shows progress, survives a server restart, and completes with a matching digest", async () => {
    const page = await signedInPage("alice");
    await startReport(page, { chunks: "10", chunkMs: "250" });
    await expect.poll(() => count(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    // A graceful restart (SIGTERM): the server interrupts the stream, hands the task back and exits.
    expect((await server!.stop()).code).toBe(0);
    server = await startQuickstart(env);
    await expect.poll(() => status(page), { timeout: 30_000 }).toBe("completed");
    expect(await count(page)).toBe(10);
    expect(await page.getAttribute("[data-testid=digest]", "class")).toBe("ok");
    expect(await page.locator("#log li", { hasText: "progress" }).count()).toBe(10);
    expect(await notices(page)).toBe(0);
    await page.close();
  }, 60_000);

  it("re-attaches to the running task after a page reload", async () => {
    const page = await signedInPage("reloader");
    await startReport(page, { chunks: "8", chunkMs: "200" });
    await expect.poll(() => count(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const taskId = await page.textContent("[data-testid=task-id]");
    await page.reload();
    await expect.poll(() => page.textContent("[data-testid=task-id]")).toBe(taskId);
    await expect.poll(() => status(page), { timeout: 20_000 }).toBe("completed");
    expect(await page.getAttribute("[data-testid=digest]", "class")).toBe("ok");
    expect(await notices(page)).toBe(0);
    await page.close();
  }, 40_000);

  it("cancels a running report", async () => {
    const page = await signedInPage("canceller");
    await startReport(page, { chunks: "100", chunkMs: "200" });
    await expect.poll(() => count(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await page.click("[data-testid=cancel]");
    await expect.poll(() => status(page), { timeout: 10_000 }).toBe("cancelled");
    expect(await count(page)).toBeLessThan(100);
    await page.close();
  }, 30_000);

  it("shows a clear message when the task fails", async () => {
    const page = await signedInPage("failer");
    await startReport(page, { chunks: "5", chunkMs: "20", failAt: "3" });
    await expect.poll(() => status(page), { timeout: 10_000 }).toBe("failed");
    expect(await page.textContent("[data-testid=message]")).toContain("Chunk 3 failed");
    await page.close();
  });
});
