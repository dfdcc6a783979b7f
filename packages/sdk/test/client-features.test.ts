/** Evaluation, typed getters, impressions, metrics, bootstrap and backup, remote mode. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SDK_VERSION, SwitchyardClient, memoryStorage, type ImpressionEvent, type SwitchyardOptions } from '@switchyard/sdk';
import { SwitchyardClient as NodeClient } from '@switchyard/sdk/node';
import { fakeServer, flag, json, payload, silent, until, type FakeServer } from './fake-server.js';

const TOKEN = '*:production.secret';
let server: FakeServer | undefined;
const clients: SwitchyardClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp() {
  const d = mkdtempSync(join(tmpdir(), 'sdk-test-'));
  dirs.push(d);
  return d;
}

const FLAGS = [
  flag('on'),
  flag('off', false),
  flag('with-variants', true, {
    impressionData: true,
    variants: [{ name: 'blue', weight: 1000, stickiness: 'default', payload: { type: 'string', value: 'blue!' } }],
  }),
  flag('num', true, { variants: [{ name: 'n', weight: 1000, payload: { type: 'number', value: '42.5' } }] }),
  flag('bad-num', true, { variants: [{ name: 'n', weight: 1000, payload: { type: 'string', value: 'forty' } }] }),
  flag('json', true, { variants: [{ name: 'j', weight: 1000, payload: { type: 'json', value: '{"color":"red","size":3}' } }] }),
  flag('bad-json', true, { variants: [{ name: 'j', weight: 1000, payload: { type: 'json', value: '{oops' } }] }),
  flag('no-payload', true, { variants: [{ name: 'plain', weight: 1000 }] }),
  flag('targeted', true, {
    strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'userId', operator: 'IN', values: ['u1'] }] }],
  }),
  flag('split', true, {
    strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'default', groupId: 'split' }, constraints: [] }],
  }),
];

function bootClient(opts: Partial<SwitchyardOptions> = {}) {
  const c = new SwitchyardClient({
    url: 'http://127.0.0.1:9',
    token: TOKEN,
    appName: 'unit',
    logger: silent,
    disableMetrics: true,
    streaming: false,
    refreshIntervalMs: 60_000,
    bootstrap: payload(FLAGS, [], 12),
    ...opts,
  });
  clients.push(c);
  return c;
}

describe('evaluation', () => {
  it('answers from bootstrap data at once and emits ready', async () => {
    const c = bootClient();
    expect(c.isReady).toBe(true);
    expect(c.isEnabled('on')).toBe(true);
    const ready: string[] = [];
    c.on('ready', () => ready.push('ready'));
    await c.ready();
    await new Promise((r) => setTimeout(r, 0));
    expect(ready).toEqual(['ready']);
    expect(c.source).toBe('bootstrap');
    expect(c.revision).toBe(12);
  });

  it('isEnabled with fallback, getVariant and evaluate with reasons', () => {
    const c = bootClient();
    expect(c.isEnabled('off')).toBe(false);
    expect(c.isEnabled('unknown')).toBe(false);
    expect(c.isEnabled('unknown', {}, true)).toBe(true);
    expect(c.isEnabled('unknown', {}, (name) => name === 'unknown')).toBe(true);
    expect(c.isEnabled('off', {}, true)).toBe(false);
    expect(c.getVariant('with-variants')).toMatchObject({ name: 'blue', enabled: true, payload: { type: 'string', value: 'blue!' }, feature_enabled: true });
    expect(c.getVariant('off')).toMatchObject({ name: 'disabled', enabled: false });
    expect(c.evaluate('on', {}).reason).toBe('STATIC');
    expect(c.evaluate('off', {}).reason).toBe('DISABLED');
    expect(c.evaluate('targeted', { userId: 'u1' }).reason).toBe('TARGETING_MATCH');
    expect(c.evaluate('targeted', { userId: 'u2' }).reason).toBe('DEFAULT');
    expect(c.evaluate('missing', {})).toMatchObject({ reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    const split = c.evaluate('split', { userId: '1' });
    expect(split.value ? split.reason : 'DEFAULT').toMatch(/SPLIT|DEFAULT/);
  });

  it('merges default context under each call', () => {
    const c = bootClient({ context: { userId: 'u1', properties: { team: 'a' } } });
    expect(c.isEnabled('targeted')).toBe(true);
    expect(c.isEnabled('targeted', { userId: 'u2' })).toBe(false);
    expect(c.context).toMatchObject({ appName: 'unit', userId: 'u1' });
  });

  it('typed getters read variant payloads, with defaults for off, unknown and mismatched flags', () => {
    const c = bootClient();
    expect(c.getBoolean('on', false)).toBe(true);
    expect(c.getBoolean('off', true)).toBe(false);
    expect(c.getBoolean('unknown', true)).toBe(true);
    expect(c.getString('with-variants', 'dflt')).toBe('blue!');
    expect(c.getString('off', 'dflt')).toBe('dflt');
    expect(c.getString('no-payload', 'dflt')).toBe('dflt');
    expect(c.getNumber('num', 0)).toBe(42.5);
    expect(c.getNumber('bad-num', 7)).toBe(7);
    expect(c.getNumber('with-variants', 7)).toBe(7);
    expect(c.getJson('json', {})).toEqual({ color: 'red', size: 3 });
    expect(c.getJson('bad-json', { d: 1 })).toEqual({ d: 1 });
    expect(c.getJson('num', null)).toBe(null);

    expect(c.resolveNumber('bad-num', 7)).toMatchObject({ value: 7, reason: 'ERROR', errorCode: 'TYPE_MISMATCH', variant: 'n' });
    expect(c.resolveJson('bad-json', 1)).toMatchObject({ value: 1, reason: 'ERROR', errorCode: 'PARSE_ERROR' });
    expect(c.resolveString('unknown', 'x')).toMatchObject({ value: 'x', reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(c.resolveString('off', 'x')).toMatchObject({ value: 'x', reason: 'DISABLED' });
    expect(c.resolveString('no-payload', 'x')).toMatchObject({ value: 'x', reason: 'DEFAULT', variant: 'plain' });
    expect(c.resolveString('with-variants', 'x')).toEqual({ value: 'blue!', variant: 'blue', reason: 'STATIC', flagMetadata: { flagSetId: 'production', flagSetVersion: '12' } });
  });

  it('answers PROVIDER_NOT_READY before any flag set', () => {
    const c = bootClient({ bootstrap: undefined });
    expect(c.resolveBoolean('on', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' });
    expect(c.isEnabled('on')).toBe(false);
  });

  it('emits impression events for flags with impressionData', () => {
    const c = bootClient();
    const seen: ImpressionEvent[] = [];
    c.on('impression', (e) => seen.push(e));
    c.isEnabled('with-variants', { userId: 'x' });
    c.getVariant('with-variants');
    c.isEnabled('on');
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ eventType: 'isEnabled', featureName: 'with-variants', enabled: true, context: { userId: 'x', appName: 'unit' } });
    expect(seen[1]).toMatchObject({ eventType: 'getVariant', featureName: 'with-variants', enabled: true, variant: 'blue' });
  });

  it('a throwing listener does not break evaluation', () => {
    const warnings: string[] = [];
    const c = bootClient({ logger: { ...silent, warn: (m: string) => warnings.push(m) } });
    c.on('impression', () => {
      throw new Error('listener bug');
    });
    expect(c.isEnabled('with-variants')).toBe(true);
    expect(warnings[0]).toMatch(/listener threw: listener bug/);
  });
});

describe('metrics', () => {
  it('counts yes/no/variants per flag (unknown flags too) and sends Unleash metrics bodies, on interval and on close', async () => {
    server = await fakeServer();
    const bodies: any[] = [];
    server.route('POST', '/api/client/metrics', (req, res) => {
      bodies.push(JSON.parse(req.body));
      res.statusCode = 202;
      res.end();
    });
    server.route('POST', '/api/client/register', (req, res) => {
      res.statusCode = 202;
      res.end();
    });
    const c = bootClient({ url: server.url, disableMetrics: false, metricsIntervalMs: 60_000, instanceId: 'i-1' });
    await c.ready();
    c.isEnabled('on');
    c.isEnabled('on');
    c.isEnabled('off');
    c.isEnabled('nope');
    c.getVariant('with-variants');
    c.getString('with-variants', '');
    c.track('checkout', { flag: 'with-variants', variant: 'blue', value: 10 });
    c.track('checkout', { flag: 'with-variants', variant: 'blue', value: 5 });
    c.track('error');
    await until(() => server!.requests.some((r) => r.path === '/api/client/register'));
    const pending = c.pendingMetrics()!;
    expect(pending.bucket.toggles.on).toEqual({ yes: 2, no: 0, variants: {} });
    await c.close();
    expect(bodies).toHaveLength(1);
    const b = bodies[0];
    expect(b).toMatchObject({ appName: 'unit', instanceId: 'i-1', environment: 'production', sdkVersion: `switchyard-sdk:${SDK_VERSION}` });
    expect(Date.parse(b.bucket.start)).toBeLessThanOrEqual(Date.parse(b.bucket.stop));
    expect(b.bucket.toggles).toEqual({
      on: { yes: 2, no: 0, variants: {} },
      off: { yes: 0, no: 1, variants: {} },
      nope: { yes: 0, no: 1, variants: {} },
      'with-variants': { yes: 2, no: 0, variants: { blue: 2 } },
    });
    expect(b.bucket.outcomes).toEqual([
      { event: 'checkout', flag: 'with-variants', variant: 'blue', count: 2, value: 15 },
      { event: 'error', count: 1, value: 0 },
    ]);
    const reg = server.requests.find((r) => r.path === '/api/client/register')!;
    expect(JSON.parse(reg.body)).toMatchObject({ appName: 'unit', instanceId: 'i-1', sdkVersion: `switchyard-sdk:${SDK_VERSION}` });
  });

  it('keeps counts that could not be sent for the next report', async () => {
    server = await fakeServer();
    let fail = true;
    const bodies: any[] = [];
    server.route('POST', '/api/client/metrics', (req, res) => {
      if (fail) return json(res, 503, {});
      bodies.push(JSON.parse(req.body));
      res.statusCode = 202;
      res.end();
    });
    const c = bootClient({ url: server.url, disableMetrics: false, metricsIntervalMs: 60_000 });
    c.isEnabled('on');
    await c.flushMetrics();
    c.isEnabled('on');
    fail = false;
    await c.flushMetrics();
    expect(bodies[0].bucket.toggles.on).toEqual({ yes: 2, no: 0, variants: {} });
    await c.flushMetrics();
    expect(bodies).toHaveLength(1);
  });

  it('sends on the metrics interval', async () => {
    server = await fakeServer();
    server.route('POST', '/api/client/metrics', (_req, res) => {
      res.statusCode = 202;
      res.end();
    });
    const c = bootClient({ url: server.url, disableMetrics: false, metricsIntervalMs: 100 });
    c.isEnabled('on');
    await until(() => server!.requests.some((r) => r.path === '/api/client/metrics'), 3000);
  });
});

describe('bootstrap and backup', () => {
  it('writes the backup atomically after each new flag set and restores it when the server is unreachable', async () => {
    server = await fakeServer();
    let version = 1;
    server.route('GET', '/api/client/features', (_req, res) => json(res, 200, payload([flag('a', version === 1), flag(`v${version}`)], [], version), { etag: `"e${version}"` }));
    const dir = tmp();
    const file = join(dir, 'nested', 'backup.json');
    const c1 = new NodeClient({ url: server.url, token: TOKEN, appName: 'b', logger: silent, disableMetrics: true, streaming: false, refreshIntervalMs: 50, backupFile: file });
    clients.push(c1);
    await c1.ready();
    await until(() => {
      try {
        return JSON.parse(readFileSync(file, 'utf8')).meta.revisionId === 1;
      } catch {
        return false;
      }
    });
    version = 2;
    await until(() => c1.isEnabled('v2'));
    await c1.close();
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.meta).toMatchObject({ revisionId: 2, etag: '"e2"' });
    expect(saved.features.map((f: any) => f.name).sort()).toEqual(['a', 'v2']);
    expect(readdirSync(join(dir, 'nested'))).toEqual(['backup.json']); // no temporary files left
    await server.close();
    server = undefined;

    const c2 = new NodeClient({ url: 'http://127.0.0.1:9', token: TOKEN, appName: 'b', logger: silent, disableMetrics: true, refreshIntervalMs: 1000, reconnect: { initialMs: 1000, maxMs: 1000 }, backupFile: file });
    clients.push(c2);
    const stale: string[] = [];
    c2.on('stale', (s) => stale.push(s.reason));
    await c2.ready({ timeoutMs: 5000 });
    expect(c2.source).toBe('backup');
    expect(c2.isEnabled('v2')).toBe(true);
    expect(c2.isEnabled('a')).toBe(false);
    expect(c2.revision).toBe(2);
    expect(c2.status).toBe('stale');
    expect(stale.length).toBe(1);
  });

  it('bootstraps from a file (an Unleash payload or a backup), and the server set replaces it', async () => {
    server = await fakeServer();
    let serve = false;
    server.route('GET', '/api/client/features', (_req, res) => (serve ? json(res, 200, payload([flag('from-server')], [], 5)) : json(res, 503, {})));
    const file = join(tmp(), 'boot.json');
    writeFileSync(file, JSON.stringify(payload([flag('from-file')])));
    const c = new NodeClient({ url: server.url, token: TOKEN, appName: 'b', logger: silent, disableMetrics: true, streaming: false, refreshIntervalMs: 50, bootstrap: { file } });
    clients.push(c);
    const changed: string[][] = [];
    c.on('changed', (n) => changed.push(n));
    await c.ready();
    expect(c.isEnabled('from-file')).toBe(true);
    expect(c.source).toBe('bootstrap');
    serve = true;
    await until(() => c.isEnabled('from-server'));
    expect(changed[0]).toEqual(['from-file', 'from-server']);
  });

  it('the core build refuses file options with a pointer to the Node build', () => {
    expect(() => new SwitchyardClient({ url: 'http://x', token: TOKEN, appName: 'a', backupFile: '/tmp/x.json' })).toThrow(/@switchyard\/sdk\/node/);
    expect(() => new SwitchyardClient({ url: 'http://x', token: TOKEN, appName: 'a', bootstrap: { file: '/tmp/x.json' } })).toThrow(/@switchyard\/sdk\/node/);
  });

  it('accepts any BackupStorage (memory here)', async () => {
    const storage = memoryStorage();
    server = await fakeServer();
    server.route('GET', '/api/client/features', (_req, res) => json(res, 200, payload([flag('m')], [], 3)));
    const c = new SwitchyardClient({ url: server.url, token: TOKEN, appName: 'b', logger: silent, disableMetrics: true, streaming: false, storage });
    clients.push(c);
    await c.ready();
    await until(() => storage.current?.revision === 3);
  });
});

describe('remote mode (frontend API)', () => {
  const toggles = (names: string[]) => ({
    toggles: names.map((name) => ({ name, enabled: true, impressionData: name === 'imp', variant: { name: 'v', enabled: true, payload: { type: 'number', value: '3' }, feature_enabled: true } })),
  });

  it('fetches for the context with ETag, refetches on `changed`, and on context updates', async () => {
    server = await fakeServer();
    let names = ['a'];
    server.route('GET', '/api/frontend', (req, res) => {
      const body = JSON.stringify(toggles(req.query.get('userId') === 'u2' ? ['u2-only'] : names));
      const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json', etag });
      res.end(body);
    });
    server.route('GET', '/api/frontend/streaming', (req, res) => {
      server!.openStream(res, req);
    });
    const c = new SwitchyardClient({
      url: server.url,
      token: 'default:production.frontend',
      appName: 'web',
      mode: 'remote',
      logger: silent,
      disableMetrics: true,
      context: { userId: 'u1', properties: { plan: 'pro' } },
    });
    clients.push(c);
    const changed: string[][] = [];
    c.on('changed', (n) => changed.push(n));
    await c.ready();
    expect(c.isEnabled('a')).toBe(true);
    expect(c.isEnabled('b')).toBe(false);
    expect(c.getNumber('a', 0)).toBe(3);
    // disabled flags are asked for, so a flag that is not in the answer is unknown
    expect(c.evaluate('b')).toMatchObject({ reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    const first = server.requests.find((r) => r.path === '/api/frontend')!;
    expect(first.headers['switchyard-include-disabled']).toBe('true');
    expect(first.query.get('userId')).toBe('u1');
    expect(first.query.get('properties[plan]')).toBe('pro');
    expect(first.query.get('appName')).toBe('web');

    await until(() => server!.streams.length === 1);
    names = ['a', 'b'];
    server.streams[0].event('changed', { revision: 9 }, 9);
    await until(() => c.isEnabled('b'));
    expect(changed).toEqual([['b']]);
    expect(server.requests.filter((r) => r.path === '/api/frontend' && r.headers['if-none-match']).length).toBeGreaterThan(0);

    await c.updateContext({ userId: 'u2' });
    expect(c.isEnabled('u2-only')).toBe(true);
    expect(c.isEnabled('a')).toBe(false);
  });

  it('uses the frontend metrics endpoint', async () => {
    server = await fakeServer();
    server.route('GET', '/api/frontend', (_req, res) => json(res, 200, toggles(['a'])));
    server.route('POST', '/api/frontend/client/metrics', (_req, res) => {
      res.statusCode = 202;
      res.end();
    });
    const c = new SwitchyardClient({ url: server.url, token: 'default:production.f', appName: 'web', mode: 'remote', logger: silent, streaming: false, metricsIntervalMs: 60_000, includeDisabled: false });
    await c.ready();
    expect(c.evaluate('absent').reason).toBe('DISABLED');
    expect(server.requests.find((r) => r.path === '/api/frontend')!.headers['switchyard-include-disabled']).toBeUndefined();
    c.getVariant('a');
    await c.close();
    const m = server.requests.find((r) => r.path === '/api/frontend/client/metrics')!;
    expect(JSON.parse(m.body).bucket.toggles.a).toEqual({ yes: 1, no: 0, variants: { v: 1 } });
    expect(JSON.parse(m.body).bucket.toggles.absent).toEqual({ yes: 0, no: 1, variants: { disabled: 1 } });
    expect(server.requests.some((r) => r.path === '/api/frontend/client/register')).toBe(true);
  });
});

describe('package', () => {
  const root = join(__dirname, '..');
  it('SDK_VERSION equals package.json', () => {
    expect(SDK_VERSION).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });

  it('the core (everything but node.ts and middleware.ts) imports nothing Node-only', () => {
    for (const f of readdirSync(join(root, 'src'))) {
      if (f === 'node.ts' || f === 'middleware.ts') continue;
      const text = readFileSync(join(root, 'src', f), 'utf8');
      expect(text, f).not.toMatch(/from ['"]node:|require\(|from ['"](fs|path|os|http|https|events|crypto|stream)['"]/);
      expect(text, f).not.toMatch(/(?<![\w-])process\.[a-z]|\bBuffer\./);
    }
  });
});
