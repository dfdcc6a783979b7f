import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createSegment, putFlag, request } from './fixtures.js';
import { ADMIN } from './harness.js';

describeEachDialect('playground', (dialect) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    const beta = await createSegment(t, 'beta', [{ contextName: 'plan', operator: 'IN', values: ['beta'] }]);
    await putFlag(t, {
      name: 'checkout',
      environments: {
        development: { enabled: true, strategies: [{ name: 'default' }] },
        production: {
          enabled: true,
          strategies: [{ id: 's-beta', name: 'flexibleRollout', title: 'beta users', parameters: { rollout: '100', stickiness: 'default', groupId: 'checkout' }, segments: [beta] }],
        },
      },
    });
    await putFlag(t, {
      name: 'colors',
      environments: {
        development: {
          enabled: true,
          strategies: [{ name: 'default' }],
          variants: [
            { name: 'red', weight: 500, weightType: 'variable', stickiness: 'default', payload: { type: 'string', value: 'r' } },
            { name: 'blue', weight: 500, weightType: 'variable', stickiness: 'default' },
          ],
        },
        production: { enabled: false },
      },
    });
    await putFlag(t, { name: 'child', dependencies: [{ feature: 'checkout', enabled: true }], environments: { development: { enabled: true }, production: { enabled: true } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const play = (body: unknown) => request(t, 'POST', '/api/admin/playground', { token: ADMIN, body });
  const find = (res: any, env: string, flag: string) => res.body.environments.find((e: any) => e.name === env).flags.find((f: any) => f.name === flag);

  it('answers every flag in every environment with enabled, variant and reason', async () => {
    const res = await play({ context: { userId: 'u1', properties: { plan: 'beta' } } });
    expect(res.status).toBe(200);
    expect(res.body.environments.map((e: any) => e.name)).toEqual(['development', 'production']);
    expect(find(res, 'development', 'checkout')).toMatchObject({ enabled: true, reason: 'STATIC', environmentEnabled: true });
    expect(find(res, 'production', 'checkout')).toMatchObject({ enabled: true, reason: 'TARGETING_MATCH', strategy: { index: 0, id: 's-beta', name: 'flexibleRollout', title: 'beta users' } });
    const colors = find(res, 'development', 'colors');
    expect(colors.enabled).toBe(true);
    expect(colors.reason).toBe('SPLIT');
    expect(['red', 'blue']).toContain(colors.variant.name);
    expect(find(res, 'production', 'colors')).toMatchObject({ enabled: false, reason: 'DISABLED', environmentEnabled: false, variant: { name: 'disabled', enabled: false } });
    expect(find(res, 'production', 'child')).toMatchObject({ enabled: true, dependencies: ['checkout'] });
  });

  it('agrees with the client API payload an SDK gets (segment not matched → off)', async () => {
    const res = await play({ context: { userId: 'u1', properties: { plan: 'free' } }, environments: ['production'] });
    expect(res.body.environments).toHaveLength(1);
    expect(find(res, 'production', 'checkout')).toMatchObject({ enabled: false, reason: 'DEFAULT' });
    // The child depends on checkout, which is off for this context.
    expect(find(res, 'production', 'child')).toMatchObject({ enabled: false });
  });

  it('sees changes at once (a new revision is compiled)', async () => {
    const before = await play({ context: {}, environments: ['production'] });
    await request(t, 'POST', '/api/admin/flags/colors/environments/production/on', { token: ADMIN });
    const after = await play({ context: {}, environments: ['production'] });
    expect(find(before, 'production', 'colors').enabled).toBe(false);
    expect(find(after, 'production', 'colors').enabled).toBe(true);
    expect(after.body.environments[0].revision).toBeGreaterThan(before.body.environments[0].revision);
  });

  it('filters by project and refuses unknown environments, projects and bad input', async () => {
    await request(t, 'POST', '/api/admin/projects', { token: ADMIN, body: { id: 'other' } });
    await request(t, 'POST', '/api/admin/flags', { token: ADMIN, body: { name: 'elsewhere', project: 'other' } });
    const only = await play({ context: {}, projects: ['other'] });
    expect(only.body.environments[0].flags.map((f: any) => f.name)).toEqual(['elsewhere']);
    const env = await play({ context: {}, environments: ['nowhere'] });
    expect(env.status).toBe(400);
    expect(env.body.detail).toMatch(/Unknown environment.*"nowhere"/);
    expect((await play({ context: {}, projects: ['nope'] })).status).toBe(400);
    const time = await play({ context: { currentTime: 'yesterday' } });
    expect(time.status).toBe(400);
    expect(time.body.detail).toMatch(/currentTime/);
    expect((await play({ context: { userId: 5 } })).status).toBe(400);
    expect((await play({})).status).toBe(400);
    expect((await request(t, 'POST', '/api/admin/playground', { body: { context: {} } })).status).toBe(401);
  });
});
