/** Cohort outcomes: histogram layout, the collector, scopes, recordOutcome, the metrics body, and the report interval the server asks for. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  LATENCY_BUCKETS_MS,
  METRICS_INTERVAL_HEADER,
  OutcomeCollector,
  OutcomeScope,
  SwitchyardClient,
  cohortOf,
  latencyBucketIndex,
  setOutcomeScopeProvider,
  type MetricsBody,
  type SwitchyardOptions,
} from '@switchyard/sdk';
import { fakeServer, flag, json, payload, silent, until, type FakeServer } from './fake-server.js';

const TOKEN = '*:production.secret';
let server: FakeServer | undefined;
const clients: SwitchyardClient[] = [];

afterEach(async () => {
  setOutcomeScopeProvider(undefined);
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

const FLAGS = [
  flag('on'),
  flag('off', false),
  flag('colors', true, { variants: [{ name: 'blue', weight: 1000, stickiness: 'default' }] }),
];

function client(opts: Partial<SwitchyardOptions> = {}) {
  const c = new SwitchyardClient({
    url: 'http://127.0.0.1:9',
    token: TOKEN,
    appName: 'unit',
    logger: silent,
    disableMetrics: true,
    streaming: false,
    refreshIntervalMs: 60_000,
    bootstrap: payload(FLAGS, [], 1),
    ...opts,
  });
  clients.push(c);
  return c;
}

describe('histogram layout', () => {
  it('is the shared bucket layout (+Inf implicit) with le semantics', () => {
    expect([...LATENCY_BUCKETS_MS]).toEqual([5, 10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000]);
    expect(Object.isFrozen(LATENCY_BUCKETS_MS)).toBe(true);
    expect(latencyBucketIndex(0)).toBe(0);
    expect(latencyBucketIndex(5)).toBe(0);
    expect(latencyBucketIndex(5.01)).toBe(1);
    expect(latencyBucketIndex(300)).toBe(9);
    expect(latencyBucketIndex(10_000)).toBe(18);
    expect(latencyBucketIndex(10_001)).toBe(19);
  });

  it('cohorts: the enabled variant, else on / off', () => {
    expect(cohortOf(true)).toBe('on');
    expect(cohortOf(false)).toBe('off');
    expect(cohortOf(true, { name: 'blue', enabled: true })).toBe('blue');
    expect(cohortOf(true, { name: 'disabled', enabled: false })).toBe('on');
    expect(cohortOf(false, { name: 'disabled', enabled: false })).toBe('off');
  });
});

describe('OutcomeCollector', () => {
  it('counts requests, errors and latency per flag and cohort; take() empties; restore() merges back', () => {
    const c = new OutcomeCollector();
    expect(c.take()).toBeNull();
    c.record('f', 'on', false, 3);
    c.record('f', 'on', true, 120);
    c.record('f', 'off', false, 20_000);
    c.record('g', 'blue', false); // no latency
    const taken = c.take()!;
    expect(c.empty).toBe(true);
    expect(taken.f.on.requests).toBe(2);
    expect(taken.f.on.errors).toBe(1);
    expect(taken.f.on.latency).toHaveLength(20);
    expect(taken.f.on.latency[0]).toBe(1);
    expect(taken.f.on.latency[6]).toBe(1); // (100, 150]
    expect(taken.f.off.latency[19]).toBe(1); // +Inf
    expect(taken.g.blue).toEqual({ requests: 1, errors: 0, latency: new Array(20).fill(0) });
    c.record('f', 'on', false, 3);
    c.restore(taken);
    const again = c.take()!;
    expect(again.f.on.requests).toBe(3);
    expect(again.f.on.latency[0]).toBe(2);
  });

  it('bounds cardinality (cohorts per flag) and ignores bad latencies', () => {
    const c = new OutcomeCollector();
    for (let i = 0; i < 60; i++) c.record('f', `v${i}`, false, 1);
    c.record('f', 'x', false, Number.NaN);
    c.record('f', 'v0', false, -5);
    const t = c.take()!;
    expect(Object.keys(t.f)).toHaveLength(50);
    expect(t.f.v0.requests).toBe(2);
    expect(t.f.v0.latency.reduce((a, b) => a + b, 0)).toBe(1);
  });
});

describe('OutcomeScope', () => {
  it('records one outcome per evaluated flag with its cohort; a variant outranks a later plain on', () => {
    const got: unknown[] = [];
    const rec = { recordOutcome: (o: unknown) => got.push(o) };
    const s = new OutcomeScope();
    s.note(rec, 'a', 'on');
    s.note(rec, 'b', 'blue');
    s.note(rec, 'b', 'on'); // isEnabled after getVariant: keeps blue
    s.note(rec, 'c', 'on');
    s.note(rec, 'c', 'off'); // the last answer wins otherwise
    s.fail();
    s.finish({ latencyMs: 42 });
    s.finish({ latencyMs: 1 }); // once
    expect(got).toEqual([
      { flag: 'a', variant: 'on', error: true, latencyMs: 42 },
      { flag: 'b', variant: 'blue', error: true, latencyMs: 42 },
      { flag: 'c', variant: 'off', error: true, latencyMs: 42 },
    ]);
  });

  it('every kind of evaluation notes its cohort in the current scope; unknown flags are not noted', () => {
    const c = client();
    const scope = new OutcomeScope();
    setOutcomeScopeProvider(() => scope);
    c.isEnabled('on');
    c.isEnabled('off');
    c.getVariant('colors');
    c.isEnabled('colors');
    c.evaluate('on');
    c.getBoolean('off', true);
    c.getString('colors', 'x');
    c.isEnabled('nope');
    c.getVariant('nope');
    c.getBoolean('nope', true);
    expect(scope.flags()).toEqual([
      { flag: 'on', cohort: 'on' },
      { flag: 'off', cohort: 'off' },
      { flag: 'colors', cohort: 'blue' },
    ]);
  });
});

describe('recordOutcome and the metrics body', () => {
  it('puts cohorts into bucket.cohorts next to the Unleash counts', () => {
    const c = client({ disableMetrics: false, metricsIntervalMs: 60_000 });
    c.isEnabled('on');
    c.recordOutcome({ flag: 'on', enabled: true, error: false, latencyMs: 12 });
    c.recordOutcome({ flag: 'on', enabled: false, error: true, latencyMs: 700 });
    c.recordOutcome({ flag: 'colors', variant: 'blue', error: false, latencyMs: 1 });
    const body = c.pendingMetrics()!;
    expect(body.bucket.toggles.on.yes).toBe(1);
    expect(body.bucket.cohorts).toEqual({
      on: {
        on: { requests: 1, errors: 0, latency: hist({ 2: 1 }) },
        off: { requests: 1, errors: 1, latency: hist({ 12: 1 }) },
      },
      colors: { blue: { requests: 1, errors: 0, latency: hist({ 0: 1 }) } },
    });
    expect(() => c.recordOutcome({ flag: 'on', error: false } as never)).toThrow(/variant/);
    expect(() => c.recordOutcome({ error: false } as never)).toThrow(/flag/);
  });

  it('sends cohorts with the report and keeps them for the next one when the server fails', async () => {
    server = await fakeServer();
    const bodies: MetricsBody[] = [];
    let fail = true;
    server.route('POST', '/api/client/metrics', (req, res) => {
      if (fail) return json(res, 503, {});
      bodies.push(JSON.parse(req.body));
      res.statusCode = 202;
      res.end();
    });
    server.route('POST', '/api/client/register', (_req, res) => json(res, 202, undefined));
    const c = client({ url: server.url, disableMetrics: false, metricsIntervalMs: 60_000 });
    c.recordOutcome({ flag: 'on', enabled: true, error: true, latencyMs: 30 });
    await c.flushMetrics();
    fail = false;
    c.recordOutcome({ flag: 'on', enabled: true, error: false, latencyMs: 30 });
    await c.flushMetrics();
    expect(bodies).toHaveLength(1);
    expect(bodies[0].bucket.cohorts!.on.on).toEqual({ requests: 2, errors: 1, latency: hist({ 3: 2 }) });
  });

  it('disableMetrics: nothing is counted', () => {
    const c = client();
    c.recordOutcome({ flag: 'on', enabled: true, error: false, latencyMs: 3 });
    expect(c.pendingMetrics()).toBeNull();
  });
});

function hist(at: Record<number, number>): number[] {
  const h = new Array(20).fill(0);
  for (const [i, n] of Object.entries(at)) h[Number(i)] = n;
  return h;
}

describe('report interval', () => {
  it('stream settings: the shorter of the app’s and the server’s; null gives the app’s back', async () => {
    server = await fakeServer();
    server.route('GET', '/api/client/streaming', (req, res) => {
      const s = server!.openStream(res, req);
      s.event('switchyard-settings', { metricsIntervalMs: 5000 });
      s.event('unleash-connected', { events: [{ type: 'hydration', eventId: 1, features: FLAGS, segments: [] }] }, 1);
    });
    server.route('POST', '/api/client/register', (_req, res) => json(res, 202, undefined));
    const c = client({ url: server.url, streaming: true, bootstrap: undefined, disableMetrics: false, metricsIntervalMs: 60_000 });
    const settings: unknown[] = [];
    c.on('settings', (s) => settings.push(s));
    await c.ready();
    await until(() => c.reportingIntervalMs === 5000);
    const s = server.streams[0];
    s.event('switchyard-settings', { metricsIntervalMs: 120_000 });
    await until(() => settings.length === 2);
    expect(c.reportingIntervalMs).toBe(60_000); // the app's is shorter
    s.event('switchyard-settings', { metricsIntervalMs: 2000 });
    await until(() => c.reportingIntervalMs === 2000);
    s.event('switchyard-settings', { metricsIntervalMs: null });
    await until(() => c.reportingIntervalMs === 60_000);
    expect(settings).toEqual([{ metricsIntervalMs: 5000 }, { metricsIntervalMs: 120_000 }, { metricsIntervalMs: 2000 }, { metricsIntervalMs: null }]);

    // An app interval shorter than the server's stays.
    const fast = client({ url: server.url, streaming: true, bootstrap: undefined, disableMetrics: false, metricsIntervalMs: 1000 });
    await fast.ready();
    await until(() => server!.streams.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(fast.reportingIntervalMs).toBe(1000);
  });

  it('polling: the metrics response header sets the interval, and its absence clears it', async () => {
    server = await fakeServer();
    let header: string | undefined = '5000';
    const posts: number[] = [];
    server.route('POST', '/api/client/metrics', (_req, res) => {
      posts.push(Date.now());
      json(res, 202, undefined, header ? { [METRICS_INTERVAL_HEADER]: header } : {});
    });
    server.route('POST', '/api/client/register', (_req, res) => json(res, 202, undefined));
    const c = client({ url: server.url, disableMetrics: false, metricsIntervalMs: 60_000 });
    const settings: unknown[] = [];
    c.on('settings', (s) => settings.push(s));
    c.isEnabled('on');
    await c.flushMetrics();
    expect(c.reportingIntervalMs).toBe(5000);
    header = 'nonsense';
    c.isEnabled('on');
    await c.flushMetrics();
    expect(c.reportingIntervalMs).toBe(60_000);
    expect(settings).toEqual([{ metricsIntervalMs: 5000 }, { metricsIntervalMs: null }]);
  });

  it('reports on the faster interval once the server asks for it', async () => {
    server = await fakeServer();
    const posts: MetricsBody[] = [];
    server.route('POST', '/api/client/metrics', (req, res) => {
      posts.push(JSON.parse(req.body));
      json(res, 202, undefined, { [METRICS_INTERVAL_HEADER]: '150' });
    });
    server.route('POST', '/api/client/register', (_req, res) => json(res, 202, undefined));
    const c = client({ url: server.url, disableMetrics: false, metricsIntervalMs: 60_000 });
    c.recordOutcome({ flag: 'on', enabled: true, error: false, latencyMs: 1 });
    await c.flushMetrics();
    expect(c.reportingIntervalMs).toBe(150);
    c.recordOutcome({ flag: 'on', enabled: true, error: false, latencyMs: 1 });
    await until(() => posts.length >= 2, 3000);
    expect(posts[1].bucket.cohorts!.on.on.requests).toBe(1);
  });
});
