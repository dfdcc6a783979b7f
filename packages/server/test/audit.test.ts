import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';

describeEachDialect('audit log', (dialect) => {
  let t: TestApp;
  let otherToken = '';
  let midpoint = '';
  beforeAll(async () => {
    t = await createTestApp(dialect);
    otherToken = (await t.services.tokens.create('test', { name: 'ci-bot', type: 'admin' })).secret;
    await api(t, 'POST', '/api/admin/projects', { id: 'shop' });
    await api(t, 'POST', '/api/admin/flags', { name: 'a', project: 'shop' });
    await api(t, 'POST', '/api/admin/flags/a/environments/production/on');
    await new Promise((r) => setTimeout(r, 20));
    midpoint = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await api(t, 'POST', '/api/admin/flags', { name: 'b' }, otherToken);
    await api(t, 'POST', '/api/admin/flags/b/environments/development/on', undefined, otherToken);
    await api(t, 'POST', '/api/admin/flags/a/environments/production/off');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists events newest first with parsed before/after and a total', async () => {
    const res = await api(t, 'GET', '/api/admin/events');
    expect(res.status).toBe(200);
    const ids = res.body.events.map((e: any) => e.id);
    expect(ids).toEqual([...ids].sort((x: number, y: number) => y - x));
    expect(res.body.total).toBe(res.body.events.length);
    expect(res.body.events[0]).toEqual({
      id: expect.any(Number),
      type: 'feature-environment-disabled',
      actor: 'admin (environment)',
      project: 'shop',
      environment: 'production',
      flag: 'a',
      before: { enabled: true },
      after: { enabled: false },
      createdAt: expect.any(String),
    });
  });

  it('filters by flag, type, actor, project, environment and time, and pages', async () => {
    const q = async (query: string) => (await api(t, 'GET', `/api/admin/events?${query}`)).body;
    expect((await q('flag=a')).events.map((e: any) => e.type)).toEqual(['feature-environment-disabled', 'feature-environment-enabled', 'feature-created']);
    expect((await q('type=feature-created')).events.map((e: any) => e.flag)).toEqual(['b', 'a']);
    expect((await q('actor=ci-bot')).events.map((e: any) => e.flag)).toEqual(['b', 'b']);
    expect((await q('project=shop')).total).toBe(4);
    expect((await q('environment=development')).events.map((e: any) => e.flag)).toEqual(['b']);
    expect((await q(`since=${encodeURIComponent(midpoint)}`)).events.map((e: any) => e.flag)).toEqual(['a', 'b', 'b']);
    expect((await q(`until=${encodeURIComponent(midpoint)}&flag=a`)).events.map((e: any) => e.type)).toEqual(['feature-environment-enabled', 'feature-created']);
    const page1 = await q('limit=2');
    const page2 = await q('limit=2&offset=2');
    expect(page1.events).toHaveLength(2);
    expect(page1.total).toBe(page2.total);
    expect(page2.events[0].id).toBeLessThan(page1.events[1].id);
  });

  it('rejects bad queries', async () => {
    for (const query of ['limit=0', 'limit=1001', 'offset=-1', 'since=yesterday', 'until=2024-99-99', 'color=red', 'limit=abc']) {
      const res = await api(t, 'GET', `/api/admin/events?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
  });
});
