/**
 * Debian's Chromium driven by playwright-core, for the browser tests. A missing Chromium fails
 * the tests in CI (`CI` set) and skips them loudly elsewhere.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../e2e/server.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];
/** A laptop screen. */
export const VIEWPORT = { width: 1280, height: 800 };
export const WEB_DIST = join(ROOT, 'packages/web/dist/index.html');

/** Whether the browser tests can run here; throws in CI when Chromium is missing. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI) throw new Error(`${message}: the browser tests need it in CI.`);
  console.warn(`\n*** ${message}: browser tests are SKIPPED ***\n`);
  return false;
}

export function requireWebBuilt(): void {
  if (!existsSync(WEB_DIST)) throw new Error(`${WEB_DIST} is missing: run \`npm run build\` before the tests (npm test does).`);
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** Collects page errors and failed console messages so a test can assert the page stayed healthy. */
export function watch(page: Page): { errors: string[] } {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { errors };
}

export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url + '/');
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** docs/screenshots/ with `UPDATE_SCREENSHOTS=1` (for the README), else test-results/screenshots/. */
export function screenshotDir(forDocs = false): string {
  const dir = forDocs && process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs/screenshots') : join(ROOT, 'test-results/screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}
