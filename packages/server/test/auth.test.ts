import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createProject, putFlag, request, token } from './fixtures.js';

type Family = 'admin' | 'client' | 'frontend';

/** One representative call per API family. */
const CALLS: Record<Family, { method: string; url: string; body?: unknown; ok: number }> = {
  admin: { method: 'GET', url: '/api/admin/tokens', ok: 200 },
  client: { method: 'GET', url: '/api/client/features', ok: 200 },
  frontend: { method: 'GET', url: '/api/frontend', ok: 200 },
};
const FAMILIES = Object.keys(CALLS) as Family[];

/** Writes per family, checked too: a refused token must never reach the handler. */
const WRITES: Record<Family, { method: string; url: string; body: unknown }> = {
  admin: { method: 'POST', url: '/api/admin/tokens', body: { type: 'backend', environment: 'development' } },
  client: { method: 'POST', url: '/api/client/metrics', body: { appName: 'a', bucket: { start: '2030-01-01T00:00:00Z', stop: '2030-01-01T00:01:00Z', toggles: {} } } },
  frontend: { method: 'POST', url: '/api/frontend/client/metrics', body: { appName: 'a', bucket: { start: '2030-01-01T00:00:00Z', stop: '2030-01-01T00:01:00Z', toggles: {} } } },
};

describeEachDialect('auth', (dialect) => {
  let t: TestApp;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await createProject(t, 'alpha');
    await createProject(t, 'beta');
    await putFlag(t, {
      name: 'dev.only',
      environments: { development: { enabled: true, strategies: [{ name: 'default', parameters: { secret: 'dev-config' } }] }, production: { enabled: false } },
    });
    await putFlag(t, { name: 'alpha.flag', project: 'alpha', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    await putFlag(t, { name: 'beta.flag', project: 'beta', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    tokens.admin = ADMIN;
    tokens.adminDb = await token(t, 'admin');
    tokens.backend = await token(t, 'backend', 'development');
    tokens.frontend = await token(t, 'frontend', 'development');
    tokens.backendProd = await token(t, 'backend', 'production');
    tokens.frontendProd = await token(t, 'frontend', 'production');
    tokens.backendAlpha = await token(t, 'backend', 'development', ['alpha']);
    tokens.frontendAlpha = await token(t, 'frontend', 'development', ['alpha']);
    const past = new Date(Date.now() - 60_000).toISOString();
    tokens.expiredAdmin = await token(t, 'admin', undefined, undefined, past);
    tokens.expiredBackend = await token(t, 'backend', 'development', undefined, past);
    tokens.expiredFrontend = await token(t, 'frontend', 'development', undefined, past);
  });
  afterAll(async () => {
    await t?.close();
  });

  // who → family → expected status
  const MATRIX: Array<[string, Record<Family, number>]> = [
    ['none', { admin: 401, client: 401, frontend: 401 }],
    ['garbage', { admin: 401, client: 401, frontend: 401 }],
    ['expiredAdmin', { admin: 401, client: 401, frontend: 401 }],
    ['expiredBackend', { admin: 401, client: 401, frontend: 401 }],
    ['expiredFrontend', { admin: 401, client: 401, frontend: 401 }],
    // admin tokens carry no environment, so the SDK APIs refuse them
    ['admin', { admin: 200, client: 403, frontend: 403 }],
    ['adminDb', { admin: 200, client: 403, frontend: 403 }],
    ['backend', { admin: 403, client: 200, frontend: 403 }],
    ['backendProd', { admin: 403, client: 200, frontend: 403 }],
    ['backendAlpha', { admin: 403, client: 200, frontend: 403 }],
    ['frontend', { admin: 403, client: 403, frontend: 200 }],
    ['frontendAlpha', { admin: 403, client: 403, frontend: 200 }],
  ];

  const tokenFor = (who: string) => (who === 'none' ? undefined : who === 'garbage' ? '*:development.0123456789abcdef' : tokens[who]);

  for (const [who, expected] of MATRIX) {
    for (const family of FAMILIES) {
      it(`${who} → ${family} API: ${expected[family]}`, async () => {
        const call = CALLS[family];
        const read = await request(t, call.method, call.url, { token: tokenFor(who) });
        expect(read.status).toBe(expected[family]);
        if (read.status >= 400) {
          expect(read.headers['content-type']).toMatch(/application\/problem\+json/);
          expect(read.body).toMatchObject({ status: read.status, title: expect.any(String), detail: expect.any(String) });
          const secret = tokenFor(who);
          if (secret) expect(read.raw.body).not.toContain(secret.split('.').pop());
        }
        const write = WRITES[family];
        const res = await request(t, write.method, write.url, { token: tokenFor(who), body: write.body });
        if (expected[family] === 200) expect(res.status).toBeLessThan(300);
        else expect(res.status).toBe(expected[family]);
      });
    }
  }

  it('accepts Bearer and X-API-Key forms', async () => {
    expect((await request(t, 'GET', '/api/client/features', { token: `Bearer ${tokens.backend}` })).status).toBe(200);
    const viaKey = await t.app.inject({ method: 'GET', url: '/api/frontend', headers: { 'x-api-key': tokens.frontend } });
    expect(viaKey.statusCode).toBe(200);
  });

  it('a production token sees nothing of development', async () => {
    const client = await request(t, 'GET', '/api/client/features', { token: tokens.backendProd, headers: { 'unleash-client-spec': '5.0.0' } });
    expect(client.body.query.environment).toBe('production');
    const flag = client.body.features.find((f: any) => f.name === 'dev.only');
    expect(flag).toMatchObject({ enabled: false, strategies: [], variants: [] });
    expect(client.raw.body).not.toContain('dev-config');
    for (const f of client.body.features) expect(f.enabled).toBe(false);
    const front = await request(t, 'GET', '/api/frontend', { token: tokens.frontendProd });
    expect(front.body.toggles).toEqual([]);
  });

  it('a token for project alpha sees nothing of beta', async () => {
    for (const url of ['/api/client/features', '/api/client/features?project=beta', '/api/client/features?project=alpha&project=beta']) {
      const res = await request(t, 'GET', url, { token: tokens.backendAlpha });
      expect(res.status).toBe(200);
      for (const f of res.body.features) expect(f.project).toBe('alpha');
      expect(res.raw.body).not.toContain('beta.flag');
    }
    expect((await request(t, 'GET', '/api/client/features/beta.flag', { token: tokens.backendAlpha })).status).toBe(404);
    const front = await request(t, 'GET', '/api/frontend', { token: tokens.frontendAlpha });
    expect(front.body.toggles.map((x: any) => x.name)).toEqual(['alpha.flag']);
    expect((await request(t, 'GET', '/api/frontend/features/beta.flag', { token: tokens.frontendAlpha })).status).toBe(404);
  });

  describe('token admin routes', () => {
    it('creates tokens in Unleash format, shows the secret once, lists and revokes', async () => {
      const created = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body: { name: 'ci', type: 'backend', environment: 'production' } });
      expect(created.status).toBe(201);
      expect(created.body.secret).toMatch(/^\*:production\.[0-9a-f]{48}$/);
      expect(created.body.token).toMatchObject({ name: 'ci', type: 'backend', environment: 'production', projects: ['*'], expiresAt: null });
      const one = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body: { type: 'frontend', environment: 'development', projects: ['alpha'] } });
      expect(one.body.secret).toMatch(/^alpha:development\./);
      const two = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body: { type: 'backend', environment: 'development', projects: ['alpha', 'beta'] } });
      expect(two.body.secret).toMatch(/^\[\]:development\./);
      const admin = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body: { type: 'admin' } });
      expect(admin.status).toBe(201);
      expect(admin.body.secret).toMatch(/^\*:\*\./);

      // the new backend token works at once
      expect((await request(t, 'GET', '/api/client/features', { token: created.body.secret })).status).toBe(200);

      const list = await request(t, 'GET', '/api/admin/tokens', { token: ADMIN });
      expect(list.status).toBe(200);
      const ids = list.body.tokens.map((x: any) => x.id);
      expect(ids).toContain(created.body.token.id);
      const text = list.raw.body;
      for (const s of [created.body.secret, one.body.secret, two.body.secret, admin.body.secret]) expect(text).not.toContain(s.split('.').pop());
      expect(text).not.toMatch(/secret/i);
      for (const view of list.body.tokens) {
        expect(Object.keys(view).sort()).toEqual(['createdAt', 'environment', 'expiresAt', 'id', 'lastSeenAt', 'name', 'projects', 'type']);
      }

      const del = await request(t, 'DELETE', `/api/admin/tokens/${created.body.token.id}`, { token: ADMIN });
      expect(del.status).toBe(204);
      expect((await request(t, 'GET', '/api/client/features', { token: created.body.secret })).status).toBe(401);
      const again = await request(t, 'DELETE', `/api/admin/tokens/${created.body.token.id}`, { token: ADMIN });
      expect(again.status).toBe(404);
      expect(again.headers['content-type']).toMatch(/problem\+json/);
    });

    it('records token changes in the audit log without secrets', async () => {
      const created = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body: { name: 'audited', type: 'backend', environment: 'development' } });
      const events = await t.services.storage.db.selectFrom('events').selectAll().where('type', 'like', 'api-token-%').execute();
      const mine = events.find((e) => e.after?.includes(created.body.token.id));
      expect(mine).toBeDefined();
      expect(mine!.actor).toBe('admin (environment)');
      for (const e of events) expect(`${e.before}${e.after}`).not.toContain(created.body.secret.split('.').pop());
    });

    it('expires tokens at expiresAt', async () => {
      const soon = new Date(Date.now() + 60 * 60 * 1000).toISOString();
      const res = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body: { type: 'backend', environment: 'development', expiresAt: soon } });
      expect(res.status).toBe(201);
      expect(res.body.token.expiresAt).toBe(soon);
      expect((await request(t, 'GET', '/api/client/features', { token: res.body.secret })).status).toBe(200);
      const past = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body: { type: 'backend', environment: 'development', expiresAt: '2001-01-01T00:00:00Z' } });
      expect(past.status).toBe(400);
    });

    it.each([
      [{ type: 'backend' }, /environment/],
      [{ type: 'backend', environment: 'nope' }, /Environment "nope" does not exist/],
      [{ type: 'frontend', environment: 'development', projects: ['ghost'] }, /"ghost"/],
      [{ type: 'root', environment: 'development' }, /type/],
      [{ type: 'backend', environment: 'development', extra: 1 }, /extra/],
      [{ type: 'backend', environment: 'development', expiresAt: 'tomorrow' }, /expiresAt/],
    ])('refuses %j with a problem', async (body, detail) => {
      const res = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.detail).toMatch(detail);
    });
  });
});
