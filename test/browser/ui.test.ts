/**
 * The web UI in a real browser against a real server process: sign in with an admin token,
 * create a flag with a 50 % rollout and a constraint, turn it on in one environment and watch an
 * official `unleash-client` connected to the server see the change; bad input is caught next to
 * the field; a server refusal (problem+json) is shown in words.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { murmur3 } from '@switchyard/engine';
import { ok, startServerProcess, type ServerProcess } from '../e2e/server.js';
import { eventually, startUnleash, type StartedUnleash } from '../e2e/sdk.js';
import { VIEWPORT, chromiumAvailable, launch, requireWebBuilt, screenshotDir, signIn, watch } from './browser.js';

const FLAG = 'checkout.new-flow';
const available = chromiumAvailable();

/** A user id whose Unleash bucket (1..100) for this group is inside (or outside) a 50 % rollout. */
function userFor(groupId: string, inside: boolean): string {
  for (let i = 0; ; i++) {
    const id = `user-${i}`;
    const bucket = (murmur3(`${groupId}:${id}`, 0) % 100) + 1;
    if (inside ? bucket <= 50 : bucket > 50) return id;
  }
}

describe.skipIf(!available)('web UI in Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let sdk: StartedUnleash;
  let errors: string[];

  beforeAll(async () => {
    requireWebBuilt();
    server = await startServerProcess({ logLevel: 'warn' });
    const created = await ok(server, 'POST', '/api/admin/tokens', { type: 'backend', environment: 'production', name: 'browser-test-sdk' }, server.adminToken);
    // The official Unleash SDK, streaming from the server like a production app.
    sdk = await startUnleash({ url: server.url, token: created.secret, appName: 'browser-test', mode: 'streaming' });
    browser = await launch();
    page = await browser.newPage({ viewport: VIEWPORT });
    page.setDefaultTimeout(10_000);
    errors = watch(page).errors;
  });
  afterAll(async () => {
    sdk?.unleash.destroy();
    await browser?.close();
    await server?.stop();
  });

  it('serves the UI at / and signs in with an admin token into an HttpOnly session cookie', async () => {
    await page.goto(server.url + '/');
    await page.getByLabel('Admin token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The server's refusal, in words, next to the field.
    await expect.poll(() => page.locator('.field-error').textContent()).toMatch(/not valid/);

    await signIn(page, server.url, server.adminToken!);
    await page.getByRole('heading', { name: 'Flags', level: 1 }).waitFor();
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'switchyard_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    expect(stored).not.toContain(server.adminToken!);
  });

  it('creates a flag, checking the name as you type', async () => {
    await page.getByRole('button', { name: 'New flag' }).click();
    const dialog = page.getByRole('dialog', { name: 'New flag' });
    const name = dialog.getByLabel('Name', { exact: true });
    await name.fill('checkout new flow');
    await expect.poll(() => dialog.locator('.field-error').first().textContent()).toMatch(/No spaces/);
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    await name.fill(FLAG);
    expect(await dialog.locator('.field-error').count()).toBe(0);
    await dialog.getByRole('button', { name: 'Create flag' }).click();
    await page.getByRole('heading', { name: FLAG, level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/flags/${FLAG}`);
  });

  it('adds a 50 % rollout with a constraint in production; bad values are caught next to their field', async () => {
    const production = page.getByRole('region', { name: 'Environment production' });
    await production.getByRole('button', { name: '+ Add strategy' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a strategy in production' });
    const rollout = dialog.getByLabel('Rollout %');
    await rollout.fill('150');
    await expect.poll(() => rollout.getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.locator(`#${await rollout.getAttribute('aria-describedby').then((ids) => ids!.split(' ')[0])}`).textContent()).toMatch(/0 to 100/);
    await rollout.fill('50');
    expect(await rollout.getAttribute('aria-invalid')).toBeNull();
    await dialog.getByLabel('Stickiness').selectOption('userId');

    await dialog.getByRole('button', { name: '+ Add constraint' }).click();
    const constraint = dialog.getByRole('group', { name: 'Constraint 1' });
    await constraint.getByLabel('Context field').fill('plan');
    // A number operator with a word: refused as you type.
    await constraint.getByLabel('Operator').selectOption('NUM_GT');
    await constraint.getByLabel('Value', { exact: true }).fill('abc');
    await expect.poll(() => constraint.locator('.field-error').textContent()).toMatch(/"abc" is not a number/);
    // A regex that RE2 refuses (backreferences do not exist in RE2).
    await constraint.getByLabel('Operator').selectOption('REGEX');
    await constraint.getByLabel('Value', { exact: true }).fill('(a)\\1');
    await expect.poll(() => constraint.locator('.field-error').textContent(), { timeout: 5000 }).toMatch(/RE2|regular expression/);
    await constraint.getByLabel('Value', { exact: true }).fill('');
    await constraint.getByLabel('Operator').selectOption('IN');
    const values = constraint.getByLabel('Values');
    await values.fill('beta');
    await values.press('Enter');
    await constraint.getByText('beta').first().waitFor();

    await dialog.getByRole('button', { name: 'Add strategy' }).click();
    await dialog.waitFor({ state: 'detached' });
    await production.getByText('50 % rollout').waitFor();
    await production.getByText('plan is one of [beta]').waitFor();
  });

  it('turns the flag on in production and the connected SDK sees it', async () => {
    const inside = userFor(FLAG, true);
    const outside = userFor(FLAG, false);
    const beta = (userId: string) => ({ userId, properties: { plan: 'beta' } });
    expect(sdk.unleash.isEnabled(FLAG, beta(inside))).toBe(false);

    const production = page.getByRole('region', { name: 'Environment production' });
    const toggle = production.getByRole('switch', { name: `${FLAG} in production` });
    expect(await toggle.getAttribute('aria-checked')).toBe('false');
    await toggle.click();
    await expect.poll(() => toggle.getAttribute('aria-checked')).toBe('true');
    // Development stays off.
    expect(await page.getByRole('switch', { name: `${FLAG} in development` }).getAttribute('aria-checked')).toBe('false');

    expect(await eventually(() => sdk.unleash.isEnabled(FLAG, beta(inside)), 10_000)).toBe(true);
    expect(sdk.unleash.isEnabled(FLAG, beta(outside))).toBe(false);
    expect(sdk.unleash.isEnabled(FLAG, { userId: inside, properties: { plan: 'free' } })).toBe(false);
    await page.screenshot({ path: join(screenshotDir(), 'test-flag-on.png') });
  });

  it('shows the flag history with a before/after diff', async () => {
    await page.getByRole('tab', { name: 'History' }).click();
    const turnedOn = page.locator('.events summary', { hasText: 'Turned on' });
    await turnedOn.click();
    const diff = page.locator('.events details[open] .diff');
    await expect.poll(() => diff.locator('.diff-add').allTextContents()).toEqual(['+   "enabled": true\n']);
    expect(await diff.locator('.diff-del').allTextContents()).toEqual(['−   "enabled": false\n']);
  });

  it('finds the flag with the global search from the keyboard', async () => {
    await page.getByRole('link', { name: 'Segments' }).click();
    await page.getByRole('heading', { name: 'Segments', level: 1 }).waitFor();
    await page.keyboard.press('/');
    await page.keyboard.type('new-fl');
    await page.getByRole('option', { name: new RegExp(FLAG.replace('.', '\\.')) }).waitFor();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: FLAG, level: 1 }).waitFor();
  });

  it('shows a problem+json refusal from the server in words', async () => {
    // A project that still has flags cannot be deleted: the server answers 409 problem+json.
    await ok(server, 'POST', '/api/admin/projects', { id: 'shop', name: 'Shop' }, server.adminToken);
    await ok(server, 'POST', '/api/admin/flags', { name: 'shop.banner', project: 'shop' }, server.adminToken);
    await page.getByRole('link', { name: 'Projects' }).click();
    const row = page.getByRole('row', { name: /shop/ });
    await row.getByRole('button', { name: 'Delete…' }).click();
    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    const problem = page.locator('.problem[role=alert]');
    await problem.waitFor();
    const text = (await problem.textContent()) ?? '';
    expect(text).toContain('Conflict');
    expect(text).toContain('Project "shop" still has flags ("shop.banner"); move or delete them first');
    expect(text).not.toMatch(/at .*\.js|stack|undefined|\{"type"/i);
    // The page is still there, and so is the project.
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    expect(await page.getByRole('row', { name: /shop/ }).count()).toBe(1);
  });

  it('signs out, and the cookie no longer opens the admin API', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/admin/flags')).status);
    expect(status).toBe(401);
    expect(errors).toEqual([]);
  });
});
