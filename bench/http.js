#!/usr/bin/env node
// HTTP benchmark: the real Switchyard server (child process, SQLite in a temp dir, 200 flags from
// flagset.js) under autocannon, next to a bare Fastify hello-world on the same machine.
// Usage: node bench/http.js   (BENCH_DURATION seconds per scenario, default 10; BENCH_CONNECTIONS, default 50;
// BENCH_WARMUP seconds of unmeasured load before each scenario, default 1)
// Traffic goes only to 127.0.0.1; every child is killed at the end.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { contextFor, generateFlagSet } from './flagset.js';
import { BIN, call, freePort, spawnServer, spawnSwitchyard } from './processes.js';

const ENV = 'production';

/** Bytes of the response body as sent (fetch would decompress it). */
function wireSize(url, headers) {
  return new Promise((res, rej) => {
    const req = httpGet(url, { headers }, (response) => {
      let bytes = 0;
      response.on('data', (d) => (bytes += d.length));
      response.on('end', () => res({ bytes, encoding: response.headers['content-encoding'] }));
      response.on('error', rej);
    });
    req.on('error', rej);
  });
}

/** One autocannon run; returns the numbers we report and the status codes seen. */
function load(url, { headers = {}, setupRequest, duration, connections }) {
  return new Promise((res, rej) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration,
        headers,
        requests: setupRequest ? [{ setupRequest }] : undefined,
        timeout: 10,
      },
      (err, result) => (err ? rej(err) : res(result)),
    );
    // autocannon installs no signal handlers in programmatic mode; stop cleanly on Ctrl-C.
    process.once('SIGINT', () => instance.stop());
  });
}

/**
 * Runs the HTTP benchmark and returns one row per scenario:
 * `{scenario, status, 'req/s', 'p99 ms', 'mean ms', 'vs hello-world', 'other statuses/errors'}`
 * ('vs hello-world' is against the mean of the hello-world runs before and after).
 */
export async function runHttpBench({
  duration = Number(process.env.BENCH_DURATION ?? 10),
  connections = Number(process.env.BENCH_CONNECTIONS ?? 50),
  warmup = Number(process.env.BENCH_WARMUP ?? 1),
  flags = 200,
  log = console.log,
} = {}) {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: run \`npm run build\` first (npm run bench does).`);
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const stops = [];
  try {
    const sw = await spawnSwitchyard(dataDir);
    const hPort = await freePort();
    stops.push(sw.stop);
    const hello = await spawnServer('hello-world', [fileURLToPath(import.meta.url), '--hello-world', String(hPort)], {}, hPort, '/');
    stops.push(hello.stop);

    // Set up: an environment, 200 flags, a backend and a frontend token.
    const envs = await call(sw.url, 'GET', '/api/admin/environments');
    if (!envs.environments.some((e) => e.name === ENV)) await call(sw.url, 'POST', '/api/admin/environments', { name: ENV, type: 'production' });
    const flagSet = generateFlagSet({ count: flags });
    await call(sw.url, 'POST', `/api/admin/import?environment=${ENV}`, flagSet);
    const backend = (await call(sw.url, 'POST', '/api/admin/tokens', { type: 'backend', environment: ENV, name: 'bench-backend' })).secret;
    const frontend = (await call(sw.url, 'POST', '/api/admin/tokens', { type: 'frontend', environment: ENV, name: 'bench-frontend' })).secret;

    const featuresUrl = sw.url + '/api/client/features';
    const gzipHeaders = { authorization: backend, 'accept-encoding': 'gzip', 'unleash-appname': 'bench', 'unleash-client-spec': '5.2.0' };
    const first = await fetch(featuresUrl, { headers: gzipHeaders });
    const body = await first.arrayBuffer(); // fetch decompresses: this is the JSON size
    const etag = first.headers.get('etag');
    const wire = await wireSize(featuresUrl, gzipHeaders);
    if (first.status !== 200) throw new Error(`GET /api/client/features → ${first.status}`);
    if (!etag) throw new Error('GET /api/client/features sent no ETag');
    const notModified = await fetch(featuresUrl, { headers: { ...gzipHeaders, 'if-none-match': etag } });
    await notModified.arrayBuffer();
    if (notModified.status !== 304) throw new Error(`If-None-Match with the current ETag → ${notModified.status}, expected 304`);
    log(
      `payload: ${flagSet.features.length} flags, ${body.byteLength} bytes of JSON, ${wire.bytes} bytes on the wire` +
        ` (content-encoding: ${wire.encoding ?? 'identity'}), ETag ${etag}`,
    );

    let n = 0;
    const frontendPath = () => {
      const ctx = contextFor(n++);
      const q = new URLSearchParams({ userId: ctx.userId, sessionId: ctx.sessionId, appName: 'bench' });
      for (const [k, v] of Object.entries(ctx.properties)) q.set(`properties[${k}]`, v);
      return `/api/frontend?${q}`;
    };
    const frontendCheck = await fetch(sw.url + frontendPath(), { headers: { authorization: frontend } });
    const frontendBody = await frontendCheck.json();
    if (frontendCheck.status !== 200) throw new Error(`GET /api/frontend → ${frontendCheck.status}: ${JSON.stringify(frontendBody)}`);

    const scenarios = [
      { scenario: 'hello-world (bare Fastify)', expect: 200, url: hello.url + '/', headers: {} },
      { scenario: 'GET /api/client/features (200, gzip)', expect: 200, url: featuresUrl, headers: gzipHeaders },
      { scenario: 'GET /api/client/features (If-None-Match → 304)', expect: 304, url: featuresUrl, headers: { ...gzipHeaders, 'if-none-match': etag } },
      {
        scenario: `GET /api/frontend?userId=… (evaluates ${frontendBody.toggles?.length ?? '?'} enabled of ${flags})`,
        expect: 200,
        url: sw.url + '/api/frontend',
        headers: { authorization: frontend, 'accept-encoding': 'gzip' },
        setupRequest: (req) => ({ ...req, path: frontendPath() }),
      },
    ];

    // Hello-world runs first and last; the ratio is against their mean, so drift on a shared
    // machine shows up instead of skewing every ratio one way.
    scenarios.push({ ...scenarios[0], scenario: 'hello-world (bare Fastify, again at the end)' });
    const results = [];
    for (const s of scenarios) {
      if (warmup > 0) await load(s.url, { headers: s.headers, setupRequest: s.setupRequest, duration: warmup, connections });
      log(`running ${s.scenario} for ${duration} s with ${connections} connections…`);
      const r = await load(s.url, { headers: s.headers, setupRequest: s.setupRequest, duration, connections });
      results.push({ s, r });
    }
    const helloRuns = results.filter(({ s }) => s.url === hello.url + '/').map(({ r }) => r.requests.average);
    const baseline = helloRuns.reduce((a, b) => a + b, 0) / helloRuns.length;
    const rows = results.map(({ s, r }) => {
      const byClass = { 200: r['2xx'], 304: r['3xx'] };
      const good = byClass[s.expect] ?? 0;
      return {
        scenario: s.scenario,
        status: s.expect,
        'req/s': Math.round(r.requests.average),
        'p99 ms': r.latency.p99,
        'mean ms': Number(r.latency.mean.toFixed(2)),
        'vs hello-world': Number((r.requests.average / baseline).toFixed(3)),
        'other statuses/errors': (r.requests.total ? r.requests.total - good : 0) + r.errors + r.timeouts,
      };
    });
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function printTable(rows) {
  const cols = Object.keys(rows[0]);
  const cells = rows.map((r) => cols.map((c) => (typeof r[c] === 'number' ? r[c].toLocaleString('en-US') : String(r[c]))));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}

async function helloWorld(port) {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.get('/', async () => ({ hello: 'world' }));
  await app.listen({ port, host: '127.0.0.1' });
  process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  if (process.argv[2] === '--hello-world') {
    await helloWorld(Number(process.argv[3]));
  } else {
    const rows = await runHttpBench();
    console.log();
    printTable(rows);
    console.log('\n' + JSON.stringify(rows, null, 2));
  }
}
