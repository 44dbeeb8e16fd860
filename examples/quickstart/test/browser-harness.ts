import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Whether headless Chromium is installed. Outside CI a missing browser skips the page tests loudly; in CI
 * it fails them, so a broken image can never pass by skipping.
 */
export const chromiumAvailable = existsSync(CHROMIUM);
if (!chromiumAvailable && process.env.CI)
  throw new Error(`Chromium is required in CI but ${CHROMIUM} does not exist`);
if (!chromiumAvailable)
  console.warn(
    `\n  !! SKIPPING the quickstart browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium)\n`,
  );

/** Launches the system Chromium headless. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Opens the page in a fresh context and signs in with the demo form as `name`. */
export async function signedInPage(
  browser: Browser,
  url: string,
  name: string,
  viewport = { width: 1280, height: 800 },
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  // Best effort: when the browser itself is closing (afterAll), the context may already be gone, and a
  // rejected close must not surface as an unhandled rejection of whichever test file runs then.
  page.on("close", () => void context.close().catch(() => undefined));
  await page.goto(url);
  await page.fill("#user-name", name);
  await page.click("#sign-in button");
  await expect.poll(() => page.textContent("[data-testid=who]")).toBe(name);
  return page;
}
