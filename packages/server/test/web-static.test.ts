import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webRoutes from '../src/web/static.js';
import { installProblemHandlers } from '../src/http/problem.js';

async function appWith(dir: string) {
  const app = Fastify({ logger: false });
  installProblemHandlers(app);
  app.get('/api/admin/flags', async () => ({ flags: [] }));
  app.get('/health', async () => ({ status: 'ok' }));
  await app.register(webRoutes, { dir });
  await app.ready();
  return app;
}

const HTML = { accept: 'text/html,application/xhtml+xml' };

describe('web UI static serving', () => {
  let dir: string;
  let built: Awaited<ReturnType<typeof appWith>>;
  let missing: Awaited<ReturnType<typeof appWith>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-web-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(dir, 'assets', 'app-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
    writeFileSync(join(dir, '..', 'secret.txt'), 'do not serve');
    built = await appWith(dir);
    missing = await appWith(join(dir, 'nope'));
  });
  afterAll(async () => {
    await built.close();
    await missing.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(dir, '..', 'secret.txt'), { force: true });
  });

  it('serves index.html at / with a CSP and no caching', async () => {
    const res = await built.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(String(res.headers['content-security-policy'])).toContain("script-src 'self'");
    expect(res.body).toContain('id="root"');
  });

  it('serves hashed assets as immutable and other files as they are', async () => {
    const js = await built.inject({ url: '/assets/app-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/text\/javascript/);
    expect(js.headers['cache-control']).toContain('immutable');
    const again = await built.inject({ url: '/assets/app-abc123.js', headers: { 'if-none-match': String(js.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect((await built.inject({ url: '/favicon.svg' })).headers['content-type']).toBe('image/svg+xml');
    expect((await built.inject({ url: '/assets/old-bundle.js' })).statusCode).toBe(404);
  });

  it('falls back to the app for deep links from a browser, never for API paths', async () => {
    const deep = await built.inject({ url: '/flags/my-flag?tab=history', headers: HTML });
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toContain('id="root"');
    for (const path of ['/api/admin/nope', '/api', '/health/x', '/ready', '/metrics', '/docs/x', '/ofrep/v1/x']) {
      const res = await built.inject({ url: path, headers: HTML });
      expect(res.statusCode, path).toBe(404);
      expect(res.headers['content-type'], path).toMatch(/application\/problem\+json/);
    }
    expect((await built.inject({ url: '/api/admin/flags' })).json()).toEqual({ flags: [] });
    expect((await built.inject({ url: '/health', headers: HTML })).json()).toEqual({ status: 'ok' });
    // Non-browser clients asking for an unknown path get the problem 404.
    expect((await built.inject({ url: '/no/such/thing' })).statusCode).toBe(404);
  });

  it('never serves files outside the build directory', async () => {
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%00']) {
      const res = await built.inject({ url, headers: HTML });
      expect(res.body, url).not.toContain('do not serve');
    }
  });

  it('says in plain words when the UI is not built', async () => {
    const res = await missing.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('the web UI has not been built');
    expect(res.body).toContain('npm run build');
    expect((await missing.inject({ url: '/api/admin/flags' })).statusCode).toBe(200);
  });
});
