import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';

const revisions = async (t: TestApp) =>
  Object.fromEntries((await api(t, 'GET', '/api/admin/environments')).body.environments.map((e: any) => [e.name, e.revision])) as Record<string, number>;
const total = async (t: TestApp) => (await api(t, 'GET', '/api/admin/events?limit=1')).body.total;
const beta = [{ contextName: 'userId', operator: 'IN', values: ['a', 'b'] }];

describeEachDialect('segments', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates, reads, lists, updates and deletes segments, bumping every environment', async () => {
    const r0 = await revisions(t);
    const created = await api(t, 'POST', '/api/admin/segments', { name: 'beta', description: 'Beta testers', constraints: beta });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({ id: expect.any(Number), name: 'beta', description: 'Beta testers', project: null, constraints: beta, createdAt: expect.any(String) });
    const r1 = await revisions(t);
    expect(r1).toEqual({ development: r0.development + 1, production: r0.production + 1 });
    expect((await api(t, 'GET', '/api/admin/events?limit=1')).body.events[0]).toMatchObject({ type: 'segment-created', after: { name: 'beta' } });
    expect((await api(t, 'GET', `/api/admin/segments/${created.body.id}`)).body).toEqual(created.body);
    expect((await api(t, 'GET', '/api/admin/segments')).body.segments).toEqual([created.body]);

    const updated = await api(t, 'PUT', `/api/admin/segments/${created.body.id}`, {
      name: 'beta-users',
      constraints: [...beta, { contextName: 'version', operator: 'SEMVER_GT', value: '1.0.0' }],
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: created.body.id, name: 'beta-users', description: 'Beta testers' });
    expect((await revisions(t)).production).toBe(r1.production + 1);
    expect((await api(t, 'GET', '/api/admin/events?limit=1')).body.events[0]).toMatchObject({ type: 'segment-updated', before: { name: 'beta' }, after: { name: 'beta-users' } });

    expect((await api(t, 'DELETE', `/api/admin/segments/${created.body.id}`)).status).toBe(204);
    expect((await api(t, 'GET', `/api/admin/segments/${created.body.id}`)).status).toBe(404);
    expect((await api(t, 'GET', '/api/admin/events?limit=1')).body.events[0]).toMatchObject({ type: 'segment-deleted', before: { name: 'beta-users' } });
  });

  it('is used by strategies; delete is refused while used', async () => {
    const seg = (await api(t, 'POST', '/api/admin/segments', { name: 'internal', constraints: [{ contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@corp.com'] }] })).body;
    await api(t, 'POST', '/api/admin/flags', { name: 'segmented' });
    const strat = await api(t, 'POST', '/api/admin/flags/segmented/environments/production/strategies', { name: 'default', segments: [seg.id] });
    expect(strat.status).toBe(201);
    expect(strat.body.segments).toEqual([seg.id]);
    const n = await total(t);
    const refused = await api(t, 'DELETE', `/api/admin/segments/${seg.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/"segmented" \(production\)/);
    expect(await total(t)).toBe(n);
    await api(t, 'DELETE', `/api/admin/flags/segmented/environments/production/strategies/${strat.body.id}`);
    expect((await api(t, 'DELETE', `/api/admin/segments/${seg.id}`)).status).toBe(204);
  });

  it('scopes segments to projects', async () => {
    await api(t, 'POST', '/api/admin/projects', { id: 'team-a' });
    const scoped = (await api(t, 'POST', '/api/admin/segments', { name: 'a-only', project: 'team-a', constraints: [] })).body;
    expect(scoped.project).toBe('team-a');
    await api(t, 'POST', '/api/admin/flags', { name: 'in-default' });
    const wrong = await api(t, 'POST', '/api/admin/flags/in-default/environments/development/strategies', { name: 'default', segments: [scoped.id] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.detail).toMatch(/belongs to project "team-a"/);
    await api(t, 'POST', '/api/admin/flags', { name: 'in-a', project: 'team-a' });
    expect((await api(t, 'POST', '/api/admin/flags/in-a/environments/development/strategies', { name: 'default', segments: [scoped.id] })).status).toBe(201);
    expect((await api(t, 'GET', '/api/admin/segments?project=team-a')).body.segments.map((x: any) => x.name)).toContain('a-only');
    expect((await api(t, 'GET', '/api/admin/segments?project=default')).body.segments.map((x: any) => x.name)).not.toContain('a-only');
    // Moving a used segment to another project is refused; moving a flag out of its segment's project too.
    await api(t, 'POST', '/api/admin/projects', { id: 'team-b' });
    expect((await api(t, 'PUT', `/api/admin/segments/${scoped.id}`, { name: 'a-only', project: 'team-b', constraints: [] })).status).toBe(409);
    expect((await api(t, 'PATCH', '/api/admin/flags/in-a', { project: 'team-b' })).status).toBe(400);
  });

  it('rejects bad segments with problem+json and changes nothing', async () => {
    const existing = (await api(t, 'POST', '/api/admin/segments', { name: 'taken', constraints: [] })).body;
    const revs = await revisions(t);
    const n = await total(t);
    const cases: [string, string, unknown, number, RegExp?][] = [
      ['POST', '/api/admin/segments', { name: 'taken', constraints: [] }, 409, /already exists/],
      ['POST', '/api/admin/segments', { name: 'x', constraints: [{ contextName: 'a', operator: 'NOPE', values: [] }] }, 400, /Unknown operator "NOPE"/],
      ['POST', '/api/admin/segments', { name: 'x', constraints: [{ contextName: 'a', operator: 'REGEX', value: '[' }] }, 400, /segment "x" constraint #1.*invalid/],
      ['POST', '/api/admin/segments', { name: 'x', constraints: [{ contextName: 'a', operator: 'IN_CIDR', values: ['1.2.3.4/40'] }] }, 400],
      ['POST', '/api/admin/segments', { name: 'x', project: 'nope', constraints: [] }, 400, /Project "nope"/],
      ['POST', '/api/admin/segments', { name: '', constraints: [] }, 400],
      ['POST', '/api/admin/segments', { name: 'x'.repeat(300), constraints: [] }, 400],
      ['POST', '/api/admin/segments', { name: 'x' }, 400],
      ['POST', '/api/admin/segments', { name: 'x', constraints: [], other: 1 }, 400],
      ['PUT', '/api/admin/segments/987654', { name: 'x', constraints: [] }, 404],
      ['PUT', '/api/admin/segments/abc', { name: 'x', constraints: [] }, 400],
      ['PUT', `/api/admin/segments/${existing.id}`, { name: 'internal2', constraints: [{ contextName: 'n', operator: 'NUM_EQ', value: 'x' }] }, 400],
      ['DELETE', '/api/admin/segments/987654', undefined, 404],
    ];
    await api(t, 'POST', '/api/admin/segments', { name: 'other', constraints: [] });
    const n2 = await total(t);
    const revs2 = await revisions(t);
    cases.push(['PUT', `/api/admin/segments/${existing.id}`, { name: 'other', constraints: [] }, 409]);
    for (const [method, url, body, status, detail] of cases) {
      const res = await api(t, method, url, body);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)} → ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      if (detail) expect(res.body.detail).toMatch(detail);
    }
    expect(await total(t)).toBe(n2);
    expect(await revisions(t)).toEqual(revs2);
    expect(n2).toBe(n + 1);
    void revs;
  });
});
