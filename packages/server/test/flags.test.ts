import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';

const revisions = async (t: TestApp) => {
  const r = await api(t, 'GET', '/api/admin/environments');
  return Object.fromEntries(r.body.environments.map((e: any) => [e.name, e.revision])) as Record<string, number>;
};
const eventTotal = async (t: TestApp) => (await api(t, 'GET', '/api/admin/events?limit=1')).body.total as number;
const latestEvent = async (t: TestApp) => (await api(t, 'GET', '/api/admin/events?limit=1')).body.events[0];
const env = (flag: any, name: string) => flag.environments.find((e: any) => e.name === name);

/** Sends a request that must fail with 4xx problem+json and change nothing; returns the problem. */
async function rejected(t: TestApp, method: string, url: string, body: unknown, status: number | RegExp = /^4/) {
  const revs = await revisions(t);
  const total = await eventTotal(t);
  const res = await api(t, method, url, body);
  if (typeof status === 'number') expect(res.status, JSON.stringify(res.body)).toBe(status);
  else expect(String(res.status), JSON.stringify(res.body)).toMatch(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'about:blank', status: res.status });
  expect(typeof res.body.detail).toBe('string');
  expect(await revisions(t)).toEqual(revs);
  expect(await eventTotal(t)).toBe(total);
  return res.body;
}

const strategiesUrl = (flag: string, e = 'development') => `/api/admin/flags/${encodeURIComponent(flag)}/environments/${e}/strategies`;

describeEachDialect('flags', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates, reads, lists and patches a flag', async () => {
    const before = await revisions(t);
    const created = await api(t, 'POST', '/api/admin/flags', { name: 'checkout', description: 'New checkout', tags: ['web', 'web'], owner: 'ann' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'checkout',
      project: 'default',
      type: 'release',
      description: 'New checkout',
      owner: 'ann',
      tags: ['web'],
      impressionData: false,
      archived: false,
      dependencies: [],
    });
    expect(created.body.environments).toEqual([
      { name: 'development', type: 'development', enabled: false, strategies: [], variants: [] },
      { name: 'production', type: 'production', enabled: false, strategies: [], variants: [] },
    ]);
    const after = await revisions(t);
    expect(after.development).toBe(before.development + 1);
    expect(after.production).toBe(before.production + 1);
    expect(await latestEvent(t)).toMatchObject({ type: 'feature-created', flag: 'checkout', project: 'default', actor: expect.any(String), before: null, after: { name: 'checkout' } });

    const got = await api(t, 'GET', '/api/admin/flags/checkout');
    expect(got.body).toEqual(created.body);
    const list = await api(t, 'GET', '/api/admin/flags');
    expect(list.body.flags.map((f: any) => f.name)).toContain('checkout');

    const patched = await api(t, 'PATCH', '/api/admin/flags/checkout', { type: 'experiment', impressionData: true });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ type: 'experiment', impressionData: true, description: 'New checkout' });
    expect((await revisions(t)).production).toBe(after.production + 1);
    const events = await api(t, 'GET', '/api/admin/events?flag=checkout');
    expect(events.body.events[0]).toMatchObject({ type: 'feature-updated', flag: 'checkout', before: { type: 'release' }, after: { type: 'experiment' } });

    // Owner and tags do not reach SDKs: audited, but no revision bump.
    const revs = await revisions(t);
    const owner = await api(t, 'PATCH', '/api/admin/flags/checkout', { owner: 'bob', tags: ['a', 'b'] });
    expect(owner.body).toMatchObject({ owner: 'bob', tags: ['a', 'b'] });
    expect(await revisions(t)).toEqual(revs);
    expect(await latestEvent(t)).toMatchObject({ type: 'feature-updated', before: { owner: 'ann' }, after: { owner: 'bob' } });

    // A PATCH that changes nothing records nothing.
    const total = await eventTotal(t);
    await api(t, 'PATCH', '/api/admin/flags/checkout', { owner: 'bob' });
    expect(await eventTotal(t)).toBe(total);
  });

  it('accepts UTF-8 names and lists by project', async () => {
    await api(t, 'POST', '/api/admin/projects', { id: 'mobile' });
    const utf = await api(t, 'POST', '/api/admin/flags', { name: 'Feature.UTF-8.😊_φriend_你好', project: 'mobile' });
    expect(utf.status).toBe(201);
    expect((await api(t, 'GET', `/api/admin/flags/${encodeURIComponent('Feature.UTF-8.😊_φriend_你好')}`)).body.name).toBe('Feature.UTF-8.😊_φriend_你好');
    const mobile = await api(t, 'GET', '/api/admin/flags?project=mobile');
    expect(mobile.body.flags.map((f: any) => f.name)).toEqual(['Feature.UTF-8.😊_φriend_你好']);
  });

  it('rejects bad flag input with problem+json and changes nothing', async () => {
    await api(t, 'POST', '/api/admin/flags', { name: 'dup' });
    expect((await rejected(t, 'POST', '/api/admin/flags', { name: 'dup' }, 409)).detail).toMatch(/already exists/);
    await rejected(t, 'POST', '/api/admin/flags', { name: 'has space' }, 400);
    await rejected(t, 'POST', '/api/admin/flags', { name: 'a/b' }, 400);
    await rejected(t, 'POST', '/api/admin/flags', { name: '' }, 400);
    await rejected(t, 'POST', '/api/admin/flags', { name: 'x'.repeat(256) }, 400);
    await rejected(t, 'POST', '/api/admin/flags', { name: '..' }, 400);
    await rejected(t, 'POST', '/api/admin/flags', { name: 'ok', colour: 'red' }, 400);
    await rejected(t, 'POST', '/api/admin/flags', { name: 'ok', type: 'banana' }, 400);
    await rejected(t, 'POST', '/api/admin/flags', { name: 'ok', description: null }, 400);
    await rejected(t, 'POST', '/api/admin/flags', { name: 'ok', description: 'x'.repeat(5000) }, 400);
    expect((await rejected(t, 'POST', '/api/admin/flags', { name: 'ok', project: 'nope' }, 400)).detail).toMatch(/Project "nope" does not exist/);
    await rejected(t, 'PATCH', '/api/admin/flags/dup', { project: 'nope' }, 400);
    await rejected(t, 'PATCH', '/api/admin/flags/missing', { description: 'x' }, 404);
    await rejected(t, 'GET', '/api/admin/flags/missing', undefined, 404);
    await rejected(t, 'POST', '/api/admin/flags/missing/environments/development/on', undefined, 404);
    await rejected(t, 'POST', '/api/admin/flags/dup/environments/nope/on', undefined, 404);
  });

  it('requires an admin token', async () => {
    expect((await api(t, 'GET', '/api/admin/flags', undefined, '')).status).toBe(401);
    expect((await api(t, 'GET', '/api/admin/flags', undefined, 'wrong')).status).toBe(401);
    const { secret } = await t.services.tokens.create('test', { type: 'backend', environment: 'development' });
    expect((await api(t, 'GET', '/api/admin/flags', undefined, secret)).status).toBe(403);
    expect((await api(t, 'GET', '/api/admin/flags', undefined, `Bearer ${'test-admin-token'}`)).status).toBe(200);
  });

  it('turns a flag on and off per environment, bumping only that environment', async () => {
    await api(t, 'POST', '/api/admin/flags', { name: 'toggle' });
    const before = await revisions(t);
    const on = await api(t, 'POST', '/api/admin/flags/toggle/environments/production/on');
    expect(on.status).toBe(200);
    expect(env(on.body, 'production').enabled).toBe(true);
    expect(env(on.body, 'development').enabled).toBe(false);
    const after = await revisions(t);
    expect(after).toEqual({ ...before, production: before.production + 1 });
    expect(await latestEvent(t)).toMatchObject({ type: 'feature-environment-enabled', flag: 'toggle', environment: 'production', before: { enabled: false }, after: { enabled: true } });
    // Turning on again is a no-op: no event, no revision.
    const total = await eventTotal(t);
    await api(t, 'POST', '/api/admin/flags/toggle/environments/production/on');
    expect(await eventTotal(t)).toBe(total);
    expect(await revisions(t)).toEqual(after);
    const off = await api(t, 'POST', '/api/admin/flags/toggle/environments/production/off');
    expect(env(off.body, 'production').enabled).toBe(false);
    expect((await revisions(t)).production).toBe(after.production + 1);
  });

  it('adds, lists, replaces and removes strategies', async () => {
    await api(t, 'POST', '/api/admin/flags', { name: 'rollout' });
    const before = await revisions(t);
    const added = await api(t, 'POST', strategiesUrl('rollout'), {
      name: 'flexibleRollout',
      parameters: { rollout: 12.5, stickiness: 'userId' },
      constraints: [{ contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@example.com'], caseInsensitive: true }],
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body).toMatchObject({
      id: expect.any(String),
      name: 'flexibleRollout',
      disabled: false,
      parameters: { rollout: '12.5', stickiness: 'userId', groupId: 'rollout' },
      constraints: [{ contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@example.com'], caseInsensitive: true }],
      segments: [],
      variants: [],
      sortOrder: 0,
    });
    expect(await revisions(t)).toEqual({ ...before, development: before.development + 1 });
    expect(await latestEvent(t)).toMatchObject({ type: 'feature-strategy-added', environment: 'development', flag: 'rollout', after: { id: added.body.id } });

    const second = await api(t, 'POST', strategiesUrl('rollout'), { name: 'userWithId', title: 'Beta users', parameters: { userIds: 'a,b' } });
    expect(second.body).toMatchObject({ sortOrder: 1, title: 'Beta users' });
    const list = await api(t, 'GET', strategiesUrl('rollout'));
    expect(list.body.strategies.map((x: any) => x.id)).toEqual([added.body.id, second.body.id]);

    const replaced = await api(t, 'PUT', `${strategiesUrl('rollout')}/${added.body.id}`, { name: 'flexibleRollout', parameters: { rollout: '0.01', groupId: 'g' }, sortOrder: 5 });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ id: added.body.id, parameters: { rollout: '0.01', stickiness: 'default', groupId: 'g' }, constraints: [], sortOrder: 5 });
    expect(await latestEvent(t)).toMatchObject({ type: 'feature-strategy-updated', before: { parameters: { rollout: '12.5' } }, after: { parameters: { rollout: '0.01' } } });
    expect((await api(t, 'GET', strategiesUrl('rollout'))).body.strategies.map((x: any) => x.id)).toEqual([second.body.id, added.body.id]);

    const revs = await revisions(t);
    const removed = await api(t, 'DELETE', `${strategiesUrl('rollout')}/${second.body.id}`);
    expect(removed.status).toBe(204);
    expect(await revisions(t)).toEqual({ ...revs, development: revs.development + 1 });
    expect(await latestEvent(t)).toMatchObject({ type: 'feature-strategy-removed', before: { id: second.body.id } });
    await rejected(t, 'DELETE', `${strategiesUrl('rollout')}/${second.body.id}`, undefined, 404);
    // A strategy id from another environment is not found here.
    await rejected(t, 'PUT', `${strategiesUrl('rollout', 'production')}/${added.body.id}`, { name: 'default' }, 404);
  });

  it('validates strategies and constraints with messages naming the problem', async () => {
    await api(t, 'POST', '/api/admin/flags', { name: 'strict' });
    const url = strategiesUrl('strict');
    const c = (constraint: object) => ({ name: 'default', constraints: [constraint] });
    expect((await rejected(t, 'POST', url, { name: 'custom-thing' }, 400)).detail).toMatch(/Unknown strategy "custom-thing".*flexibleRollout/);
    expect((await rejected(t, 'POST', url, { name: 'flexibleRollout', parameters: { rollout: '101' } }, 400)).detail).toMatch(/percentage from 0 to 100/);
    await rejected(t, 'POST', url, { name: 'flexibleRollout', parameters: { rollout: '-1' } }, 400);
    await rejected(t, 'POST', url, { name: 'flexibleRollout', parameters: { rollout: '0.005' } }, 400);
    await rejected(t, 'POST', url, { name: 'flexibleRollout', parameters: { rollout: 'half' } }, 400);
    await rejected(t, 'POST', url, { name: 'flexibleRollout', parameters: { rollout: '50', stickiness: ' ' } }, 400);
    await rejected(t, 'POST', url, { name: 'gradualRolloutRandom', parameters: {} }, 400);
    await rejected(t, 'POST', url, { name: 'userWithId', parameters: {} }, 400);
    await rejected(t, 'POST', url, { name: 'remoteAddress', parameters: { IPs: '10.0.0.1, banana' } }, 400);
    const op = await rejected(t, 'POST', url, c({ contextName: 'userId', operator: 'LIKE', values: ['a'] }), 400);
    expect(op.detail).toMatch(/Unknown operator "LIKE".*IN, NOT_IN.*IN_CIDR/);
    const re = await rejected(t, 'POST', url, c({ contextName: 'email', operator: 'REGEX', value: '(unclosed' }), 400);
    expect(re.detail).toMatch(/email.*REGEX.*regular expression "\(unclosed" is invalid/);
    expect((await rejected(t, 'POST', url, c({ contextName: 'ip', operator: 'IN_CIDR', values: ['10.0.0.0/33'] }), 400)).detail).toMatch(/10\.0\.0\.0\/33/);
    expect((await rejected(t, 'POST', url, c({ contextName: 'v', operator: 'SEMVER_GT', value: '1.2' }), 400)).detail).toMatch(/semantic version/);
    expect((await rejected(t, 'POST', url, c({ contextName: 'n', operator: 'NUM_GT', value: 'ten' }), 400)).detail).toMatch(/not a number/);
    await rejected(t, 'POST', url, c({ contextName: 'n', operator: 'NUM_GT', value: '' }), 400);
    expect((await rejected(t, 'POST', url, c({ contextName: 'd', operator: 'DATE_AFTER', value: '2024-02-30' }), 400)).detail).toMatch(/date/);
    await rejected(t, 'POST', url, c({ contextName: 'userId', operator: 'IN', value: 'single' }), 400);
    await rejected(t, 'POST', url, c({ contextName: '', operator: 'IN', values: [] }), 400);
    await rejected(t, 'POST', url, c({ contextName: 'userId', operator: 'IN', values: ['a'], extra: 1 }), 400);
    expect((await rejected(t, 'POST', url, { name: 'default', segments: [9999] }, 400)).detail).toMatch(/segment\(s\) 9999/);
    await rejected(t, 'POST', url, { name: 'default', variants: [{ name: 'a', weightType: 'fix', weight: 10 }] }, 400);
    await rejected(t, 'POST', strategiesUrl('strict', 'nope'), { name: 'default' }, 404);
    await rejected(t, 'POST', strategiesUrl('nope'), { name: 'default' }, 404);

    // The valid forms of the same constraints are accepted.
    for (const ok of [
      { contextName: 'email', operator: 'REGEX', value: '^[a-z]+@example\\.com$', caseInsensitive: true },
      { contextName: 'ip', operator: 'IN_CIDR', values: ['10.0.0.0/8', '::1', '192.168.0.1'] },
      { contextName: 'v', operator: 'SEMVER_GTE', value: '1.2.3-beta.1' },
      { contextName: 'n', operator: 'NUM_LTE', value: '-1.5e3' },
      { contextName: 'd', operator: 'DATE_BEFORE', value: '2030-01-01T00:00:00.000Z' },
      { contextName: 'userId', operator: 'NOT_IN', values: [], inverted: true },
    ]) {
      const res = await api(t, 'POST', url, c(ok));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  });

  it('sets variants with Unleash weight rules', async () => {
    await api(t, 'POST', '/api/admin/flags', { name: 'colours' });
    const url = '/api/admin/flags/colours/environments/production/variants';
    const before = await revisions(t);
    const three = await api(t, 'PUT', url, { variants: [{ name: 'red' }, { name: 'green' }, { name: 'blue', payload: { type: 'json', value: '{"a":1}' } }] });
    expect(three.status, JSON.stringify(three.body)).toBe(200);
    expect(env(three.body, 'production').variants.map((v: any) => v.weight)).toEqual([334, 333, 333]);
    expect(env(three.body, 'production').variants[2]).toMatchObject({ name: 'blue', weightType: 'variable', stickiness: 'default', payload: { type: 'json', value: '{"a":1}' } });
    expect(await revisions(t)).toEqual({ ...before, production: before.production + 1 });
    expect(await latestEvent(t)).toMatchObject({ type: 'feature-variants-updated', environment: 'production', before: [], after: [{ name: 'red' }, { name: 'green' }, { name: 'blue' }] });
    const mixed = await api(t, 'PUT', url, { variants: [{ name: 'a', weightType: 'fix', weight: 100 }, { name: 'b' }, { name: 'c', weight: 5 }] });
    expect(env(mixed.body, 'production').variants.map((v: any) => v.weight)).toEqual([100, 450, 450]);
    const fixed = await api(t, 'PUT', url, { variants: [{ name: 'a', weightType: 'fix', weight: 250 }, { name: 'b', weightType: 'fix', weight: 750 }] });
    expect(fixed.status).toBe(200);
    await rejected(t, 'PUT', url, { variants: [{ name: 'a', weightType: 'fix', weight: 600 }, { name: 'b', weightType: 'fix', weight: 600 }, { name: 'c' }] }, 400);
    expect((await rejected(t, 'PUT', url, { variants: [{ name: 'a', weightType: 'fix', weight: 300 }] }, 400)).detail).toMatch(/must add up to 1000/);
    expect((await rejected(t, 'PUT', url, { variants: [{ name: 'a' }, { name: 'a' }] }, 400)).detail).toMatch(/appears twice/);
    await rejected(t, 'PUT', url, { variants: [{ name: 'a', weight: 1001 }] }, 400);
    await rejected(t, 'PUT', url, { variants: [{ name: 'a', weight: -5 }] }, 400);
    await rejected(t, 'PUT', url, { variants: [{ name: 'a', weightType: 'heavy' }] }, 400);
    await rejected(t, 'PUT', url, { variants: [{ name: 'a', payload: { type: 'json', value: '{nope' } }] }, 400);
    await rejected(t, 'PUT', url, { variants: [{ name: 'a', payload: { type: 'xml', value: '<a/>' } }] }, 400);
    const cleared = await api(t, 'PUT', url, { variants: [] });
    expect(env(cleared.body, 'production').variants).toEqual([]);
  });

  it('sets dependencies, one level deep, without cycles', async () => {
    for (const name of ['parent', 'child', 'grandchild', 'other']) await api(t, 'POST', '/api/admin/flags', { name });
    const before = await revisions(t);
    const set = await api(t, 'PUT', '/api/admin/flags/child/dependencies', { dependencies: [{ feature: 'parent', variants: ['blue'] }, { feature: 'other', enabled: false }] });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.dependencies).toEqual([
      { feature: 'other', enabled: false, variants: [] },
      { feature: 'parent', enabled: true, variants: ['blue'] },
    ]);
    const after = await revisions(t);
    expect(after.development).toBe(before.development + 1);
    expect(after.production).toBe(before.production + 1);
    expect(await latestEvent(t)).toMatchObject({ type: 'feature-dependencies-updated', flag: 'child', before: [], after: [{ feature: 'other' }, { feature: 'parent' }] });

    expect((await rejected(t, 'PUT', '/api/admin/flags/parent/dependencies', { dependencies: [{ feature: 'parent' }] }, 400)).detail).toMatch(/cannot depend on itself/);
    expect((await rejected(t, 'PUT', '/api/admin/flags/other/dependencies', { dependencies: [{ feature: 'ghost' }] }, 400)).detail).toMatch(/no such flag/);
    expect((await rejected(t, 'PUT', '/api/admin/flags/grandchild/dependencies', { dependencies: [{ feature: 'child' }] }, 400)).detail).toMatch(/a parent cannot have parents/);
    expect((await rejected(t, 'PUT', '/api/admin/flags/parent/dependencies', { dependencies: [{ feature: 'child' }] }, 400)).detail).toMatch(/cycle/);
    expect((await rejected(t, 'PUT', '/api/admin/flags/parent/dependencies', { dependencies: [{ feature: 'grandchild' }] }, 400)).detail).toMatch(/depend\(s\) on it/);
    await rejected(t, 'PUT', '/api/admin/flags/grandchild/dependencies', { dependencies: [{ feature: 'parent' }, { feature: 'parent' }] }, 400);
    await rejected(t, 'PUT', '/api/admin/flags/grandchild/dependencies', { dependencies: [{ feature: 'parent', enabled: false, variants: ['x'] }] }, 400);
    await rejected(t, 'PUT', '/api/admin/flags/nope/dependencies', { dependencies: [] }, 404);

    expect((await rejected(t, 'POST', '/api/admin/flags/parent/archive', undefined, 409)).detail).toMatch(/"child"/);
    const cleared = await api(t, 'PUT', '/api/admin/flags/child/dependencies', { dependencies: [] });
    expect(cleared.body.dependencies).toEqual([]);
  });

  it('archives, revives and deletes flags', async () => {
    await api(t, 'POST', '/api/admin/flags', { name: 'old-flag' });
    await api(t, 'POST', `${strategiesUrl('old-flag')}`, { name: 'default' });
    await rejected(t, 'DELETE', '/api/admin/flags/old-flag', undefined, 409);
    const before = await revisions(t);
    const archived = await api(t, 'POST', '/api/admin/flags/old-flag/archive');
    expect(archived.body.archived).toBe(true);
    expect(await revisions(t)).toEqual({ development: before.development + 1, production: before.production + 1 });
    expect((await api(t, 'GET', '/api/admin/flags')).body.flags.map((f: any) => f.name)).not.toContain('old-flag');
    expect((await api(t, 'GET', '/api/admin/flags?archived=true')).body.flags.map((f: any) => f.name)).toEqual(['old-flag']);
    await rejected(t, 'POST', '/api/admin/flags/old-flag/environments/development/on', undefined, 409);
    await rejected(t, 'POST', '/api/admin/flags', { name: 'old-flag' }, 409);
    const revived = await api(t, 'POST', '/api/admin/flags/old-flag/revive');
    expect(revived.body.archived).toBe(false);
    expect(env(revived.body, 'development').strategies).toHaveLength(1);
    await api(t, 'POST', '/api/admin/flags/old-flag/archive');
    const revs = await revisions(t);
    expect((await api(t, 'DELETE', '/api/admin/flags/old-flag')).status).toBe(204);
    expect(await revisions(t)).toEqual(revs);
    expect(await latestEvent(t)).toMatchObject({ type: 'feature-deleted', flag: 'old-flag', before: { name: 'old-flag' }, after: null });
    await rejected(t, 'GET', '/api/admin/flags/old-flag', undefined, 404);
    // The name is free again.
    expect((await api(t, 'POST', '/api/admin/flags', { name: 'old-flag' })).status).toBe(201);
  });

  it('answers concurrent creates of one name with one 201 and 409s', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => api(t, 'POST', '/api/admin/flags', { name: 'racy' })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    const segs = await Promise.all(Array.from({ length: 4 }, () => api(t, 'POST', '/api/admin/segments', { name: 'racy-seg', constraints: [] })));
    expect(segs.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
  });

  it('moves a flag to another project', async () => {
    await api(t, 'POST', '/api/admin/projects', { id: 'team-b' });
    await api(t, 'POST', '/api/admin/flags', { name: 'mover' });
    const moved = await api(t, 'PATCH', '/api/admin/flags/mover', { project: 'team-b' });
    expect(moved.body.project).toBe('team-b');
    expect((await api(t, 'GET', '/api/admin/flags?project=team-b')).body.flags.map((f: any) => f.name)).toEqual(['mover']);
  });
});
