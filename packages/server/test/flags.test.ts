import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createTestApp, DIALECTS, postgresAvailable, type TestApp } from './harness.js';

const revisions = async (t: TestApp) => {
  const r = await api(t, 'GET', '/api/admin/environments');
  return Object.fromEntries(r.body.environments.map((e: any) => [e.name, e.revision])) as Record<string, number>;
};
const eventCount = async (t: TestApp) => (await api(t, 'GET', '/api/admin/events?limit=1')).body.total as number;

describe.each(DIALECTS)('flags (%s)', (dialect) => {
  let t: TestApp;
  let skip = false;
  beforeAll(async () => {
    if (dialect === 'postgres' && !(await postgresAvailable())) {
      skip = true;
      return;
    }
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates, reads, lists and patches a flag', async ({ skip: s }) => {
    if (skip) return s();
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
    expect(created.body.environments.map((e: any) => [e.name, e.enabled])).toEqual([
      ['development', false],
      ['production', false],
    ]);
    const after = await revisions(t);
    expect(after.development).toBe(before.development + 1);
    expect(after.production).toBe(before.production + 1);

    const got = await api(t, 'GET', '/api/admin/flags/checkout');
    expect(got.body).toEqual(created.body);
    const list = await api(t, 'GET', '/api/admin/flags');
    expect(list.body.flags.map((f: any) => f.name)).toContain('checkout');

    const patched = await api(t, 'PATCH', '/api/admin/flags/checkout', { type: 'experiment', impressionData: true });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ type: 'experiment', impressionData: true, description: 'New checkout' });
    const events = await api(t, 'GET', '/api/admin/events?flag=checkout');
    expect(events.body.events[0]).toMatchObject({ type: 'feature-updated', flag: 'checkout', before: { type: 'release' }, after: { type: 'experiment' } });
  });
});
