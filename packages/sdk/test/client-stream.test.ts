/** Local-mode sync against a scripted server: stream first, polling fallback, malformed data, resume. */
import { afterEach, describe, expect, it } from 'vitest';
import { SwitchyardClient, SDK_NAME, type SwitchyardOptions } from '@switchyard/sdk';
import { fakeServer, flag, json, payload, silent, until, type FakeServer, type Stream } from './fake-server.js';

const TOKEN = '*:development.secret';
let server: FakeServer;
const clients: SwitchyardClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
});

function client(opts: Partial<SwitchyardOptions> = {}) {
  const c = new SwitchyardClient({
    url: server.url,
    token: TOKEN,
    appName: 'test-app',
    logger: silent,
    disableMetrics: true,
    reconnect: { initialMs: 20, maxMs: 200 },
    refreshIntervalMs: 100,
    ...opts,
  });
  clients.push(c);
  return c;
}

const hydration = (features: unknown[], eventId = 1, segments: unknown[] = []) => ({ events: [{ type: 'hydration', eventId, features, segments }] });

/** A server whose stream handler is scripted per connection. */
async function streamingServer(onConnect: (s: Stream, n: number) => void) {
  server = await fakeServer();
  let n = 0;
  server.route('GET', '/api/client/streaming', (req, res) => {
    const s = server.openStream(res, req);
    onConnect(s, n++);
  });
  return server;
}

describe('local mode: streaming', () => {
  it('gets ready from the stream hydration, identifies itself, and emits changed with flag names', async () => {
    await streamingServer((s) => s.event('unleash-connected', hydration([flag('a'), flag('b', false)], 5), 5));
    const c = client();
    const changed: string[][] = [];
    c.on('changed', (names) => changed.push(names));
    await c.ready();
    expect(c.isEnabled('a')).toBe(true);
    expect(c.isEnabled('b')).toBe(false);
    expect(c.revision).toBe(5);
    expect(c.source).toBe('stream');
    const req = server.requests.find((r) => r.path === '/api/client/streaming')!;
    expect(req.headers['unleash-sdk']).toBe(SDK_NAME);
    expect(req.headers.authorization).toBe(TOKEN);
    expect(req.headers['unleash-appname']).toBe('test-app');
    expect(req.headers.accept).toBe('text/event-stream');
    expect(req.headers['last-event-id']).toBeUndefined();

    const s = server.streams[0];
    s.event('unleash-updated', { events: [{ type: 'feature-updated', eventId: 6, feature: flag('b', true) }, { type: 'feature-removed', eventId: 6, featureName: 'a' }] }, 6);
    await until(() => changed.length === 1);
    expect(changed[0]).toEqual(['a', 'b']);
    expect(c.isEnabled('a')).toBe(false);
    expect(c.isEnabled('b')).toBe(true);
    expect(c.revision).toBe(6);
    expect(c.flagMetadata).toEqual({ flagSetId: 'development', flagSetVersion: '6' });
    // no polling while the stream is up
    expect(server.requests.filter((r) => r.path === '/api/client/features')).toHaveLength(0);
  });

  it('resumes with Last-Event-ID after a clean disconnect and applies the changes sent on connect', async () => {
    await streamingServer((s, n) => {
      if (n === 0) {
        s.event('unleash-connected', hydration([flag('a')], 3), 3);
        setTimeout(() => s.end(), 20);
      } else {
        s.event('unleash-connected', { events: [{ type: 'feature-updated', eventId: 4, feature: flag('a', false) }] }, 4);
      }
    });
    server.route('GET', '/api/client/features', (_req, res) => json(res, 503, {}));
    const c = client();
    await c.ready();
    await until(() => c.isEnabled('a') === false);
    expect(server.streams[1].req.headers['last-event-id']).toBe('3');
    expect(c.revision).toBe(4);
  });

  it('keeps the last good set on malformed data, drops the connection and re-hydrates without Last-Event-ID', async () => {
    await streamingServer((s, n) => {
      if (n === 0) {
        s.event('unleash-connected', hydration([flag('a'), flag('b')], 1), 1);
        setTimeout(() => s.write('event: unleash-updated\nid: 2\ndata: {"events":[{"type":"feature-upd\n\n'), 30);
      } else if (n === 1) {
        s.event('unleash-connected', hydration([flag('a')], 2), 2);
        // a well-formed JSON document of the wrong shape
        setTimeout(() => s.event('unleash-updated', { events: [{ type: 'feature-updated', feature: { enabled: 'yes' } }] }, 3), 30);
      } else {
        s.event('unleash-connected', hydration([flag('a'), flag('c')], 3), 3);
      }
    });
    server.route('GET', '/api/client/features', (_req, res) => json(res, 503, {}));
    const c = client();
    const errors: string[] = [];
    c.on('error', (e) => errors.push(`${e.kind}: ${e.message}`));
    await c.ready();
    await until(() => server.streams.length >= 2);
    // answers never stopped: the last good set is still there
    expect(c.isEnabled('a')).toBe(true);
    await until(() => c.isEnabled('c'));
    expect(server.streams.length).toBe(3);
    expect(server.streams[1].req.headers['last-event-id']).toBeUndefined();
    expect(server.streams[2].req.headers['last-event-id']).toBeUndefined();
    expect(errors.filter((e) => e.startsWith('malformed')).length).toBeGreaterThanOrEqual(2);
    expect(c.isEnabled('b')).toBe(false);
  });

  it('re-hydrates after a stream cut off in the middle of an event', async () => {
    await streamingServer((s, n) => {
      if (n === 0) {
        s.event('unleash-connected', hydration([flag('a')], 1), 1);
        setTimeout(() => {
          s.write('event: unleash-updated\nid: 2\ndata: {"events":[{"type":"feature-updated","feature":');
          setTimeout(() => s.destroy(), 20);
        }, 20);
      } else {
        s.event('unleash-connected', hydration([flag('a', false)], 2), 2);
      }
    });
    server.route('GET', '/api/client/features', (_req, res) => json(res, 503, {}));
    const c = client();
    await c.ready();
    await until(() => c.isEnabled('a') === false);
    expect(server.streams[1].req.headers['last-event-id']).toBeUndefined();
  });

  it('refuses changes that arrive before any hydration', async () => {
    await streamingServer((s, n) => {
      if (n === 0) s.event('unleash-updated', { events: [{ type: 'feature-updated', feature: flag('x') }] }, 9);
      else s.event('unleash-connected', hydration([flag('y')], 10), 10);
    });
    server.route('GET', '/api/client/features', (_req, res) => json(res, 503, {}));
    const c = client();
    await c.ready();
    expect(c.flagNames()).toEqual(['y']);
  });

  it('falls back to ETag polling on 429 and goes back to the stream later', async () => {
    server = await fakeServer();
    let streamCalls = 0;
    server.route('GET', '/api/client/streaming', (req, res) => {
      streamCalls++;
      if (streamCalls <= 2) return json(res, 429, { title: 'Too Many Requests' }, { 'retry-after': '0' });
      const s = server.openStream(res, req);
      s.event('unleash-connected', hydration([flag('a', false)], 8), 8);
    });
    server.route('GET', '/api/client/features', (req, res) => {
      if (req.headers['if-none-match'] === '"e1"') {
        res.writeHead(304, { etag: '"e1"' });
        return res.end();
      }
      json(res, 200, payload([flag('a')], [], 7), { etag: '"e1"' });
    });
    const c = client({ reconnect: { initialMs: 150, maxMs: 300 } });
    await c.ready();
    expect(c.source).toBe('poll');
    expect(c.isEnabled('a')).toBe(true);
    expect(c.revision).toBe(7);
    expect(c.etag).toBe('"e1"');
    await until(() => server.requests.some((r) => r.path === '/api/client/features' && r.headers['if-none-match'] === '"e1"'));
    await until(() => c.source === 'stream', 5000);
    expect(c.isEnabled('a')).toBe(false);
    // A poll already on the wire when the stream came up may still land; after that, none start.
    const polls = () => server.requests.filter((r) => r.path === '/api/client/features').length;
    await new Promise((r) => setTimeout(r, 200));
    const pollsAfterSwitch = polls();
    await new Promise((r) => setTimeout(r, 400));
    expect(polls()).toBe(pollsAfterSwitch);
  });

  it('polls when the server has no stream (404) and with streaming: false', async () => {
    server = await fakeServer();
    server.route('GET', '/api/client/features', (_req, res) => json(res, 200, payload([flag('p')], [], 2), { etag: '"x"' }));
    const c1 = client();
    await c1.ready();
    expect(c1.isEnabled('p')).toBe(true);
    const c2 = client({ streaming: false });
    await c2.ready();
    expect(server.requests.filter((r) => r.path === '/api/client/streaming').length).toBe(1);
  });

  it('reconnects with backoff while the server is down, goes stale, and recovers', async () => {
    await streamingServer((s, n) => {
      if (n === 0) {
        s.event('unleash-connected', hydration([flag('a')], 1), 1);
        setTimeout(() => s.destroy(), 30);
      } else if (n < 4) {
        s.destroy();
      } else {
        s.event('unleash-connected', hydration([flag('a'), flag('b')], 2), 2);
      }
    });
    server.route('GET', '/api/client/features', (_req, res) => json(res, 500, {}));
    const c = client();
    const events: string[] = [];
    c.on('stale', () => events.push('stale'));
    c.on('recovered', () => events.push('recovered'));
    await c.ready();
    await until(() => c.isEnabled('b'), 5000);
    expect(events).toEqual(['stale', 'recovered']);
    expect(c.status).toBe('ready');
    expect(c.isEnabled('a')).toBe(true);
  });

  it('drops a silent stream after streamReadTimeoutMs and reconnects', async () => {
    await streamingServer((s, n) => {
      s.event('unleash-connected', hydration([flag(`f${n}`)], n + 1), n + 1);
    });
    server.route('GET', '/api/client/features', (_req, res) => json(res, 500, {}));
    const c = client({ streamReadTimeoutMs: 150 });
    await c.ready();
    await until(() => c.isEnabled('f1'), 5000);
  });

  it('honours switchyard-settings (metrics interval) and a heartbeat comment keeps the stream alive', async () => {
    await streamingServer((s) => {
      s.event('switchyard-settings', { metricsIntervalMs: 100 });
      s.event('unleash-connected', hydration([flag('a')], 1), 1);
    });
    server.route('POST', '/api/client/metrics', (_req, res) => {
      res.statusCode = 202;
      res.end();
    });
    server.route('POST', '/api/client/register', (_req, res) => {
      res.statusCode = 202;
      res.end();
    });
    const c = client({ disableMetrics: false, metricsIntervalMs: 60_000, streamReadTimeoutMs: 300 });
    const settings: unknown[] = [];
    c.on('settings', (s) => settings.push(s));
    await c.ready();
    c.isEnabled('a');
    await until(() => server.requests.some((r) => r.path === '/api/client/metrics'), 3000);
    expect(settings).toEqual([{ metricsIntervalMs: 100 }]);
    const s = server.streams[0];
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
      s.write(': heartbeat\n\n');
    }
    expect(server.streams.length).toBe(1);
  });

  it('stops on a refused token: ready() rejects, error is fatal', async () => {
    server = await fakeServer();
    server.route('GET', '/api/client/streaming', (_req, res) => json(res, 401, { title: 'Unauthorized' }));
    const c = client();
    const errors: boolean[] = [];
    c.on('error', (e) => errors.push(e.fatal));
    await expect(c.ready()).rejects.toThrow(/refused the token \(HTTP 401\)/);
    expect(c.status).toBe('error');
    expect(errors).toEqual([true]);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.requests.length).toBe(1);
  });

  it('ready() times out with the last error when the server never answers', async () => {
    server = await fakeServer();
    const c = client({ url: 'http://127.0.0.1:9', readyTimeoutMs: 300 });
    await expect(c.ready()).rejects.toThrow(/no flag set within 300 ms .*last error/);
    await expect(c.ready({ timeoutMs: 50 })).rejects.toThrow(/within 50 ms/);
  });

  it('uses an injected fetch', async () => {
    server = await fakeServer();
    const calls: string[] = [];
    const c = client({
      url: 'http://switchyard.invalid/api/',
      streaming: false,
      fetch: async (url) => {
        calls.push(url);
        return new Response(JSON.stringify(payload([flag('inj')])), { status: 200, headers: { etag: '"1"' } });
      },
    });
    await c.ready();
    expect(c.isEnabled('inj')).toBe(true);
    expect(calls[0]).toBe('http://switchyard.invalid/api/client/features');
  });
});
