/**
 * The Prometheus provider against a tiny fake Prometheus on 127.0.0.1 that answers
 * `GET /api/v1/query` in Prometheus' real JSON format — vectors, scalars, histograms by `le`, and
 * its error answers (bad_data, execution, unavailable), garbage and silence (timeouts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, PrometheusError, PrometheusProvider, escapePromQL, parsePrometheusConfig, renderTemplate } from '../src/signals/index.js';

type Answer = { status?: number; body: unknown } | 'hang' | { raw: string; status: number };

let server: http.Server;
let base: string;
const seen: Array<{ query: string; time: string | null; auth: string | undefined }> = [];
let answer: (query: string) => Answer;

const vector = (...samples: Array<[Record<string, string>, string]>) => ({
  status: 'success',
  data: { resultType: 'vector', result: samples.map(([metric, v]) => ({ metric, value: [1893456000.123, v] })) },
});

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/api/v1/query' || req.method !== 'GET') {
      res.writeHead(404).end('404 page not found');
      return;
    }
    const query = u.searchParams.get('query') ?? '';
    seen.push({ query, time: u.searchParams.get('time'), auth: req.headers.authorization });
    const a = answer(query);
    if (a === 'hang') return; // never answers
    if ('raw' in a) {
      res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.raw);
      return;
    }
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  seen.length = 0;
});

const config = (extra: Record<string, unknown> = {}) => ({
  url: base,
  queries: {
    requests: 'sum(increase(http_requests_total{flag="{{flag}}",cohort="{{cohort}}",env="{{environment}}"}[{{window}}]))',
    errors: 'sum(increase(http_requests_total{flag="{{flag}}",cohort="{{cohort}}",code=~"5.."}[{{window}}]))',
  },
  ...extra,
});

/** A fake data set: on has 1,000 requests and 50 errors, off 20,000 and 100. */
function counts(query: string): Answer {
  const cohort = /cohort="(\w+)"/.exec(query)?.[1];
  const errors = query.includes('code=~');
  const n = cohort === 'on' ? (errors ? '50.4' : '1000.2') : errors ? '100' : '19999.6';
  return { body: vector([{}, n]) };
}

describe('Prometheus provider', () => {
  it('queries each cohort through /api/v1/query and returns counts per cohort with the evidence', async () => {
    answer = counts;
    const p = new PrometheusProvider(config({ headers: { authorization: 'Bearer prom' } }));
    const at = new Date('2030-01-01T00:00:00.000Z');
    const r = await p.query({ flag: 'new-checkout', environment: 'production', time: at, windowSeconds: 30 });
    expect(r.at).toBe(at.getTime());
    expect(r.cohorts).toEqual({ on: { requests: 1000, errors: 50 }, off: { requests: 20000, errors: 100 } });
    // Only this query's requests: one an earlier test gave up on (Promise.all rejects at the first
    // failure) may still land after beforeEach cleared `seen`.
    const mine = seen.filter((s) => s.query.includes('flag="new-checkout"'));
    expect(mine).toHaveLength(4);
    expect(mine.every((s) => s.time === '1893456000.000' && s.auth === 'Bearer prom')).toBe(true);
    expect(mine.map((s) => s.query)).toContain('sum(increase(http_requests_total{flag="new-checkout",cohort="on",env="production"}[30s]))');
    expect(r.queries.map((q) => [q.cohort, q.metric, q.value])).toEqual([
      ['off', 'errors', 100],
      ['off', 'requests', 20000],
      ['on', 'errors', 50],
      ['on', 'requests', 1000],
    ]);
  });

  it('an empty vector is 0 (no traffic); a scalar result works; more than one series is refused', async () => {
    answer = (q) => (q.includes('code=~') ? { body: { status: 'success', data: { resultType: 'vector', result: [] } } } : { body: { status: 'success', data: { resultType: 'scalar', result: [1893456000, '7'] } } });
    const p = new PrometheusProvider(config({ cohorts: ['canary', 'stable'] }));
    expect((await p.query({ flag: 'f', environment: 'e' })).cohorts).toEqual({ canary: { requests: 7, errors: 0 }, stable: { requests: 7, errors: 0 } });
    answer = () => ({ body: vector([{ instance: 'a' }, '1'], [{ instance: 'b' }, '2']) });
    await expect(p.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'query', message: expect.stringMatching(/2 series; aggregate it to one with sum/) });
  });

  it('latency: a cumulative `le` histogram becomes the shared bucket layout; above-threshold counts per threshold', async () => {
    // the app's buckets in seconds: 0.05, 0.1, 0.3, 0.35 (not a shared bound), 1, +Inf
    answer = (q) => {
      if (q.includes('le="0.3"')) return { body: vector([{}, '50']) };
      if (q.includes('_bucket')) {
        return {
          body: vector(
            [{ le: '0.05' }, '600'],
            [{ le: '0.1' }, '800'],
            [{ le: '0.3' }, '950'],
            [{ le: '0.35' }, '960'],
            [{ le: '1' }, '990'],
            [{ le: '+Inf' }, '1000'],
          ),
        };
      }
      return counts(q);
    };
    const p = new PrometheusProvider(
      config({
        cohorts: ['on'],
        queries: {
          ...config().queries,
          latencyHistogram: 'sum by (le) (increase(http_request_duration_seconds_bucket{flag="{{flag}}",cohort="{{cohort}}"}[{{window}}]))',
          latencyAbove: 'sum(increase(http_request_duration_seconds_count{cohort="{{cohort}}"}[{{window}}])) - sum(increase(http_request_duration_seconds_bucket{cohort="{{cohort}}",le="{{threshold_s}}"}[{{window}}]))',
        },
        thresholdsMs: [300],
      }),
    );
    const r = await p.query({ flag: 'f', environment: 'e' });
    const h = r.cohorts.on.latency!;
    expect(h).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
    const at = (ms: number) => h[LATENCY_BUCKETS_MS.indexOf(ms)];
    expect(at(50)).toBe(600);
    expect(at(100)).toBe(200);
    expect(at(300)).toBe(150);
    expect(at(400)).toBe(10); // 0.35 s counts as ≤ 400 ms
    expect(at(1000)).toBe(30);
    expect(h[h.length - 1]).toBe(10);
    expect(h.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(r.cohorts.on.above).toEqual({ '300': 50 });
    expect(seen.some((s) => s.query.includes('le="0.3"'))).toBe(true);
  });

  it('Prometheus error answers become PrometheusError with a kind and Prometheus’ reason', async () => {
    const p = new PrometheusProvider(config());
    answer = () => ({ status: 400, body: { status: 'error', errorType: 'bad_data', error: '1:15: parse error: unexpected "}"' } });
    await expect(p.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ name: 'PrometheusError', kind: 'query', status: 400, message: expect.stringMatching(/bad_data.*parse error/) });
    answer = () => ({ status: 422, body: { status: 'error', errorType: 'execution', error: 'query processing would load too many samples' } });
    await expect(p.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'query', status: 422 });
    answer = () => ({ status: 503, body: { status: 'error', errorType: 'unavailable', error: 'TSDB not ready' } });
    await expect(p.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'http', status: 503 });
    answer = () => ({ raw: 'Bad Gateway', status: 502 });
    await expect(p.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'http', status: 502 });
    answer = () => ({ raw: '<html>login</html>', status: 200 });
    await expect(p.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'bad-response' });
    answer = () => ({ body: { status: 'success', data: { resultType: 'matrix', result: [] } } });
    await expect(p.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'query', message: expect.stringMatching(/instant vector or a scalar, not matrix/) });
    answer = () => ({ body: vector([{}, 'NaN']) });
    await expect(p.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'query', message: expect.stringMatching(/gave NaN/) });
    const wrongPath = new PrometheusProvider(config({ url: `${base}/prefix` }));
    await expect(wrongPath.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'http', status: 404 });
  });

  it('a Prometheus that does not answer times out; one that is down is a network error', async () => {
    answer = () => 'hang';
    const p = new PrometheusProvider(config({ timeoutMs: 200 }));
    const started = Date.now();
    await expect(p.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'timeout', message: expect.stringMatching(/within 200 ms/) });
    expect(Date.now() - started).toBeLessThan(3000);
    const down = new PrometheusProvider(config({ url: 'http://127.0.0.1:9' }));
    await expect(down.query({ flag: 'f', environment: 'e' })).rejects.toMatchObject({ kind: 'network' });
    const ctl = new AbortController();
    const pending = p.query({ flag: 'f', environment: 'e', signal: ctl.signal });
    ctl.abort();
    await expect(pending).rejects.toBeInstanceOf(PrometheusError);
  });

  it('config is validated; templates are filled safely', () => {
    expect(() => parsePrometheusConfig({ url: base })).toThrow(/queries/);
    expect(() => parsePrometheusConfig({ ...config(), url: 'ftp://x' })).toThrow(/http/);
    expect(() => parsePrometheusConfig({ ...config(), queries: { ...config().queries, extra: 'x' } })).toThrow(/invalid Prometheus provider config/);
    expect(() => parsePrometheusConfig({ ...config(), timeoutMs: 5 })).toThrow(/timeoutMs/);
    expect(parsePrometheusConfig(config())).toMatchObject({ url: base });
    expect(escapePromQL('a"b\\c')).toBe('a\\"b\\\\c');
    expect(renderTemplate('x{cohort="{{ cohort }}"}[{{window}}]', { cohort: 'on', window: '5s' })).toBe('x{cohort="on"}[5s]');
    expect(() => renderTemplate('{{cohrot}}', { cohort: 'on' })).toThrow(/unknown placeholder \{\{cohrot\}\}/);
  });

  it('label values are escaped in queries', async () => {
    answer = counts;
    const p = new PrometheusProvider(config({ cohorts: ['on'] }));
    await p.query({ flag: 'we"ird\\flag', environment: 'e' });
    expect(seen.find((x) => x.query.includes('ird'))!.query).toContain('flag="we\\"ird\\\\flag"');
  });
});
