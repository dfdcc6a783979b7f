/**
 * The release pages in Chromium against a real server process with a demo service under load
 * (the e2e rollout machinery: `@switchyard/sdk` request middleware, 150 req/s on loopback):
 *
 * - create a plan from a template in the UI, start it, and watch it advance to 100 % on a page
 *   that updates from the server's stream (no reload);
 * - a plan whose new code path fails more often is rolled back by the guardian; its page says why
 *   in one sentence, with the numbers behind it;
 * - a person starts, pauses, resumes, advances and rolls back a plan (with a confirmation);
 * - the list per project and environment.
 *
 * To stay under a minute the server checks plans every second (SWITCHYARD_RELEASE_CHECK_MS) and
 * the demo's SDK reports every second; bake times are a few seconds. Screenshots of the list and
 * of an advancing and a rolled-back plan go to docs/screenshots/ with UPDATE_SCREENSHOTS=1.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, startServerProcess, type ServerProcess } from '../e2e/server.js';
import { generateLoad, startDemoService, type DemoService } from '../e2e/demo-service.js';
import { VIEWPORT, chromiumAvailable, launch, requireWebBuilt, screenshotDir, signIn, watch } from './browser.js';

const available = chromiumAvailable();

describe.skipIf(!available)('release pages in Chromium', () => {
  let server: ServerProcess;
  let demo: DemoService;
  let load: ReturnType<typeof generateLoad>;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let brokenPage: Page;
  let brokenId: string;
  const dir = available ? screenshotDir(true) : '';
  const call = (method: string, path: string, body?: unknown) => ok(server, method, path, body, server.adminToken);

  beforeAll(async () => {
    requireWebBuilt();
    server = await startServerProcess({ logLevel: 'warn', env: { SWITCHYARD_RELEASE_CHECK_MS: '1000' } });
    await call('POST', '/api/admin/projects', { id: 'payments', name: 'Payments' });
    await call('POST', '/api/admin/flags', { name: 'new-search', description: 'Semantic search ranking' });
    await call('POST', '/api/admin/flags', { name: 'new-checkout', project: 'payments', description: 'The one-page checkout' });
    await call('POST', '/api/admin/flags', { name: 'new-banner', description: 'Holiday banner' });
    // A team's own template: quick percentages with a small gate (the built-in canary bakes 5 min per step).
    await call('POST', '/api/admin/release-templates', {
      id: 'fast-canary',
      name: 'Fast canary',
      description: 'For small services: 10 % → 50 % → 100 %, a few seconds each.',
      rollback: 'off',
      bakeMs: 8000,
      // α = 0.1 %: a healthy plan is not rolled back by an unlucky A/A streak in a test. The SRM check
      // stays on: reports that began before a step are not counted in it, even at one per second.
      gate: { minCanaryRequests: 30, minControlRequests: 30, alpha: 0.001 },
      milestones: [10, 50, 100].map((p) => ({ name: `${p} %`, strategies: [{ name: 'flexibleRollout', parameters: { rollout: p, stickiness: 'default' } }] })),
    });
    const backend = await call('POST', '/api/admin/tokens', { type: 'backend', environment: 'production', name: 'demo' });
    demo = await startDemoService({
      url: server.url,
      token: backend.secret,
      metricsIntervalMs: 1000,
      routes: {
        search: { flag: 'new-search', oldErrorRate: 0.01, newErrorRate: 0.01 },
        checkout: { flag: 'new-checkout', oldErrorRate: 0.01, newErrorRate: 0.06 },
      },
    });
    load = generateLoad({ url: demo.url, routes: ['search', 'checkout'], rps: 150, maxMs: 58_000 });
    browser = await launch();
    page = await browser.newPage({ viewport: VIEWPORT });
    page.setDefaultTimeout(10_000);
    errors = watch(page).errors;
    await signIn(page, server.url, server.adminToken!);
  });

  afterAll(async () => {
    load?.stop();
    await load?.done;
    await demo?.close();
    await browser?.close();
    const code = await server?.stop();
    if (code !== 0 && code !== null) console.warn(server.logs());
  });

  /** Marks the document; `stillSamePage` says it was never reloaded since. */
  const mark = (p: Page) => p.evaluate(() => ((window as any).__sameDocument = true));
  const stillSamePage = (p: Page) => p.evaluate(() => (window as any).__sameDocument === true);

  /** A screenshot; `fullPage`: the whole page, in a window as tall as the page (so the sidebar reaches the bottom). */
  async function shot(p: Page, name: string, fullPage = false) {
    await p.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    if (fullPage) await p.setViewportSize({ width: VIEWPORT.width, height: await p.evaluate(() => document.documentElement.scrollHeight) });
    await p.waitForTimeout(200);
    await p.screenshot({ path: join(dir, `${name}.png`) });
    if (fullPage) await p.setViewportSize(VIEWPORT);
  }

  it('creates a plan from a template, starts it, and shows it advancing live to 100 %', async () => {
    await page.getByRole('link', { name: 'Releases' }).click();
    await page.getByRole('heading', { name: 'Releases', level: 1 }).waitFor();
    await page.getByText('No release plans yet.').waitFor();

    await page.getByRole('button', { name: 'New release plan' }).click();
    const dialog = page.getByRole('dialog', { name: 'New release plan' });
    // Bad input is caught next to the field.
    await dialog.getByLabel('Flag', { exact: true }).fill('no-such-flag');
    await dialog.getByLabel('Bake time per milestone').fill('five minutes');
    await expect.poll(() => dialog.locator('.field-error').allTextContents()).toEqual(['No flag named “no-such-flag”.', 'Write a duration such as 90s, 5m or 1h 30m.']);
    await dialog.getByLabel('Bake time per milestone').fill('');
    await dialog.getByLabel('Flag', { exact: true }).fill('new-search');
    await dialog.getByLabel('Environment').selectOption('production');
    await dialog.getByRole('radio', { name: /Fast canary/ }).check();
    await page.screenshot({ path: join(screenshotDir(), 'release-create.png') });
    await dialog.getByRole('button', { name: 'Create and start' }).click();
    await page.waitForURL(/\/releases\/[0-9a-f-]{36}$/);
    const healthyId = page.url().split('/').pop()!;
    await mark(page);

    // The regressing plan starts now too (through the API, as a pipeline would), watched in a second tab.
    const broken = await call('POST', '/api/admin/releases', {
      flag: 'new-checkout',
      environment: 'production',
      milestones: [20, 100].map((p) => ({ name: `${p} %`, strategies: [{ name: 'flexibleRollout', parameters: { rollout: p, stickiness: 'default' } }] })),
      bakeMs: 60_000,
      rollback: 'previous',
      start: true,
    });
    brokenId = broken.id;
    brokenPage = await browser.newPage({ viewport: VIEWPORT, storageState: await page.context().storageState() });
    brokenPage.setDefaultTimeout(10_000);
    brokenPage.on('pageerror', (e) => errors.push(`pageerror (rolled-back plan): ${e.message}`));
    await brokenPage.goto(`${server.url}/releases/${brokenId}`);
    await brokenPage.getByRole('heading', { name: 'Milestones' }).waitFor();
    await mark(brokenPage);

    await page.getByRole('heading', { name: 'Milestones' }).waitFor();
    await expect.poll(() => page.locator('.live').textContent()).toBe('Live');
    const timeline = page.locator('ol.timeline > li');
    expect(await timeline.count()).toBe(3);
    await expect.poll(() => timeline.nth(0).getAttribute('aria-current')).toBe('step');

    // Traffic per cohort, live from the SDK reports.
    const traffic = page.getByRole('region', { name: /Traffic per cohort/ });
    const requests = async (i: number) => Number(((await traffic.locator('.cohort').nth(i).locator('dd').first().textContent()) ?? '0').split(' ')[0].replace(/,/g, ''));
    await expect.poll(async () => (await requests(0)) > 0 && (await requests(1)) > 0, { timeout: 10_000 }).toBe(true);

    // The guardian advances it: the page follows without a reload.
    await timeline.nth(1).and(page.locator('[aria-current="step"]')).waitFor({ timeout: 30_000 });
    expect(await timeline.nth(0).getAttribute('class')).toContain('tl-done');
    // Charts with points: error rate and evidence for both cohorts, the threshold rule.
    const errorChart = page.getByRole('figure', { name: 'Error rate' });
    await expect.poll(async () => (await errorChart.locator('circle').count()) >= 8, { timeout: 10_000 }).toBe(true);
    const evidence = page.getByRole('figure', { name: 'Evidence against the canary' });
    await evidence.getByText('roll back at 1/α = 1000').waitFor();
    expect(await page.getByRole('img', { name: /^Error rate/ }).count()).toBe(1);
    // The data table fallback has one row per check.
    await errorChart.getByText('Data table').click();
    await expect.poll(() => errorChart.locator('tbody tr').count()).toBeGreaterThanOrEqual(4);
    await errorChart.getByText('Data table').click();
    // A few checks into "50 %", for the picture.
    await expect.poll(async () => (await requests(0)) > 60, { timeout: 8_000 }).toBe(true);
    await shot(page, 'release-advancing', true);

    await page.getByRole('heading', { name: 'Completed' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('.outcome-reason').textContent()).toMatch(/^completed: gate held at "50 %" after \d+ s: canary .+ evidence e = \S+ < 1000 \(α = 0\.1 %\)/);
    expect(await page.locator('ol.timeline > li.tl-done').count()).toBe(3);
    expect(await stillSamePage(page)).toBe(true);
    const done = await call('GET', `/api/admin/releases/${healthyId}`);
    expect(done).toMatchObject({ state: 'completed', milestone: 2, template: 'fast-canary' });
    expect(errors).toEqual([]);
  });

  it('shows a regressing plan rolled back by the guardian, with the reason and the numbers behind it', async () => {
    const p = brokenPage;
    await p.getByRole('heading', { name: 'Rolled back by the guardian' }).waitFor({ timeout: 30_000 });
    expect(await stillSamePage(p)).toBe(true);
    const reason = (await p.getByTestId('rollback-reason').textContent())!;
    expect(reason).toMatch(/^canary error rate [\d.]+ % vs control [\d.]+ % over [\d,]+ vs [\d,]+ requests; evidence e = \S+ ≥ 100 \(α = 1 %\) \(back to the flag’s configuration before the plan\)$/);
    const plan = await call('GET', `/api/admin/releases/${brokenId}`);
    expect(plan.state).toBe('rolled-back');
    expect(reason).toBe(plan.reason);
    // The numbers: per metric, errors / requests for each cohort, and the e-values.
    const table = p.locator('table.evidence-table');
    await table.waitFor();
    expect(await table.locator('caption').textContent()).toMatch(/combined e = \S+ ≥ 100 = 1\/α \(α = 1 %\)/);
    const errorsRow = table.getByRole('row', { name: /^Errors/ });
    const cells = await errorsRow.locator('td').allTextContents();
    expect(cells[0]).toMatch(/^[\d,]+ \/ [\d,]+ = [\d.]+ %$/);
    expect(cells[1]).toMatch(/^[\d,]+ \/ [\d,]+ = [\d.]+ %$/);
    const [canaryErrors, canaryRequests] = cells[0].split(' = ')[0].split(' / ').map((x) => Number(x.replace(/,/g, '')));
    expect(reason).toContain(`over ${canaryRequests.toLocaleString('en-US')} vs`);
    expect(canaryErrors).toBeGreaterThan(0);
    // The timeline marks where it stopped; the evidence chart crossed its threshold.
    expect(await p.locator('ol.timeline > li').first().getAttribute('class')).toContain('tl-failed');
    await p.getByRole('figure', { name: 'Evidence against the canary' }).getByText('roll back at 1/α = 100').waitFor();
    await p.getByRole('figure', { name: 'Error rate' }).getByText('rolled back').waitFor();
    await expect.poll(() => p.locator('.live').count()).toBe(0); // a finished plan has nothing more to stream
    await p.waitForTimeout(300);
    await shot(p, 'release-rolled-back', true);
    await p.close();
  });

  it('lets a person start, pause, resume, advance and roll back a plan (with a confirmation)', async () => {
    await page.goto(`${server.url}/releases`);
    await page.getByRole('button', { name: 'New release plan' }).click();
    const dialog = page.getByRole('dialog', { name: 'New release plan' });
    await dialog.getByLabel('Flag', { exact: true }).fill('new-banner');
    await dialog.getByRole('radio', { name: /^Canary/ }).check();
    await dialog.getByLabel('Bake time per milestone').fill('10m');
    await dialog.getByRole('button', { name: 'Save as draft' }).click();
    await page.waitForURL(/\/releases\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').pop()!;
    await page.getByText('draft', { exact: true }).waitFor();
    expect(await page.locator('ol.timeline > li').allTextContents()).toEqual([
      expect.stringContaining('1 %'),
      expect.stringContaining('5 %'),
      expect.stringContaining('25 %'),
      expect.stringContaining('50 %'),
      expect.stringContaining('100 %'),
    ]);
    expect(await page.locator('ol.timeline').textContent()).toContain('bake 10 min');

    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('heading', { name: 'Paused' }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    await page.getByRole('button', { name: 'Advance…' }).click();
    await page.getByRole('button', { name: 'Advance to 5 %' }).click();
    await page.locator('ol.timeline > li').nth(1).and(page.locator('[aria-current="step"]')).waitFor();

    // Rolling back asks first, and Cancel changes nothing.
    await page.getByRole('button', { name: 'Roll back…' }).click();
    let confirm = page.getByRole('dialog', { name: 'Roll back this release?' });
    await confirm.getByText('turns new-banner off in production').waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await call('GET', `/api/admin/releases/${id}`)).state).toBe('running');
    await page.getByRole('button', { name: 'Roll back…' }).click();
    confirm = page.getByRole('dialog', { name: 'Roll back this release?' });
    await confirm.getByLabel('Reason').fill('banner overlaps the cart button on mobile');
    await confirm.getByRole('button', { name: 'Roll back now' }).click();
    await page.getByRole('heading', { name: 'Rolled back by a person' }).waitFor();
    expect(await page.getByTestId('rollback-reason').textContent()).toBe('banner overlaps the cart button on mobile (the flag is off)');
    const history = await page.locator('ol.history > li').allTextContents();
    expect(history.map((h) => h.match(/(start|pause|resume|advance|rollback)/)?.[1])).toEqual(['rollback', 'advance', 'resume', 'pause', 'start']);
    const flag = await call('GET', '/api/admin/flags/new-banner');
    expect(flag.environments.find((e: any) => e.name === 'production').enabled).toBe(false);
    expect(errors).toEqual([]);
  });

  it('lists plans per project and environment, with state, milestone and evidence', async () => {
    // A plan from the rings template, running with no traffic yet, so the list shows every kind of plan.
    for (const name of ['developers', 'employees', 'beta']) await call('POST', '/api/admin/segments', { name, constraints: [{ contextName: 'userId', operator: 'IN', values: [`${name}-1`] }] });
    await call('POST', '/api/admin/releases', { flag: 'new-search', environment: 'development', template: 'rings', start: true });
    await page.goto(`${server.url}/releases`);
    const rows = page.locator('table.releases-table tbody tr');
    await expect.poll(() => rows.count()).toBe(4);
    const text = await rows.allTextContents();
    expect(text.find((t) => t.startsWith('new-checkout'))).toMatch(/rolled back.*1\/2 · 20 %.*canary error rate/);
    expect(text.find((t) => t.includes('fast-canary'))).toMatch(/completed.*3\/3 · 100 %/);
    expect(text.find((t) => t.includes('template rings'))).toMatch(/running.*1\/4 · ring 0: developers.*started at milestone 1\/4/);
    await page.locator('.live').getByText('Live').waitFor();
    await shot(page, 'release-list');

    await page.getByLabel('Project').selectOption('payments');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('new-checkout');
    await page.getByLabel('Project').selectOption('');
    await page.getByLabel('Environment').selectOption('development');
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByLabel('State').selectOption('active');
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByLabel('Environment').selectOption('');
    await page.getByLabel('State').selectOption('rolled-back');
    await expect.poll(() => rows.count()).toBe(2);
    expect(errors).toEqual([]);
  });
});
