import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN, createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { request, token } from './fixtures.js';

const CSRF = { 'x-switchyard-csrf': '1' };

/** The session id from a Set-Cookie header, as a Cookie header. */
function cookieFrom(res: { headers: Record<string, unknown> }): string {
  const raw = res.headers['set-cookie'];
  const first = Array.isArray(raw) ? raw[0] : String(raw);
  return first.split(';')[0];
}

describeEachDialect('web UI sessions', (dialect) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('exchanges an admin token for an HttpOnly, SameSite=Strict cookie that works on the admin API', async () => {
    const res = await request(t, 'POST', '/api/auth/session', { body: { token: ADMIN }, headers: CSRF });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'admin (environment)', csrfHeader: 'x-switchyard-csrf: 1' });
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^switchyard_session=[A-Za-z0-9_-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain(ADMIN);
    const cookie = cookieFrom(res);

    const me = await request(t, 'GET', '/api/auth/session', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.body.name).toBe('admin (environment)');
    expect(Date.parse(me.body.expiresAt)).toBeGreaterThan(Date.now() + 11 * 3600_000);

    expect((await request(t, 'GET', '/api/admin/flags', { headers: { cookie } })).status).toBe(200);
    const created = await request(t, 'POST', '/api/admin/flags', { headers: { cookie, ...CSRF }, body: { name: 'from.ui' } });
    expect(created.status).toBe(201);
    // The audit log names the token behind the session.
    const events = await request(t, 'GET', '/api/admin/events?flag=from.ui', { headers: { cookie } });
    expect(events.body.events[0].actor).toBe('admin (environment)');
  });

  it('stores only a hash of the session id', async () => {
    const res = await request(t, 'POST', '/api/auth/session', { body: { token: ADMIN }, headers: CSRF });
    const id = cookieFrom(res).split('=')[1];
    const rows = await (t.services.storage.db as any).selectFrom('sessions').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(JSON.stringify(row)).not.toContain(id);
      expect(JSON.stringify(row)).not.toContain(ADMIN);
    }
  });

  it('refuses cookie-authenticated writes without the CSRF header or from another origin', async () => {
    const cookie = cookieFrom(await request(t, 'POST', '/api/auth/session', { body: { token: ADMIN }, headers: CSRF }));
    const noHeader = await request(t, 'POST', '/api/admin/flags', { headers: { cookie }, body: { name: 'csrf.a' } });
    expect(noHeader.status).toBe(403);
    expect(noHeader.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(noHeader.body.detail).toContain('x-switchyard-csrf');
    const otherOrigin = await request(t, 'POST', '/api/admin/flags', { headers: { cookie, ...CSRF, origin: 'https://evil.example' }, body: { name: 'csrf.b' } });
    expect(otherOrigin.status).toBe(403);
    const sameOrigin = await request(t, 'POST', '/api/admin/flags', { headers: { cookie, ...CSRF, origin: 'http://localhost:4242', host: 'localhost:4242' }, body: { name: 'csrf.c' } });
    expect(sameOrigin.status).toBe(201);
    // Nothing was written by the refused requests.
    expect((await request(t, 'GET', '/api/admin/flags/csrf.a', { token: ADMIN })).status).toBe(404);
    expect((await request(t, 'GET', '/api/admin/flags/csrf.b', { token: ADMIN })).status).toBe(404);
    // Sign-in itself needs the header (no login CSRF).
    expect((await request(t, 'POST', '/api/auth/session', { body: { token: ADMIN } })).status).toBe(403);
    // Token-authenticated requests are unaffected.
    expect((await request(t, 'POST', '/api/admin/flags', { token: ADMIN, body: { name: 'csrf.d' } })).status).toBe(201);
  });

  it('refuses bad tokens, non-admin tokens and bad cookies with problems', async () => {
    const bad = await request(t, 'POST', '/api/auth/session', { body: { token: 'nope' }, headers: CSRF });
    expect(bad.status).toBe(401);
    expect(bad.body.detail).toMatch(/not valid/);
    const backend = await token(t, 'backend', 'development');
    const notAdmin = await request(t, 'POST', '/api/auth/session', { body: { token: backend }, headers: CSRF });
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.body.detail).toMatch(/backend token/);
    expect((await request(t, 'POST', '/api/auth/session', { body: {}, headers: CSRF })).status).toBe(400);
    expect((await request(t, 'GET', '/api/auth/session')).status).toBe(401);
    expect((await request(t, 'GET', '/api/admin/flags', { headers: { cookie: 'switchyard_session=' + 'x'.repeat(43) } })).status).toBe(401);
    // A session cookie is not a client-API credential.
    const cookie = cookieFrom(await request(t, 'POST', '/api/auth/session', { body: { token: ADMIN }, headers: CSRF }));
    expect((await request(t, 'GET', '/api/client/features', { headers: { cookie } })).status).toBe(401);
  });

  it('signs out, and a revoked token ends its sessions', async () => {
    const cookie = cookieFrom(await request(t, 'POST', '/api/auth/session', { body: { token: ADMIN }, headers: CSRF }));
    const out = await request(t, 'DELETE', '/api/auth/session', { headers: { cookie, ...CSRF } });
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/switchyard_session=;.*Max-Age=0/);
    expect((await request(t, 'GET', '/api/admin/flags', { headers: { cookie } })).status).toBe(401);

    const created = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body: { type: 'admin', name: 'alice' } });
    const aliceCookie = cookieFrom(await request(t, 'POST', '/api/auth/session', { body: { token: created.body.secret }, headers: CSRF }));
    expect((await request(t, 'GET', '/api/auth/session', { headers: { cookie: aliceCookie } })).body.name).toBe('alice');
    await request(t, 'DELETE', `/api/admin/tokens/${created.body.token.id}`, { token: ADMIN });
    expect((await request(t, 'GET', '/api/admin/flags', { headers: { cookie: aliceCookie } })).status).toBe(401);
    expect((await request(t, 'GET', '/api/auth/session', { headers: { cookie: aliceCookie } })).status).toBe(401);
  });

  it('a session never outlives its token', async () => {
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const created = await request(t, 'POST', '/api/admin/tokens', { token: ADMIN, body: { type: 'admin', name: 'short', expiresAt } });
    const res = await request(t, 'POST', '/api/auth/session', { body: { token: created.body.secret }, headers: CSRF });
    expect(res.body.expiresAt).toBe(expiresAt);
    expect(String(res.headers['set-cookie'])).toMatch(/Max-Age=(35\d\d|3600)(;|$)/);
  });
});
