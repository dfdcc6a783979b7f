import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { putFlag, request, setEnabled, token } from './fixtures.js';

describeEachDialect('operations', (dialect) => {
  let t: TestApp;
  let backend: string;
  let frontend: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await putFlag(t, { name: 'f1', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    backend = await token(t, 'backend', 'development');
    frontend = await token(t, 'frontend', 'development');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('GET /health needs no token', async () => {
    const res = await request(t, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /ready is 200 when storage answers and migrations are done', async () => {
    const res = await request(t, 'GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', storage: dialect });
  });

  it('GET /metrics exposes request timings by route template, revisions and SDK counters', async () => {
    await request(t, 'GET', '/api/client/features', { token: backend });
    await request(t, 'GET', '/api/client/features/f1?x=secret-query', { token: backend });
    await request(t, 'GET', '/no/such/route/abc123');
    await request(t, 'POST', '/api/client/register', { token: backend, body: { appName: 'svc', instanceId: 'i1' } });
    await request(t, 'POST', '/api/frontend/client/register', { token: frontend, body: { appName: 'web', instanceId: 'b1' } });
    const bucket = { start: new Date().toISOString(), stop: new Date().toISOString(), toggles: { f1: { yes: 1, no: 0 } } };
    await request(t, 'POST', '/api/client/metrics', { token: backend, body: { appName: 'svc', instanceId: 'i1', bucket } });
    await setEnabled(t, 'f1', 'development', false);

    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/http_request_duration_seconds_bucket\{.*method="GET".*route="\/api\/client\/features".*status="200"/);
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/api\/client\/features\/:name"[^}]*\} 1/);
    expect(text).toMatch(/route="not_found"/);
    expect(text).not.toContain('abc123');
    expect(text).not.toContain('secret-query');
    expect(text).toMatch(/switchyard_flag_revision\{environment="development"\} \d+/);
    expect(text).toMatch(/switchyard_flag_revision\{environment="production"\} \d+/);
    expect(text).toMatch(/switchyard_sdk_registrations_total\{api="client"\} 1/);
    expect(text).toMatch(/switchyard_sdk_registrations_total\{api="frontend"\} 1/);
    expect(text).toMatch(/switchyard_sdk_metrics_posts_total\{api="client"\} 1/);
    expect(text).toMatch(/switchyard_sdk_instances\{environment="development"\} 2/);
    expect(text).toMatch(/process_cpu_user_seconds_total/);
    const dev = await t.services.storage.db.selectFrom('environments').select('revision').where('name', '=', 'development').executeTakeFirstOrThrow();
    expect(text).toContain(`switchyard_flag_revision{environment="development"} ${dev.revision}`);
  });

  it('GET /docs/openapi.json describes the SDK APIs with tags and summaries', async () => {
    const res = await request(t, 'GET', '/docs/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\./);
    for (const [path, method, tag] of [
      ['/api/client/features', 'get', 'client-api'],
      ['/api/client/register', 'post', 'client-api'],
      ['/api/client/metrics', 'post', 'client-api'],
      ['/api/frontend', 'get', 'frontend-api'],
      ['/api/frontend', 'post', 'frontend-api'],
      ['/api/frontend/client/metrics', 'post', 'frontend-api'],
      ['/api/admin/tokens', 'get', 'tokens'],
      ['/api/admin/tokens', 'post', 'tokens'],
      ['/api/admin/tokens/{id}', 'delete', 'tokens'],
      ['/health', 'get', 'operations'],
      ['/ready', 'get', 'operations'],
      ['/metrics', 'get', 'operations'],
    ] as const) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.tags).toContain(tag);
      expect(op.summary).toEqual(expect.any(String));
    }
  });
});

describe('readiness when storage fails', () => {
  it('answers 503 with a problem once the database is gone', async () => {
    const t = await createTestApp('sqlite');
    try {
      const storage = t.services.storage as { db: any };
      const db = storage.db;
      storage.db = new Proxy(db, {
        get(target, prop) {
          if (prop === 'getExecutor' || prop === 'executeQuery') {
            return () => {
              throw new Error('SQLITE_CANTOPEN: unable to open database file');
            };
          }
          return Reflect.get(target, prop);
        },
      });
      const res = await request(t, 'GET', '/ready');
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.detail).toMatch(/database does not answer/);
      storage.db = db;
      expect((await request(t, 'GET', '/ready')).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('answers 503 while migrations are not done', async () => {
    const t = await createTestApp('sqlite');
    try {
      await t.services.storage.db.deleteFrom('kysely_migration' as any).execute();
      const res = await request(t, 'GET', '/ready');
      expect(res.status).toBe(503);
      expect(res.body.detail).toMatch(/migrations/i);
    } finally {
      await t.close();
    }
  });
});
