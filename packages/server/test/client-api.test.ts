import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createProject, createSegment, putFlag, request, setEnabled, token } from './fixtures.js';
import { flagSetCache } from '../src/client-api/cache.js';

const NEW_SPEC = { 'unleash-client-spec': '5.1.0' };

describeEachDialect('client API', (dialect) => {
  let t: TestApp;
  let backendDev: string;
  let backendProd: string;
  let backendA: string;
  let segmentId: number;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await createProject(t, 'alpha');
    await createProject(t, 'beta');
    segmentId = await createSegment(t, 'beta-users', [{ contextName: 'userId', operator: 'IN', values: ['u1', 'u2'] }]);
    await putFlag(t, {
      name: 'checkout.new',
      description: 'new checkout',
      impressionData: true,
      environments: {
        development: {
          enabled: true,
          strategies: [
            {
              name: 'flexibleRollout',
              parameters: { rollout: '50', stickiness: 'default', groupId: 'checkout.new' },
              constraints: [{ contextName: 'appName', operator: 'IN', values: ['shop'] }],
              segments: [segmentId],
            },
            { name: 'default', disabled: true },
          ],
          variants: [{ name: 'blue', weight: 1000, weightType: 'variable', stickiness: 'default' }],
        },
        production: { enabled: false, strategies: [{ name: 'default' }] },
      },
    });
    await putFlag(t, { name: 'checkout.parent', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    await putFlag(t, {
      name: 'checkout.child',
      dependencies: [{ feature: 'checkout.parent', enabled: true, variants: ['x'] }],
      environments: { development: { enabled: true, strategies: [{ name: 'default' }] } },
    });
    await putFlag(t, { name: 'alpha.one', project: 'alpha', environments: { development: { enabled: true } } });
    await putFlag(t, { name: 'beta.one', project: 'beta', environments: { development: { enabled: true } } });
    await putFlag(t, { name: 'old.flag', archived: true, environments: { development: { enabled: true } } });
    await putFlag(t, { name: 'no.env.config' });
    backendDev = await token(t, 'backend', 'development');
    backendProd = await token(t, 'backend', 'production');
    backendA = await token(t, 'backend', 'development', ['alpha']);
  });
  afterAll(async () => {
    await t?.close();
  });

  const features = (token: string, url = '/api/client/features', headers: Record<string, string> = NEW_SPEC) =>
    request(t, 'GET', url, { token, headers });

  it('serves the Unleash payload shape for the token environment', async () => {
    const res = await features(backendDev);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.body;
    expect(body.version).toBe(2);
    expect(Object.keys(body).sort()).toEqual(['features', 'meta', 'query', 'segments', 'version']);
    expect(body.meta).toEqual({ revisionId: expect.any(Number), etag: res.headers.etag, queryHash: expect.any(String) });
    expect(body.query).toMatchObject({ environment: 'development', inlineSegmentConstraints: false });
    const names = body.features.map((f: any) => f.name);
    expect(names).toEqual(['alpha.one', 'beta.one', 'checkout.child', 'checkout.new', 'checkout.parent', 'no.env.config']);
    const f = body.features.find((x: any) => x.name === 'checkout.new');
    expect(f).toMatchObject({
      name: 'checkout.new',
      type: 'release',
      description: 'new checkout',
      project: 'default',
      enabled: true,
      stale: false,
      impressionData: true,
      variants: [{ name: 'blue', weight: 1000, weightType: 'variable', stickiness: 'default' }],
    });
    // the disabled strategy is left out
    expect(f.strategies).toHaveLength(1);
    expect(f.strategies[0]).toMatchObject({
      id: expect.any(String),
      name: 'flexibleRollout',
      parameters: { rollout: '50', stickiness: 'default', groupId: 'checkout.new' },
      constraints: [{ contextName: 'appName', operator: 'IN', values: ['shop'] }],
      segments: [segmentId],
      variants: [],
    });
    expect(body.segments).toEqual([
      { id: segmentId, name: 'beta-users', constraints: [{ contextName: 'userId', operator: 'IN', values: ['u1', 'u2'] }] },
    ]);
    const child = body.features.find((x: any) => x.name === 'checkout.child');
    expect(child.dependencies).toEqual([{ feature: 'checkout.parent', enabled: true, variants: ['x'] }]);
    expect(body.features.find((x: any) => x.name === 'checkout.parent').dependencies).toBeUndefined();
    expect(body.features.find((x: any) => x.name === 'no.env.config')).toMatchObject({ enabled: false, strategies: [], variants: [] });
  });

  it('shows a production token only production configuration', async () => {
    const res = await features(backendProd);
    expect(res.status).toBe(200);
    expect(res.body.query.environment).toBe('production');
    const f = res.body.features.find((x: any) => x.name === 'checkout.new');
    expect(f.enabled).toBe(false);
    expect(f.variants).toEqual([]);
    expect(f.strategies).toEqual([expect.objectContaining({ name: 'default', segments: [] })]);
    expect(res.body.segments).toEqual([]);
    expect(res.body.features.find((x: any) => x.name === 'alpha.one').enabled).toBe(false);
  });

  it('filters by the token projects and by ?project= and ?namePrefix= within them', async () => {
    const a = await features(backendA);
    expect(a.body.features.map((f: any) => f.name)).toEqual(['alpha.one']);
    expect(a.body.query.project).toEqual(['alpha']);
    // asking for another project than the token's yields nothing of it
    const outside = await features(backendA, '/api/client/features?project=beta');
    expect(outside.status).toBe(200);
    expect(outside.body.features).toEqual([]);
    const both = await features(backendDev, '/api/client/features?project=alpha&project=beta');
    expect(both.body.features.map((f: any) => f.name)).toEqual(['alpha.one', 'beta.one']);
    const prefix = await features(backendDev, '/api/client/features?namePrefix=checkout.');
    expect(prefix.body.features.map((f: any) => f.name)).toEqual(['checkout.child', 'checkout.new', 'checkout.parent']);
    expect(prefix.body.query.namePrefix).toBe('checkout.');
    const none = await features(backendDev, '/api/client/features?namePrefix=CHECKOUT');
    expect(none.body.features).toEqual([]);
  });

  it('inlines segment constraints for SDKs older than client spec 4.2.0', async () => {
    for (const headers of [{}, { 'unleash-client-spec': '4.1.0' }, { 'unleash-client-spec': 'garbage' }] as Record<string, string>[]) {
      const res = await features(backendDev, '/api/client/features', headers);
      expect(res.status).toBe(200);
      expect(res.body.segments).toBeUndefined();
      expect(res.body.query.inlineSegmentConstraints).toBe(true);
      const s = res.body.features.find((x: any) => x.name === 'checkout.new').strategies[0];
      expect(s.segments).toBeUndefined();
      expect(s.constraints).toEqual([
        { contextName: 'appName', operator: 'IN', values: ['shop'] },
        { contextName: 'userId', operator: 'IN', values: ['u1', 'u2'] },
      ]);
    }
    const modern = await features(backendDev, '/api/client/features', { 'unleash-client-spec': '4.2.0' });
    expect(modern.body.segments).toHaveLength(1);
    // the two flavours are different documents
    const old = await features(backendDev, '/api/client/features', {});
    expect(old.headers.etag).not.toBe(modern.headers.etag);
  });

  it('keeps a stable strong ETag, answers 304 and changes after a write', async () => {
    const first = await features(backendDev);
    const second = await features(backendDev);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(second.headers.etag).toBe(etag);
    expect(second.raw.body).toBe(first.raw.body);
    expect(first.headers.vary).toMatch(/Accept-Encoding/i);

    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const res = await features(backendDev, '/api/client/features', { ...NEW_SPEC, 'if-none-match': inm });
      expect(res.status, inm).toBe(304);
      expect(res.raw.body).toBe('');
      expect(res.headers.etag).toBe(etag);
    }
    const miss = await features(backendDev, '/api/client/features', { ...NEW_SPEC, 'if-none-match': '"other"' });
    expect(miss.status).toBe(200);

    await setEnabled(t, 'checkout.parent', 'development', false);
    const after = await features(backendDev, '/api/client/features', { ...NEW_SPEC, 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    expect(after.body.meta.revisionId).toBeGreaterThan(first.body.meta.revisionId);
    expect(after.body.features.find((f: any) => f.name === 'checkout.parent').enabled).toBe(false);
    await setEnabled(t, 'checkout.parent', 'development', true);
  });

  it('a production write leaves the development document alone', async () => {
    const before = await features(backendDev);
    await setEnabled(t, 'checkout.new', 'production', true);
    const after = await features(backendDev, '/api/client/features', { ...NEW_SPEC, 'if-none-match': before.headers.etag as string });
    expect(after.status).toBe(304);
    const prod = await features(backendProd);
    expect(prod.body.features.find((f: any) => f.name === 'checkout.new').enabled).toBe(true);
    await setEnabled(t, 'checkout.new', 'production', false);
  });

  it('answers a cached request (200 or 304) without touching the database', async () => {
    const cache = flagSetCache(t.services);
    const saved = cache.refreshMs;
    cache.refreshMs = 60_000;
    const warm = await features(backendDev);
    const storage = t.services.storage as { db: any };
    const db = storage.db;
    storage.db = new Proxy(db, {
      get() {
        throw new Error('database used');
      },
    });
    try {
      const res = await features(backendDev, '/api/client/features', { ...NEW_SPEC, 'if-none-match': warm.headers.etag as string });
      expect(res.status).toBe(304);
      const full = await features(backendDev);
      expect(full.status).toBe(200);
    } finally {
      storage.db = db;
      cache.refreshMs = saved;
    }
  });

  it('notices writes made by another replica (no event) after refreshMs', async () => {
    const cache = flagSetCache(t.services);
    const saved = cache.refreshMs;
    cache.refreshMs = 50;
    try {
      const before = await features(backendDev);
      // another replica's write: rows and revision change, but this process hears no event
      await t.services.storage.db.updateTable('flag_environments').set({ enabled: 0 }).where('flag', '=', 'alpha.one').where('environment', '=', 'development').execute();
      await t.services.storage.db.updateTable('environments').set((eb) => ({ revision: eb('revision', '+', 1) })).where('name', '=', 'development').execute();
      await new Promise((r) => setTimeout(r, 80));
      const after = await features(backendDev, '/api/client/features', { ...NEW_SPEC, 'if-none-match': before.headers.etag as string });
      expect(after.status).toBe(200);
      expect(after.body.features.find((f: any) => f.name === 'alpha.one').enabled).toBe(false);
    } finally {
      cache.refreshMs = saved;
      await setEnabled(t, 'alpha.one', 'development', true);
    }
  });

  it('serves the delta API: hydration, 304, then only what changed', async () => {
    const first = await features(backendDev, '/api/client/delta');
    expect(first.status).toBe(200);
    expect(first.body.events).toHaveLength(1);
    const hydration = first.body.events[0];
    expect(hydration).toMatchObject({ type: 'hydration', eventId: expect.any(Number) });
    const full = await features(backendDev);
    expect(hydration.features).toEqual(full.body.features);
    expect(hydration.segments).toEqual(full.body.segments);
    const etag = first.headers.etag as string;
    expect((await features(backendDev, '/api/client/delta', { 'if-none-match': etag })).status).toBe(304);

    await setEnabled(t, 'checkout.parent', 'development', false);
    await putFlag(t, { name: 'delta.new', environments: { development: { enabled: true } } });
    const next = await features(backendDev, '/api/client/delta', { 'if-none-match': etag });
    expect(next.status).toBe(200);
    expect(next.body.events.map((e: any) => [e.type, e.feature?.name])).toEqual([
      ['feature-updated', 'checkout.parent'],
      ['feature-updated', 'delta.new'],
    ]);
    expect(next.body.events[0].feature.enabled).toBe(false);
    const etag2 = next.headers.etag as string;
    expect(etag2).not.toBe(etag);

    await putFlag(t, { name: 'delta.new', archived: true });
    await setEnabled(t, 'checkout.parent', 'development', true);
    const removed = await features(backendDev, '/api/client/delta', { 'if-none-match': etag2 });
    expect(removed.body.events.map((e: any) => [e.type, e.feature?.name ?? e.featureName])).toEqual([
      ['feature-updated', 'checkout.parent'],
      ['feature-removed', 'delta.new'],
    ]);
    // back to the first state: from the first ETag nothing changed
    expect((await features(backendDev, '/api/client/delta', { 'if-none-match': etag })).status).toBe(304);
    const unknown = await features(backendDev, '/api/client/delta', { 'if-none-match': '"d-unknown"' });
    expect(unknown.body.events.map((e: any) => e.type)).toEqual(['hydration']);
    const scoped = await features(backendA, '/api/client/delta');
    expect(scoped.body.events[0].features.map((f: any) => f.name)).toEqual(['alpha.one']);
  });

  it('compresses with br (preferred) or gzip, decoding to the same JSON', async () => {
    const plain = await features(backendDev);
    const br = await t.app.inject({ method: 'GET', url: '/api/client/features', headers: { authorization: backendDev, ...NEW_SPEC, 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toMatch(/Accept-Encoding/i);
    expect(JSON.parse(brotliDecompressSync(br.rawPayload).toString('utf8'))).toEqual(plain.body);
    const gz = await t.app.inject({ method: 'GET', url: '/api/client/features', headers: { authorization: backendDev, ...NEW_SPEC, 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(gz.rawPayload).toString('utf8'))).toEqual(plain.body);
    expect(gz.headers.etag).toBe(plain.headers.etag);
    const refused = await t.app.inject({ method: 'GET', url: '/api/client/features', headers: { authorization: backendDev, ...NEW_SPEC, 'accept-encoding': 'br;q=0, gzip;q=0' } });
    expect(refused.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(refused.body)).toEqual(plain.body);
  });

  it('tolerates the Unleash SDK headers', async () => {
    const res = await features(backendDev, '/api/client/features', {
      'unleash-appname': 'shop',
      'unleash-instanceid': 'i-1',
      'unleash-sdk': 'unleash-node-sdk:6.1.0',
      'unleash-connection-id': '9f1c',
      'unleash-client-spec': '5.2.0',
      'unleash-interval': '15000',
      'user-agent': 'shop',
    });
    expect(res.status).toBe(200);
  });

  it('serves one feature', async () => {
    const res = await features(backendDev, '/api/client/features/checkout.new', {});
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('checkout.new');
    expect(res.body.strategies[0].constraints).toHaveLength(2);
    const missing = await features(backendA, '/api/client/features/checkout.new');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/problem\+json/);
  });

  it('stores registrations and sums metrics per flag, environment, app and hour', async () => {
    const reg = await request(t, 'POST', '/api/client/register', {
      token: backendDev,
      headers: { 'unleash-sdk': 'unleash-node-sdk:6.1.0' },
      body: { appName: 'shop', instanceId: 'i-1', sdkVersion: 'unleash-node-sdk:6.1.0', strategies: ['default', 'flexibleRollout'], started: new Date().toISOString(), interval: 15000, platformName: 'node', yggdrasilVersion: null, specVersion: '5.1.0' },
    });
    expect(reg.status).toBe(202);
    const app = await t.services.storage.db.selectFrom('client_applications').selectAll().where('app_name', '=', 'shop').execute();
    expect(app).toHaveLength(1);
    expect(app[0]).toMatchObject({ instance_id: 'i-1', environment: 'development', sdk_version: 'unleash-node-sdk:6.1.0', interval: 15000 });
    expect(JSON.parse(app[0].strategies)).toEqual(['default', 'flexibleRollout']);

    const start = '2030-01-02T10:15:00.000Z';
    const body = (yes: number, no: number, variants: Record<string, number> = {}) => ({
      appName: 'shop',
      instanceId: 'i-1',
      environment: 'production', // ignored: the token decides
      platformName: 'node',
      bucket: {
        start,
        stop: '2030-01-02T10:16:00.000Z',
        toggles: {
          'checkout.new': { yes, no, variants },
          'does.not.exist': { yes: 5, no: 0, variants: {} },
          'alpha.one': { yes: 1, no: 1 },
        },
      },
    });
    expect((await request(t, 'POST', '/api/client/metrics', { token: backendDev, body: body(3, 1, { blue: 3 }) })).status).toBe(202);
    expect((await request(t, 'POST', '/api/client/metrics', { token: backendDev, body: body(2, 2, { blue: 1, red: 1 }) })).status).toBe(202);
    // a token for project alpha may only report alpha's flags
    expect((await request(t, 'POST', '/api/client/metrics', { token: backendA, body: body(100, 100) })).status).toBe(202);
    const rows = await t.services.storage.db.selectFrom('flag_metrics').selectAll().orderBy('flag').execute();
    expect(rows.map((r) => [r.flag, r.environment, r.app_name, r.bucket, Number(r.yes), Number(r.no)])).toEqual([
      ['alpha.one', 'development', 'shop', '2030-01-02T10:00:00.000Z', 3, 3],
      ['checkout.new', 'development', 'shop', '2030-01-02T10:00:00.000Z', 5, 3],
    ]);
    expect(JSON.parse(rows[1].variants)).toEqual({ blue: 4, red: 1 });
    const seen = await t.services.storage.db.selectFrom('client_applications').selectAll().where('app_name', '=', 'shop').execute();
    expect(seen).toHaveLength(1);
    expect(seen[0].last_seen_at >= app[0].last_seen_at).toBe(true);
  });

  it('stores concurrent metrics reports without losing counts', async () => {
    const start = '2031-05-05T05:05:05.000Z';
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request(t, 'POST', '/api/client/metrics', {
          token: backendDev,
          body: { appName: 'concurrent', instanceId: `i-${i}`, bucket: { start, stop: start, toggles: { 'checkout.new': { yes: 1, no: 2, variants: { blue: 1 } }, 'checkout.parent': { yes: 1, no: 0 } } } },
        }),
      ),
    );
    const rows = await t.services.storage.db.selectFrom('flag_metrics').selectAll().where('app_name', '=', 'concurrent').orderBy('flag').execute();
    expect(rows.map((r) => [r.flag, Number(r.yes), Number(r.no), JSON.parse(r.variants)])).toEqual([
      ['checkout.new', 10, 20, { blue: 10 }],
      ['checkout.parent', 10, 0, {}],
    ]);
  });

  it('rejects malformed metrics with a problem', async () => {
    const res = await request(t, 'POST', '/api/client/metrics', { token: backendDev, body: { appName: 'shop', bucket: { start: 'x', toggles: { a: { yes: -1 } } } } });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    const noApp = await request(t, 'POST', '/api/client/register', { token: backendDev, body: { instanceId: 'x' } });
    expect(noApp.status).toBe(400);
  });
});
