import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type StartedServer } from "@taskwire/testing/process";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, launchChromium, signedInPage } from "./browser-harness";
import { startQuickstart } from "./quickstart-server";

// Runs in the page as text: vitest transforms the test file, and would rewrite a dynamic import inside a
// function passed to page.evaluate. It imports the page's own `common.js`, as the page does.
const BURST_SCRIPT = `(async () => {
  const common = await import("/common.js");
  const post = () =>
    fetch("/api/reports/generate", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ chunks: 1, chunkMs: 0 }),
    });
  const responses = await Promise.all(Array.from({ length: 40 }, post));
  const limited = responses.filter((r) => r.status === 429);
  const first = limited[0];
  const text = first ? await common.describeError(first) : "";
  if (first) common.showMessage(text);
  return {
    admitted: responses.filter((r) => r.ok).length,
    limited: limited.length,
    retryAfter: first ? first.headers.get("Retry-After") : null,
    text,
  };
})()`;

describe.skipIf(!chromiumAvailable)("quickstart start rate in headless Chromium", () => {
  let browser: Browser;
  let server: StartedServer | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tw-limits-browser-"));
    server = await startQuickstart({ PORT: String(await freePort()), TASKWIRE_DB: join(dir, "tasks.db") });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a burst of starts past the rate gets 429s, which the page explains with Retry-After", async () => {
    const page = await signedInPage(browser, server!.url, "hammer");
    // 40 starts at once from the page: burst 10 plus 1/s, so (unless they took 30 s) some are refused.
    const outcome = (await page.evaluate(BURST_SCRIPT)) as {
      admitted: number;
      limited: number;
      retryAfter: string | null;
      text: string;
    };
    expect(outcome.limited).toBeGreaterThan(0);
    expect(outcome.admitted).toBeGreaterThanOrEqual(10);
    expect(outcome.admitted + outcome.limited).toBe(40);
    expect(outcome.retryAfter).toBe("1");
    expect(outcome.text).toBe("Too many starts at once — try again in 1 s.");
    expect(await page.textContent("[data-testid=message]")).toBe(
      "Too many starts at once — try again in 1 s.",
    );
    await page.close();
  }, 60_000);
});
