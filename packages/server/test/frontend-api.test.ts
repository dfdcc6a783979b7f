import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createProject, createSegment, putFlag, request, setEnabled, token } from './fixtures.js';
import { buildContext } from '../src/frontend-api/evaluate.js';
import { configFromEnv } from '../src/services.js';
import { InMemoryStorageProvider, UnleashClient } from 'unleash-proxy-client';

describe('frontend context from query parameters', () => {
  it('puts standard fields in place and everything else in properties', () => {
    const ctx = buildContext(
      { userId: 'u1', sessionId: 's1', appName: 'web', 'properties[plan]': 'pro', region: 'eu', properties: { tier: 3 }, __proto__x: 'a', currentTime: '2030-01-01T00:00:00Z' },
      { remoteAddress: '10.0.0.1', environment: 'development' },
    );
    expect(ctx).toEqual({
      userId: 'u1',
      sessionId: 's1',
      appName: 'web',
      currentTime: '2030-01-01T00:00:00Z',
      remoteAddress: '10.0.0.1',
      environment: 'development',
      properties: { plan: 'pro', region: 'eu', tier: '3', __proto__x: 'a' },
    });
    expect(buildContext({ remoteAddress: '1.2.3.4', environment: 'x' }, { remoteAddress: '10.0.0.1', environment: 'development' })).toEqual({
      remoteAddress: '1.2.3.4',
      environment: 'x',
    });
  });
});

describeEachDialect('frontend API', (dialect) => {
  let t: TestApp;
  let frontendDev: string;
  let frontendProd: string;
  let frontendAlpha: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await createProject(t, 'alpha');
    const staff = await createSegment(t, 'staff', [{ contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@example.com'] }]);
    await putFlag(t, { name: 'everyone', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    await putFlag(t, { name: 'off.flag', environments: { development: { enabled: false, strategies: [{ name: 'default' }] } } });
    await putFlag(t, {
      name: 'for.u1',
      impressionData: true,
      environments: {
        development: {
          enabled: true,
          strategies: [{ name: 'default', constraints: [{ contextName: 'userId', operator: 'IN', values: ['u1'] }] }],
          variants: [{ name: 'green', weight: 1000, weightType: 'variable', stickiness: 'default', payload: { type: 'string', value: 'hello' } }],
        },
      },
    });
    await putFlag(t, { name: 'staff.only', environments: { development: { enabled: true, strategies: [{ name: 'default', segments: [staff] }] } } });
    await putFlag(t, {
      name: 'pro.plan',
      environments: { development: { enabled: true, strategies: [{ name: 'default', constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }] }] } },
    });
    await putFlag(t, {
      name: 'local.net',
      environments: { development: { enabled: true, strategies: [{ name: 'remoteAddress', parameters: { IPs: '127.0.0.1, 10.0.0.0/8' } }] } },
    });
    await putFlag(t, { name: 'alpha.flag', project: 'alpha', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    await putFlag(t, { name: 'archived.flag', archived: true, environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    frontendDev = await token(t, 'frontend', 'development');
    frontendProd = await token(t, 'frontend', 'production');
    frontendAlpha = await token(t, 'frontend', 'development', ['alpha']);
  });
  afterAll(async () => {
    await t?.close();
  });

  const names = (res: { body: any }) => res.body.toggles.map((x: any) => x.name);

  it('returns only the flags that are on for the query context', async () => {
    const anon = await request(t, 'GET', '/api/frontend', { token: frontendDev, headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(anon.status).toBe(200);
    expect(names(anon)).toEqual(['alpha.flag', 'everyone', 'local.net']);
    const everyone = anon.body.toggles.find((x: any) => x.name === 'everyone');
    expect(everyone).toEqual({
      name: 'everyone',
      enabled: true,
      variant: { name: 'disabled', enabled: false, feature_enabled: true },
      impressionData: false,
    });

    const u1 = await request(t, 'GET', '/api/frontend?userId=u1&properties[plan]=pro&email=ann@example.com&remoteAddress=192.0.2.1', { token: frontendDev });
    expect(names(u1)).toEqual(['alpha.flag', 'everyone', 'for.u1', 'pro.plan', 'staff.only']);
    expect(u1.body.toggles.find((x: any) => x.name === 'for.u1')).toEqual({
      name: 'for.u1',
      enabled: true,
      variant: { name: 'green', enabled: true, payload: { type: 'string', value: 'hello' }, feature_enabled: true },
      impressionData: true,
    });
  });

  it('takes the context from a POST body', async () => {
    const res = await request(t, 'POST', '/api/frontend', { token: frontendDev, body: { context: { userId: 'u1', properties: { plan: 'pro' } } } });
    expect(res.status).toBe(200);
    expect(names(res)).toEqual(['alpha.flag', 'everyone', 'for.u1', 'local.net', 'pro.plan']);
    const empty = await request(t, 'POST', '/api/frontend', { token: frontendDev, body: {} });
    expect(empty.status).toBe(200);
  });

  it('scopes to the token environment and projects', async () => {
    const prod = await request(t, 'GET', '/api/frontend?userId=u1', { token: frontendProd });
    expect(prod.status).toBe(200);
    expect(prod.body.toggles).toEqual([]);
    const alpha = await request(t, 'GET', '/api/frontend?userId=u1', { token: frontendAlpha });
    expect(names(alpha)).toEqual(['alpha.flag']);
  });

  it('answers 304 for an unchanged result and sees writes at once', async () => {
    const first = await request(t, 'GET', '/api/frontend?userId=u1', { token: frontendDev });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"/);
    const again = await request(t, 'GET', '/api/frontend?userId=u1', { token: frontendDev, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const other = await request(t, 'GET', '/api/frontend?userId=u2', { token: frontendDev, headers: { 'if-none-match': etag } });
    expect(other.status).toBe(200);
    await setEnabled(t, 'off.flag', 'development', true);
    const changed = await request(t, 'GET', '/api/frontend?userId=u1', { token: frontendDev, headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(names(changed)).toContain('off.flag');
    await setEnabled(t, 'off.flag', 'development', false);
  });

  it('evaluates one flag', async () => {
    const on = await request(t, 'GET', '/api/frontend/features/for.u1?userId=u1', { token: frontendDev });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ name: 'for.u1', enabled: true, variant: { name: 'green' } });
    expect((await request(t, 'GET', '/api/frontend/features/for.u1?userId=u2', { token: frontendDev })).status).toBe(404);
    expect((await request(t, 'GET', '/api/frontend/features/nope', { token: frontendDev })).status).toBe(404);
  });

  it('answers CORS preflights and sets CORS headers on answers, errors included', async () => {
    for (const url of ['/api/frontend', '/api/frontend/client/metrics', '/api/frontend/client/register', '/api/frontend/features/x']) {
      const pre = await t.app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, unleash-appname, unleash-sdk' },
      });
      expect(pre.statusCode, url).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('*');
      expect(String(pre.headers['access-control-allow-methods'])).toMatch(/GET.*POST/);
      const allowed = String(pre.headers['access-control-allow-headers']).toLowerCase();
      for (const h of ['authorization', 'content-type', 'if-none-match', 'unleash-appname', 'unleash-sdk', 'unleash-connection-id']) expect(allowed).toContain(h);
    }
    const ok = await request(t, 'GET', '/api/frontend', { token: frontendDev, headers: { origin: 'https://app.example' } });
    expect(ok.headers['access-control-allow-origin']).toBe('*');
    expect(String(ok.headers['access-control-expose-headers'])).toMatch(/etag/i);
    const denied = await request(t, 'GET', '/api/frontend', { token: 'garbage', headers: { origin: 'https://app.example' } });
    expect(denied.status).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe('*');
    const bad = await request(t, 'POST', '/api/frontend/client/metrics', { token: frontendDev, body: { nope: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.headers['access-control-allow-origin']).toBe('*');
  });

  it('stores frontend metrics and registrations', async () => {
    const reg = await request(t, 'POST', '/api/frontend/client/register', {
      token: frontendDev,
      body: { appName: 'web', instanceId: 'browser', sdkVersion: 'unleash-client-js:3.8.2', environment: 'default', started: new Date().toISOString(), interval: 30000 },
    });
    expect(reg.status).toBe(200);
    const body = { appName: 'web', instanceId: 'browser', environment: 'default', bucket: { start: '2030-03-03T03:33:00.000Z', stop: '2030-03-03T03:34:00.000Z', toggles: { everyone: { yes: 4, no: 0, variants: { disabled: 4 } }, 'for.u1': { yes: 1, no: 3, variants: { green: 1 } } } } };
    expect((await request(t, 'POST', '/api/frontend/client/metrics', { token: frontendDev, body })).status).toBe(202);
    expect((await request(t, 'POST', '/api/frontend/client/metrics', { token: frontendDev, body })).status).toBe(202);
    const rows = await t.services.storage.db.selectFrom('flag_metrics').selectAll().where('app_name', '=', 'web').orderBy('flag').execute();
    expect(rows.map((r) => [r.flag, r.environment, Number(r.yes), Number(r.no), JSON.parse(r.variants)])).toEqual([
      ['everyone', 'development', 8, 0, { disabled: 8 }],
      ['for.u1', 'development', 2, 6, { green: 2 }],
    ]);
    const apps = await t.services.storage.db.selectFrom('client_applications').selectAll().where('app_name', '=', 'web').execute();
    expect(apps).toHaveLength(1);
    expect(apps[0]).toMatchObject({ environment: 'development', sdk_version: 'unleash-client-js:3.8.2' });
  });

  describe('includeDisabled', () => {
    const all = ['alpha.flag', 'archived.flag', 'everyone', 'for.u1', 'local.net', 'off.flag', 'pro.plan', 'staff.only'].filter((n) => n !== 'archived.flag');
    const disabledToggle = (name: string, impressionData = false) => ({
      name,
      enabled: false,
      variant: { name: 'disabled', enabled: false, feature_enabled: false },
      impressionData,
    });

    it('is off by default: only flags that are on', async () => {
      const res = await request(t, 'GET', '/api/frontend?userId=u2&remoteAddress=192.0.2.1', { token: frontendDev });
      expect(names(res)).toEqual(['alpha.flag', 'everyone']);
      expect(res.body.toggles.every((x: any) => x.enabled)).toBe(true);
    });

    it('answers every flag, off ones as enabled: false with the disabled variant (query, header, POST)', async () => {
      const res = await request(t, 'GET', '/api/frontend?userId=u2&remoteAddress=192.0.2.1&includeDisabled=true', { token: frontendDev });
      expect(res.status).toBe(200);
      expect(names(res)).toEqual(all);
      const byName = Object.fromEntries(res.body.toggles.map((x: any) => [x.name, x]));
      expect(byName['off.flag']).toEqual(disabledToggle('off.flag'));
      expect(byName['for.u1']).toEqual(disabledToggle('for.u1', true));
      expect(byName['everyone']).toMatchObject({ enabled: true, variant: { feature_enabled: true } });

      // includeDisabled is an option, not a context property (pro.plan has a constraint on properties)
      const u1 = await request(t, 'GET', '/api/frontend?userId=u1&includeDisabled=true', { token: frontendDev });
      expect(u1.body.toggles.find((x: any) => x.name === 'for.u1')).toMatchObject({ enabled: true, variant: { name: 'green' } });

      const header = await request(t, 'GET', '/api/frontend?userId=u2&remoteAddress=192.0.2.1', { token: frontendDev, headers: { 'switchyard-include-disabled': 'true' } });
      expect(names(header)).toEqual(all);
      const post = await request(t, 'POST', '/api/frontend?includeDisabled=true', { token: frontendDev, body: { context: { userId: 'u2', remoteAddress: '192.0.2.1' } } });
      expect(names(post)).toEqual(all);
      expect(post.headers.etag).not.toBe((await request(t, 'POST', '/api/frontend', { token: frontendDev, body: { context: { userId: 'u2', remoteAddress: '192.0.2.1' } } })).headers.etag);
      const postHeader = await request(t, 'POST', '/api/frontend', { token: frontendDev, headers: { 'switchyard-include-disabled': '1' }, body: { context: {} } });
      expect(postHeader.status).toBe(400);
      expect(postHeader.body.detail).toMatch(/switchyard-include-disabled/);

      expect((await request(t, 'GET', '/api/frontend?includeDisabled=maybe', { token: frontendDev })).status).toBe(400);
      // the preflight lets browsers send the header
      const pre = await t.app.inject({ method: 'OPTIONS', url: '/api/frontend', headers: { origin: 'https://a.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, switchyard-include-disabled' } });
      expect(String(pre.headers['access-control-allow-headers'])).toContain('switchyard-include-disabled');
    });

    it('tells off from unknown for one flag', async () => {
      const off = await request(t, 'GET', '/api/frontend/features/off.flag?includeDisabled=true', { token: frontendDev });
      expect(off.status).toBe(200);
      expect(off.body).toEqual(disabledToggle('off.flag'));
      const unknown = await request(t, 'GET', '/api/frontend/features/nope?includeDisabled=true', { token: frontendDev });
      expect(unknown.status).toBe(404);
      expect(unknown.body.detail).toMatch(/No flag "nope"/);
      const offDefault = await request(t, 'GET', '/api/frontend/features/off.flag', { token: frontendDev });
      expect(offDefault.status).toBe(404);
      expect(offDefault.body.detail).toMatch(/includeDisabled=true/);
      // archived flags and other projects' flags stay unknown
      expect((await request(t, 'GET', '/api/frontend/features/archived.flag?includeDisabled=true', { token: frontendDev })).status).toBe(404);
      expect((await request(t, 'GET', '/api/frontend/features/everyone?includeDisabled=true', { token: frontendAlpha })).status).toBe(404);
    });

    it('follows the server default, which a request can override', async () => {
      expect(configFromEnv({}).frontendIncludeDisabled).toBe(false);
      expect(configFromEnv({ SWITCHYARD_FRONTEND_INCLUDE_DISABLED: 'true' }).frontendIncludeDisabled).toBe(true);
      t.services.config.frontendIncludeDisabled = true;
      try {
        const res = await request(t, 'GET', '/api/frontend?userId=u2&remoteAddress=192.0.2.1', { token: frontendDev });
        expect(names(res)).toEqual(all);
        const off = await request(t, 'GET', '/api/frontend?userId=u2&remoteAddress=192.0.2.1&includeDisabled=false', { token: frontendDev });
        expect(names(off)).toEqual(['alpha.flag', 'everyone']);
        const offHeader = await request(t, 'GET', '/api/frontend?userId=u2&remoteAddress=192.0.2.1', { token: frontendDev, headers: { 'switchyard-include-disabled': 'false' } });
        expect(names(offHeader)).toEqual(['alpha.flag', 'everyone']);
      } finally {
        t.services.config.frontendIncludeDisabled = false;
      }
    });

    it('keeps the official browser SDK answering off for disabled flags', async () => {
      if (!t.app.server.listening) await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.server.address() as { port: number };
      const client = new UnleashClient({
        url: `http://127.0.0.1:${port}/api/frontend`,
        clientKey: frontendDev,
        appName: 'include-disabled',
        refreshInterval: 0,
        disableMetrics: true,
        storageProvider: new InMemoryStorageProvider(),
        customHeaders: { 'switchyard-include-disabled': 'true' },
        context: { userId: 'u2' },
      });
      try {
        await client.start();
        const toggles = client.getAllToggles();
        expect(toggles.map((x) => x.name)).toEqual(expect.arrayContaining(['off.flag', 'everyone']));
        expect(client.isEnabled('off.flag')).toBe(false);
        expect(client.getVariant('off.flag')).toMatchObject({ name: 'disabled', enabled: false, feature_enabled: false });
        expect(client.isEnabled('everyone')).toBe(true);
        // known but off, versus unknown
        expect(toggles.some((x) => x.name === 'off.flag')).toBe(true);
        expect(toggles.some((x) => x.name === 'nope')).toBe(false);
      } finally {
        client.stop();
      }
    });
  });
});
