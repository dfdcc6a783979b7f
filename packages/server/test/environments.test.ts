import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';

const total = async (t: TestApp) => (await api(t, 'GET', '/api/admin/events?limit=1')).body.total;

describeEachDialect('environments', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists development and production with revisions', async () => {
    const res = await api(t, 'GET', '/api/admin/environments');
    expect(res.body.environments).toEqual([
      { name: 'development', type: 'development', sortOrder: 1, revision: 1, createdAt: expect.any(String) },
      { name: 'production', type: 'production', sortOrder: 2, revision: 1, createdAt: expect.any(String) },
    ]);
  });

  it('creates an environment that every flag then has (disabled), updates and deletes it', async () => {
    await api(t, 'POST', '/api/admin/flags', { name: 'existing' });
    const created = await api(t, 'POST', '/api/admin/environments', { name: 'staging', type: 'staging' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'staging', type: 'staging', sortOrder: 3, revision: 1 });
    expect((await api(t, 'GET', '/api/admin/events?limit=1')).body.events[0]).toMatchObject({ type: 'environment-created', environment: 'staging', after: { name: 'staging' } });
    const defaulted = await api(t, 'POST', '/api/admin/environments', { name: 'qa' });
    expect(defaulted.body.type).toBe('development');

    const flag = (await api(t, 'GET', '/api/admin/flags/existing')).body;
    expect(flag.environments.map((e: any) => e.name)).toEqual(['development', 'production', 'staging', 'qa']);
    const on = await api(t, 'POST', '/api/admin/flags/existing/environments/staging/on');
    expect(on.body.environments.find((e: any) => e.name === 'staging').enabled).toBe(true);
    await api(t, 'POST', '/api/admin/flags/existing/environments/staging/strategies', { name: 'default' });
    expect((await api(t, 'GET', '/api/admin/environments/staging')).body.revision).toBe(3);

    const updated = await api(t, 'PUT', '/api/admin/environments/staging', { type: 'test', sortOrder: 0 });
    expect(updated.body).toMatchObject({ type: 'test', sortOrder: 0 });
    expect((await api(t, 'GET', '/api/admin/environments')).body.environments[0].name).toBe('staging');
    expect((await api(t, 'GET', '/api/admin/events?limit=1')).body.events[0]).toMatchObject({ type: 'environment-updated', before: { type: 'staging' }, after: { type: 'test' } });

    expect((await api(t, 'DELETE', '/api/admin/environments/staging')).status).toBe(204);
    expect((await api(t, 'GET', '/api/admin/flags/existing')).body.environments.map((e: any) => e.name)).toEqual(['development', 'production', 'qa']);
    const rows = await t.services.storage.db.selectFrom('strategies').select('id').where('environment', '=', 'staging').execute();
    expect(rows).toEqual([]);
    // Re-creating it starts clean.
    await api(t, 'POST', '/api/admin/environments', { name: 'staging' });
    const again = (await api(t, 'GET', '/api/admin/flags/existing')).body.environments.find((e: any) => e.name === 'staging');
    expect(again).toMatchObject({ enabled: false, strategies: [] });
  });

  it('refuses duplicates, bad names and types, and deleting an environment with tokens', async () => {
    await api(t, 'POST', '/api/admin/environments', { name: 'with-token' });
    await t.services.tokens.create('test', { type: 'backend', environment: 'with-token' });
    const n = await total(t);
    const cases: [string, string, unknown, number][] = [
      ['POST', '/api/admin/environments', { name: 'production' }, 409],
      ['POST', '/api/admin/environments', { name: 'bad name' }, 400],
      ['POST', '/api/admin/environments', { name: 'x'.repeat(101) }, 400],
      ['POST', '/api/admin/environments', { name: 'ok', type: 'prod' }, 400],
      ['POST', '/api/admin/environments', { name: 'ok', extra: 1 }, 400],
      ['PUT', '/api/admin/environments/nope', { type: 'test' }, 404],
      ['PUT', '/api/admin/environments/production', { type: 'live' }, 400],
      ['DELETE', '/api/admin/environments/nope', undefined, 404],
      ['DELETE', '/api/admin/environments/with-token', undefined, 409],
    ];
    for (const [method, url, body, status] of cases) {
      const res = await api(t, method, url, body);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)} → ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    expect(await total(t)).toBe(n);
  });
});
