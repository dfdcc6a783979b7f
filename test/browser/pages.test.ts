/**
 * Every main page of the UI, filled with realistic data, renders in Chromium without a page
 * error or an error message; each is captured as a screenshot at 1280×800 (a laptop screen).
 * `UPDATE_SCREENSHOTS=1` writes them to docs/screenshots/ (shown in the README); otherwise they go
 * to test-results/screenshots/.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { murmur3 } from '@switchyard/engine';
import { ok, startServerProcess, type ServerProcess } from '../e2e/server.js';
import { VIEWPORT, chromiumAvailable, launch, requireWebBuilt, screenshotDir, signIn, watch } from './browser.js';

const available = chromiumAvailable();

async function seed(server: ServerProcess) {
  const call = (method: string, path: string, body?: unknown) => ok(server, method, path, body, server.adminToken);
  await call('POST', '/api/admin/environments', { name: 'staging', type: 'staging' });
  await call('POST', '/api/admin/projects', { id: 'payments', name: 'Payments', description: 'Checkout and billing' });
  const beta = await call('POST', '/api/admin/segments', {
    name: 'beta-customers',
    description: 'Customers in the beta program',
    constraints: [{ contextName: 'plan', operator: 'IN', values: ['beta', 'enterprise-beta'] }],
  });
  await call('POST', '/api/admin/segments', {
    name: 'internal-staff',
    description: 'Employees on the office network',
    constraints: [
      { contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@example.com'], caseInsensitive: true },
      { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['10.0.0.0/8'] },
    ],
  });
  await call('POST', '/api/admin/segments', { name: 'eu-customers', project: 'payments', constraints: [{ contextName: 'country', operator: 'IN', values: ['DE', 'FR', 'NL', 'SE'] }] });
  const flags: Array<[string, string, string[], string, string]> = [
    ['checkout.new-flow', 'release', ['checkout', 'web'], 'The redesigned checkout', 'payments'],
    ['search.semantic', 'experiment', ['search'], 'Semantic search ranking', 'default'],
    ['payments.kill-3ds', 'kill-switch', ['payments'], 'Turn off 3-D Secure when the provider is down', 'payments'],
    ['ops.verbose-logging', 'operational', ['ops'], 'Extra logging for incident response', 'default'],
    ['ui.dark-mode', 'release', ['web'], 'Dark theme for the web app', 'default'],
    ['api.rate-limit-v2', 'release', ['api'], 'Token-bucket rate limiter', 'default'],
  ];
  for (const [name, type, tags, description, project] of flags) await call('POST', '/api/admin/flags', { name, type, tags, description, project, owner: 'team-web' });
  const strategies = (flag: string, env: string) => `/api/admin/flags/${flag}/environments/${env}/strategies`;
  await call('POST', strategies('checkout.new-flow', 'development'), { name: 'default' });
  await call('POST', strategies('checkout.new-flow', 'staging'), { name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'default', groupId: 'checkout.new-flow' } });
  await call('POST', strategies('checkout.new-flow', 'production'), {
    name: 'flexibleRollout',
    title: 'Beta customers first',
    parameters: { rollout: '25', stickiness: 'userId', groupId: 'checkout.new-flow' },
    constraints: [
      { contextName: 'appVersion', operator: 'SEMVER_GTE', value: '2.4.0' },
      { contextName: 'country', operator: 'IN', values: ['DE', 'NL'] },
    ],
    segments: [beta.id],
    variants: [
      { name: 'one-page', weightType: 'variable', stickiness: 'userId', payload: { type: 'json', value: '{"steps":1}' } },
      { name: 'two-page', weightType: 'variable', stickiness: 'userId', payload: { type: 'json', value: '{"steps":2}' } },
    ],
  });
  await call('POST', strategies('checkout.new-flow', 'production'), { name: 'userWithId', title: 'QA accounts', parameters: { userIds: 'qa-1,qa-2' } });
  for (const env of ['development', 'staging', 'production']) await call('POST', `/api/admin/flags/checkout.new-flow/environments/${env}/on`);
  await call('PUT', '/api/admin/flags/search.semantic/environments/production/variants', {
    variants: [
      { name: 'control', weightType: 'variable', stickiness: 'default' },
      { name: 'semantic', weightType: 'variable', stickiness: 'default', payload: { type: 'json', value: '{"model":"v2"}' } },
    ],
  });
  await call('POST', strategies('search.semantic', 'production'), { name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'default', groupId: 'search.semantic' } });
  await call('POST', '/api/admin/flags/search.semantic/environments/production/on');
  await call('POST', '/api/admin/flags/search.semantic/environments/development/on');
  await call('POST', '/api/admin/flags/ui.dark-mode/environments/development/on');
  await call('PUT', '/api/admin/flags/ui.dark-mode/dependencies', { dependencies: [{ feature: 'checkout.new-flow', enabled: true }] });
  await call('POST', '/api/admin/flags/ops.verbose-logging/environments/production/on');
  await call('POST', '/api/admin/flags/ops.verbose-logging/environments/production/off');
  await call('PATCH', '/api/admin/flags/checkout.new-flow', { description: 'The redesigned checkout (one or two pages)', tags: ['checkout', 'web', 'q3'] });
  await call('POST', '/api/admin/tokens', { name: 'checkout-service', type: 'backend', environment: 'production', projects: ['payments'] });
  await call('POST', '/api/admin/tokens', { name: 'web-app', type: 'frontend', environment: 'production' });
  await call('POST', '/api/admin/tokens', { name: 'ci-deploy', type: 'admin' });
}

describe.skipIf(!available)('web UI pages in Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const dir = available ? screenshotDir(true) : '';

  beforeAll(async () => {
    requireWebBuilt();
    server = await startServerProcess({ logLevel: 'warn' });
    await seed(server);
    browser = await launch();
    page = await browser.newPage({ viewport: VIEWPORT });
    page.setDefaultTimeout(10_000);
    errors = watch(page).errors;
    await signIn(page, server.url, server.adminToken!);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function shot(name: string) {
    // Let fonts, fetches and transitions settle.
    await page.waitForLoadState('networkidle');
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    expect(await page.locator('.problem').count(), `${name}: an error is shown`).toBe(0);
    expect(errors, name).toEqual([]);
    await page.screenshot({ path: join(dir, `${name}.png`) });
  }

  it('flags list', async () => {
    await page.goto(server.url + '/flags');
    await page.getByRole('link', { name: 'checkout.new-flow' }).waitFor();
    expect(await page.getByRole('row').count()).toBe(7);
    await shot('flags');
  });

  it('flag page and the strategy editor', async () => {
    await page.goto(server.url + '/flags/checkout.new-flow');
    await page.getByRole('region', { name: 'Environment production' }).getByText('Beta customers first').waitFor();
    await shot('flag');
    await page.getByRole('button', { name: 'Edit strategy 1 in production' }).click();
    await page.getByRole('dialog').getByLabel('Rollout %').waitFor();
    await shot('strategy-editor');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
  });

  it('segments', async () => {
    await page.goto(server.url + '/segments');
    await page.getByText('beta-customers').waitFor();
    await shot('segments');
  });

  it('API tokens, with a new secret shown once', async () => {
    await page.goto(server.url + '/tokens');
    await page.getByText('checkout-service').waitFor();
    await page.getByRole('button', { name: 'New token' }).click();
    const dialog = page.getByRole('dialog', { name: 'New API token' });
    await dialog.getByLabel('Name').fill('mobile-app');
    await dialog.getByLabel('Type').selectOption('frontend');
    await dialog.getByLabel('Environment').selectOption('production');
    await dialog.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByRole('dialog', { name: 'Copy the secret now' }).getByLabel('Secret');
    expect(await secret.inputValue()).toMatch(/^\*:production\.[0-9a-f]{48}$/);
    await shot('tokens');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('cell', { name: 'mobile-app' }).waitFor();
  });

  it('audit log with a before/after diff', async () => {
    await page.goto(server.url + '/audit');
    await page.locator('.events summary', { hasText: 'Flag settings changed' }).click();
    await page.locator('.events details[open] .diff-add').first().waitFor();
    await shot('audit');
  });

  it('playground', async () => {
    await page.goto(server.url + '/playground');
    // A user inside search.semantic's 50 % rollout, so the screenshot shows a split.
    let user = 42;
    while ((murmur3(`search.semantic:user-${user}`, 0) % 100) + 1 > 50) user++;
    await page.getByLabel('userId').fill(`user-${user}`);
    await page.getByRole('button', { name: '+ Add property' }).click();
    await page.getByLabel('Property 1 name').fill('plan');
    await page.getByLabel('value', { exact: true }).fill('beta');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    await page.getByRole('region', { name: 'Results' }).waitFor();
    expect(await page.locator('td[data-flag="search.semantic"][data-environment="production"]').textContent()).toMatch(/^on.*SPLIT/);
    expect(await page.locator('td[data-flag="search.semantic"][data-environment="development"]').textContent()).toMatch(/^on.*STATIC/);
    expect(await page.locator('td[data-flag="search.semantic"][data-environment="staging"]').textContent()).toMatch(/^off.*DISABLED/);
    await shot('playground');
  });
});
