import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';

const revisions = async (t: TestApp) =>
  Object.fromEntries((await api(t, 'GET', '/api/admin/environments')).body.environments.map((e: any) => [e.name, e.revision]));
const total = async (t: TestApp) => (await api(t, 'GET', '/api/admin/events?limit=1')).body.total;

describeEachDialect('projects', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists the default project', async () => {
    const res = await api(t, 'GET', '/api/admin/projects');
    expect(res.status).toBe(200);
    expect(res.body.projects).toEqual([{ id: 'default', name: 'Default', description: 'The default project', createdAt: expect.any(String) }]);
  });

  it('creates, reads, updates and deletes a project, auditing each write without touching revisions', async () => {
    const revs = await revisions(t);
    const created = await api(t, 'POST', '/api/admin/projects', { id: 'payments', name: 'Payments', description: 'Money things' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 'payments', name: 'Payments', description: 'Money things', createdAt: expect.any(String) });
    expect((await api(t, 'GET', '/api/admin/events?type=project-created')).body.events[0]).toMatchObject({ project: 'payments', after: { id: 'payments', name: 'Payments' } });
    expect((await api(t, 'GET', '/api/admin/projects/payments')).body).toEqual(created.body);
    const defaultName = await api(t, 'POST', '/api/admin/projects', { id: 'web' });
    expect(defaultName.body.name).toBe('web');

    const updated = await api(t, 'PUT', '/api/admin/projects/payments', { name: 'Payments team' });
    expect(updated.body).toMatchObject({ name: 'Payments team', description: 'Money things' });
    expect((await api(t, 'GET', '/api/admin/events?limit=1')).body.events[0]).toMatchObject({ type: 'project-updated', before: { name: 'Payments' }, after: { name: 'Payments team' } });

    expect((await api(t, 'DELETE', '/api/admin/projects/payments')).status).toBe(204);
    expect((await api(t, 'GET', '/api/admin/events?limit=1')).body.events[0]).toMatchObject({ type: 'project-deleted', project: 'payments', before: { id: 'payments' } });
    expect((await api(t, 'GET', '/api/admin/projects/payments')).status).toBe(404);
    expect(await revisions(t)).toEqual(revs);
  });

  it('refuses duplicates, bad ids and deleting a project with flags or the default project', async () => {
    await api(t, 'POST', '/api/admin/projects', { id: 'busy' });
    await api(t, 'POST', '/api/admin/flags', { name: 'busy-flag', project: 'busy' });
    const n = await total(t);
    const cases: [string, string, unknown, number][] = [
      ['POST', '/api/admin/projects', { id: 'busy' }, 409],
      ['POST', '/api/admin/projects', { id: 'Upper' }, 400],
      ['POST', '/api/admin/projects', { id: '-lead' }, 400],
      ['POST', '/api/admin/projects', { id: 'x'.repeat(101) }, 400],
      ['POST', '/api/admin/projects', { id: 'ok', name: 'x'.repeat(300) }, 400],
      ['POST', '/api/admin/projects', { id: 'ok', extra: true }, 400],
      ['POST', '/api/admin/projects', { name: 'no id' }, 400],
      ['PUT', '/api/admin/projects/missing', { name: 'x' }, 404],
      ['PUT', '/api/admin/projects/busy', { name: '  ' }, 400],
      ['DELETE', '/api/admin/projects/busy', undefined, 409],
      ['DELETE', '/api/admin/projects/default', undefined, 409],
      ['DELETE', '/api/admin/projects/missing', undefined, 404],
    ];
    for (const [method, url, body, status] of cases) {
      const res = await api(t, method, url, body);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)} → ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    expect((await api(t, 'DELETE', '/api/admin/projects/busy')).body.detail).toMatch(/still has flags \("busy-flag"\)/);
    expect(await total(t)).toBe(n);
  });
});
