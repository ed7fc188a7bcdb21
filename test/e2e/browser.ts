// Shared by the Chromium end-to-end tests: Debian's Chromium through playwright-core (which never
// downloads a browser), screenshots into test-results/, and small waiting helpers.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN } from '../helpers/gateway.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHOTS = path.join(ROOT, 'test-results');
const UI_INDEX = path.join(ROOT, 'web', 'dist', 'index.html');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** A `data-testid` selector. */
export const tid = (id: string) => `[data-testid="${id}"]`;

/** Checks that the UI is built and Chromium is there, makes test-results/ and starts the browser. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(UI_INDEX)) throw new Error(`${UI_INDEX} is missing: run \`npm run build\` first (it builds the UI with Vite)`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Collects page errors and console errors (a failed request's own "Failed to load resource" line aside). */
export function watchProblems(page: Page, problems: string[]): void {
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A failed request is logged by Chromium itself ("Failed to load resource: 401"); the UI
    // handles those. Anything else logged as an error is a bug.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console.error: ${m.text()}`);
  });
}

/**
 * A desktop page (1280 wide) in a fresh context, light scheme, 20 s default timeout (a whole
 * `npm test` on two busy cores once took over 10 s for one save), its errors collected into `problems`; `clipboardOrigin` grants clipboard access there.
 */
export async function desktopPage(browser: Browser, problems: string[], opts: { locale: string; height?: number; clipboardOrigin?: string }): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: opts.height ?? 820 }, locale: opts.locale, colorScheme: 'light' });
  if (opts.clipboardOrigin) await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: opts.clipboardOrigin });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20_000);
  watchProblems(page, problems);
  return { ctx, page };
}

/** Opens the UI at `url`, signs in with the admin password and waits for the dashboard. */
export async function signIn(page: Page, url: string, password = ADMIN): Promise<void> {
  await page.goto(url + '/');
  await page.fill(tid('login-password'), password);
  await page.press(tid('login-password'), 'Enter');
  await page.locator(tid('dashboard-page')).waitFor();
}

/** A screenshot into test-results/<name>.png, from the top of the page. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

/** Polls `fn` until it returns a truthy value (or throws the last error after `ms`). */
export async function until<V>(fn: () => Promise<V> | V, ms = 8_000, what = 'condition'): Promise<V> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
