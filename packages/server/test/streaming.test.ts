/**
 * The streaming hub through a real listening server (port 0) with raw SSE clients: Unleash
 * streaming (hydration, deltas, Last-Event-ID resume), heartbeats, the connection limit, slow
 * clients, environment and project scoping, the frontend change stream, graceful shutdown, and the
 * official `unleash-client` in streaming mode.
 */
import net from 'node:net';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createProject, putFlag, setEnabled, token } from './fixtures.js';
import { SseClient, json } from './sse.js';
import { streamingHub } from '../src/streaming/hub.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachDialect('streaming', (dialect) => {
  let t: TestApp;
  let base: string;
  let dev: string;
  let prod: string;
  let alphaDev: string;
  let frontDev: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await createProject(t, 'alpha');
    await createProject(t, 'beta');
    await putFlag(t, { name: 'stream.one', environments: { development: { enabled: true, strategies: [{ name: 'default' }] }, production: { enabled: false } } });
    await putFlag(t, { name: 'stream.two', environments: { development: { enabled: false, strategies: [{ name: 'default' }] } } });
    await putFlag(t, { name: 'alpha.flag', project: 'alpha', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    await putFlag(t, { name: 'beta.flag', project: 'beta', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    dev = await token(t, 'backend', 'development');
    prod = await token(t, 'backend', 'production');
    alphaDev = await token(t, 'backend', 'development', ['alpha']);
    frontDev = await token(t, 'frontend', 'development');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address() as net.AddressInfo;
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  const stream = (tok: string, headers: Record<string, string> = {}) => SseClient.open(`${base}/api/client/streaming`, { authorization: tok, ...headers });

  it('hydrates on connect with the delta API’s hydration, SSE id = revision', async () => {
    const c = await stream(dev);
    try {
      expect(c.status).toBe(200);
      expect(c.headers['content-type']).toMatch(/^text\/event-stream/);
      const first = await c.nth(0);
      expect(first.event).toBe('unleash-connected');
      const body = json(first);
      expect(body.events).toHaveLength(1);
      const h = body.events[0];
      expect(h.type).toBe('hydration');
      expect(String(h.eventId)).toBe(first.id);
      expect(h.features.map((f: any) => f.name).sort()).toEqual(['alpha.flag', 'beta.flag', 'stream.one', 'stream.two']);
      expect(h.segments).toEqual([]);
      // the same document the delta API hydrates with
      const delta = await fetch(`${base}/api/client/delta`, { headers: { authorization: dev } }).then((r) => r.json());
      expect(delta).toEqual(body);
    } finally {
      c.close();
    }
  });

  it('pushes only what changed as unleash-updated, with increasing ids', async () => {
    const c = await stream(dev);
    try {
      const first = await c.nth(0);
      await setEnabled(t, 'stream.two', 'development', true);
      const upd = await c.nth(1);
      expect(upd.event).toBe('unleash-updated');
      expect(Number(upd.id)).toBeGreaterThan(Number(first.id));
      const { events } = json(upd);
      expect(events).toEqual([expect.objectContaining({ type: 'feature-updated', eventId: Number(upd.id), feature: expect.objectContaining({ name: 'stream.two', enabled: true }) })]);
      await t.services.changes.write('test', async (trx, change) => {
        await trx.updateTable('flags').set({ archived_at: new Date().toISOString() }).where('name', '=', 'stream.two').execute();
        change.touch('*');
      });
      const removed = await c.nth(2);
      expect(json(removed).events).toEqual([{ type: 'feature-removed', featureName: 'stream.two', eventId: Number(removed.id) }]);
    } finally {
      c.close();
      await t.services.changes.write('test', async (trx, change) => {
        await trx.updateTable('flags').set({ archived_at: null }).where('name', '=', 'stream.two').execute();
        change.touch('*');
      });
      await setEnabled(t, 'stream.two', 'development', false);
    }
  });

  it('resumes from Last-Event-ID with only the changes since (or nothing), hydrates for an unknown id', async () => {
    const a = await stream(dev);
    const first = await a.nth(0);
    a.close();
    await setEnabled(t, 'stream.one', 'development', false);

    const resumed = await stream(dev, { 'last-event-id': first.id! });
    const r0 = await resumed.nth(0);
    expect(r0.event).toBe('unleash-connected');
    expect(json(r0).events.map((e: any) => [e.type, e.feature?.name])).toEqual([['feature-updated', 'stream.one']]);
    expect(Number(r0.id)).toBeGreaterThan(Number(first.id));
    resumed.close();

    const upToDate = await stream(dev, { 'last-event-id': r0.id! });
    const u0 = await upToDate.nth(0);
    expect(u0.event).toBe('unleash-connected');
    expect(json(u0).events).toEqual([]);
    expect(u0.id).toBe(r0.id);
    upToDate.close();

    const unknown = await stream(dev, { 'last-event-id': '999999' });
    expect(json(await unknown.nth(0)).events[0].type).toBe('hydration');
    unknown.close();
    await setEnabled(t, 'stream.one', 'development', true);
  });

  it('sends heartbeats', async () => {
    const hub = streamingHub(t.services);
    hub.configure({ heartbeatMs: 100 });
    const c = await stream(dev);
    try {
      await c.nth(0);
      const before = c.comments;
      await c.until(() => c.comments >= before + 2, 3000, 'two heartbeats');
    } finally {
      c.close();
      hub.configure({ heartbeatMs: 15_000 });
    }
  });

  it('answers 429 problem+json with Retry-After over the connection limit', async () => {
    const hub = streamingHub(t.services);
    const held = [await stream(dev), await stream(dev)];
    await Promise.all(held.map((c) => c.nth(0)));
    const saved = hub.options.maxStreams;
    hub.configure({ maxStreams: hub.size });
    try {
      const refused = await stream(dev);
      expect(refused.status).toBe(429);
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(JSON.parse(refused.body)).toMatchObject({ status: 429, title: 'Too Many Requests' });
      held.pop()!.close();
      await sleep(100);
      const again = await stream(dev);
      expect(again.status).toBe(200);
      again.close();
    } finally {
      hub.configure({ maxStreams: saved });
      for (const c of held) c.close();
    }
  });

  it('drops a client that does not read while a fast one keeps receiving', async () => {
    const hub = streamingHub(t.services);
    hub.configure({ maxBufferedBytes: 64 * 1024 });
    const big = Array.from({ length: 40 }, (_, i) => `big.${i}`);
    for (const name of big) await putFlag(t, { name, environments: { development: { enabled: true } } });
    const fast = await stream(dev);
    await fast.nth(0);
    // A client that sends its request and never reads a byte.
    const port = Number(new URL(base).port);
    const slow = net.connect(port, '127.0.0.1');
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    slow.on('error', () => {});
    await new Promise<void>((r) => slow.once('connect', () => r()));
    slow.write(`GET /api/client/streaming HTTP/1.1\r\nHost: x\r\nAuthorization: ${dev}\r\n\r\n`);
    slow.pause();
    await sleep(100);
    const openBefore = hub.size;
    expect(openBefore).toBe(2);
    try {
        const fat = 'x'.repeat(50_000);
      let round = 0;
      const dropped = () => hub.size < openBefore;
      for (; round < 20 && !dropped(); round++) {
        await t.services.changes.write('test', async (trx, change) => {
          await trx.updateTable('flags').set({ description: `${fat}${round}` }).where('name', 'in', big).execute();
          change.touch('development');
        });
        await fast.until(() => fast.events.length >= round + 2, 5000, `update ${round}`);
      }
      expect(dropped()).toBe(true);
      // the fast client got every update, each with all 40 flags
      expect(fast.events.length).toBe(round + 1);
      expect(json(fast.events.at(-1)!).events).toHaveLength(40);
      slow.resume();
      for (let i = 0; i < 100 && !slowClosed; i++) await sleep(50);
      expect(slowClosed).toBe(true);
    } finally {
      slow.destroy();
      fast.close();
      hub.configure({ maxBufferedBytes: 1024 * 1024 });
      await t.services.changes.write('test', async (trx, change) => {
        await trx.deleteFrom('flag_environments').where('flag', 'in', big).execute();
        await trx.deleteFrom('flags').where('name', 'in', big).execute();
        change.touch('*');
      });
    }
  });

  it('scopes streams by environment and project', async () => {
    const d = await stream(dev);
    const p = await stream(prod);
    const a = await stream(alphaDev);
    try {
      const [d0, p0, a0] = await Promise.all([d.nth(0), p.nth(0), a.nth(0)]);
      expect(json(p0).events[0].features.map((f: any) => [f.name, f.enabled])).toContainEqual(['stream.one', false]);
      expect(json(a0).events[0].features.map((f: any) => f.name)).toEqual(['alpha.flag']);
      expect(d0.event).toBe('unleash-connected');

      await setEnabled(t, 'stream.one', 'production', true); // prod only
      const p1 = await p.nth(1);
      expect(json(p1).events.map((e: any) => e.feature.name)).toEqual(['stream.one']);
      await setEnabled(t, 'beta.flag', 'development', false); // dev, project beta
      const d1 = await d.nth(1);
      expect(json(d1).events.map((e: any) => e.feature.name)).toEqual(['beta.flag']);
      await setEnabled(t, 'alpha.flag', 'development', false); // dev, project alpha
      const a1 = await a.nth(1);
      expect(json(a1).events.map((e: any) => e.feature.name)).toEqual(['alpha.flag']);
      const d2 = await d.nth(2);
      expect(json(d2).events.map((e: any) => e.feature.name)).toEqual(['alpha.flag']);
      await sleep(100);
      // the dev stream never saw production, the alpha stream never saw beta
      expect(d.events).toHaveLength(3);
      expect(a.events).toHaveLength(2);
      expect(p.events).toHaveLength(2);
    } finally {
      d.close();
      p.close();
      a.close();
      await setEnabled(t, 'stream.one', 'production', false);
      await setEnabled(t, 'beta.flag', 'development', true);
      await setEnabled(t, 'alpha.flag', 'development', true);
    }
  });

  it('sends switchyard-settings to @switchyard/sdk only', async () => {
    const sy = await stream(dev, { 'unleash-sdk': 'switchyard-sdk:0.1.0' });
    const un = await stream(dev, { 'unleash-sdk': 'unleash-node-sdk:6.12.1' });
    try {
      const s0 = await sy.nth(0);
      expect(s0.event).toBe('switchyard-settings');
      expect(json(s0)).toHaveProperty('metricsIntervalMs');
      expect((await sy.nth(1)).event).toBe('unleash-connected');
      expect((await un.nth(0)).event).toBe('unleash-connected');
    } finally {
      sy.close();
      un.close();
    }
  });

  it('refuses bad tokens and token types', async () => {
    expect((await SseClient.open(`${base}/api/client/streaming`)).status).toBe(401);
    expect((await stream(frontDev)).status).toBe(403);
    expect((await SseClient.open(`${base}/api/frontend/streaming`, { authorization: dev })).status).toBe(403);
  });

  it('frontend stream: `changed` when the token’s flags change, nothing for other environments', async () => {
    const f = await SseClient.open(`${base}/api/frontend/streaming`, { authorization: frontDev, origin: 'http://app.example' });
    try {
      expect(f.status).toBe(200);
      expect(f.headers['access-control-allow-origin']).toBe('*');
      await sleep(50);
      await setEnabled(t, 'stream.one', 'production', true);
      await setEnabled(t, 'stream.one', 'development', false);
      const e = await f.nth(0);
      expect(e.event).toBe('changed');
      expect(json(e)).toEqual({ revision: Number(e.id) });
      const front = await fetch(`${base}/api/frontend`, { headers: { authorization: frontDev } }).then((r) => r.json() as Promise<any>);
      expect(front.toggles.map((x: any) => x.name)).not.toContain('stream.one');
      await sleep(100);
      expect(f.events).toHaveLength(1);
    } finally {
      f.close();
      await setEnabled(t, 'stream.one', 'production', false);
      await setEnabled(t, 'stream.one', 'development', true);
    }
  });

  it('the official unleash-client in streaming mode follows changes within a second', async () => {
    const unleash = new Unleash({
      url: `${base}/api/`,
      appName: 'stream-test',
      customHeaders: { Authorization: dev },
      disableMetrics: true,
      refreshInterval: 3_600_000,
      storageProvider: new InMemStorageProvider(),
      skipInstanceCountWarning: true,
      experimentalMode: { type: 'streaming' },
    });
    const warnings: string[] = [];
    const modes: unknown[] = [];
    unleash.on('warn', (w) => warnings.push(String(w)));
    unleash.on('mode', (m) => modes.push(m));
    unleash.on('error', () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no sync; warnings: ${warnings.join('; ')}`)), 10_000);
        unleash.once('synchronized', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      expect(unleash.isEnabled('stream.two')).toBe(false);
      await setEnabled(t, 'stream.two', 'development', true);
      const t0 = Date.now();
      while (!unleash.isEnabled('stream.two') && Date.now() - t0 < 1000) await sleep(5);
      expect(unleash.isEnabled('stream.two')).toBe(true);
      await setEnabled(t, 'stream.two', 'development', false);
      const t1 = Date.now();
      while (unleash.isEnabled('stream.two') && Date.now() - t1 < 1000) await sleep(5);
      expect(unleash.isEnabled('stream.two')).toBe(false);
      expect(modes).toEqual([]); // never fell back to polling
      expect(warnings).toEqual([]);
    } finally {
      unleash.destroy();
    }
  });

  it('closes streams on shutdown', async () => {
    const c = await stream(dev);
    await c.nth(0);
    const closing = t.app.close();
    await c.closedByServer(3000);
    await closing;
  });
});
