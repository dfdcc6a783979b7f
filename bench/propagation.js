#!/usr/bin/env node
// Propagation benchmark: how long a flag change made through the admin API takes to reach
// connected SDKs.
//
// 1. Push: the real server (child process, SQLite in a temp dir, 200 flags from flagset.js) with
//    N raw SSE clients on GET /api/client/streaming, opened by a SEPARATE child process (plain
//    node:http sockets parsing SSE, no EventSource). K admin changes, spaced apart; for every
//    (client, change) the time from the admin API call returning to the client receiving the
//    `unleash-updated` event.
// 2. Polling, for comparison: M official `unleash-client`s with their default polling
//    (refreshInterval 15 s, starts spread over one interval), time from the admin API call
//    returning to each client's `changed` event.
// 3. Server memory: RSS (process_resident_memory_bytes from /metrics) before and with N streams.
//
// Usage: node bench/propagation.js
//   BENCH_STREAM_CLIENTS (default 1000), BENCH_STREAM_CHANGES (20), BENCH_STREAM_SPACING_MS (250),
//   BENCH_POLL_CLIENTS (20), BENCH_POLL_CHANGES (3), BENCH_POLL_INTERVAL_MS (15000; 0 skips polling).
// All traffic is on 127.0.0.1; every child is killed at the end; bounded in time (~1.5 min by default).
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateFlagSet } from './flagset.js';
import { BIN, call, spawnSwitchyard } from './processes.js';

const ENV = 'production';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The server's resident set and V8 heap in use (prom-client's default metrics). */
async function serverMemory(base) {
  const text = await fetch(base + '/metrics').then((r) => r.text());
  const metric = (name) => Number(new RegExp(`^${name}\\s+([0-9.e+]+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: metric('process_resident_memory_bytes'), heap: metric('nodejs_heap_size_used_bytes') };
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] : NaN);
const round = (v) => (Number.isFinite(v) ? Number(v.toFixed(v < 10 ? 2 : 1)) : null);

/** Talks to the SSE client child process over IPC. */
function startClients(url, token, count) {
  const child = fork(fileURLToPath(import.meta.url), ['--sse-clients'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = new Map();
  child.on('message', (m) => {
    const w = waiters.get(m.type);
    if (w) {
      waiters.delete(m.type);
      w(m);
    }
  });
  const ask = (msg, reply, timeoutMs) =>
    new Promise((res, rej) => {
      const t = setTimeout(() => {
        waiters.delete(reply);
        rej(new Error(`SSE client process: no ${reply} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.set(reply, (m) => {
        clearTimeout(t);
        res(m);
      });
      child.send(msg);
    });
  return {
    open: () => ask({ type: 'open', url, token, count }, 'opened', 60_000),
    /** Resolves when every client has its `n`-th update (or after timeoutMs, with what arrived). */
    awaitUpdate: (n, timeoutMs) => ask({ type: 'await', n, timeoutMs }, 'update', timeoutMs + 5000),
    stop: () => {
      child.kill('SIGKILL');
    },
  };
}

/**
 * Runs the propagation benchmark and returns `{rows, memory, notes}`: one row per delivery mode
 * `{mode, clients, changes, samples, 'p50 ms', 'p99 ms', 'max ms', lost}`.
 */
export async function runPropagationBench({
  clients = Number(process.env.BENCH_STREAM_CLIENTS ?? 1000),
  changes = Number(process.env.BENCH_STREAM_CHANGES ?? 20),
  spacingMs = Number(process.env.BENCH_STREAM_SPACING_MS ?? 250),
  warmupChanges = Number(process.env.BENCH_STREAM_WARMUP ?? 2),
  pollClients = Number(process.env.BENCH_POLL_CLIENTS ?? 20),
  pollChanges = Number(process.env.BENCH_POLL_CHANGES ?? 3),
  pollIntervalMs = Number(process.env.BENCH_POLL_INTERVAL_MS ?? 15_000),
  log = console.log,
} = {}) {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: run \`npm run build\` first (npm run bench does).`);
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-prop-'));
  const cleanups = [];
  try {
    const server = await spawnSwitchyard(dataDir, { SWITCHYARD_MAX_STREAMS: '100000' });
    cleanups.push(server.stop);
    const flagSet = generateFlagSet({ count: 200 });
    await call(server.url, 'POST', `/api/admin/import?environment=${ENV}`, flagSet);
    const token = (await call(server.url, 'POST', '/api/admin/tokens', { type: 'backend', environment: ENV, name: 'bench-propagation' })).secret;
    const names = flagSet.features.map((f) => f.name);
    const state = new Map(flagSet.features.map((f) => [f.name, f.enabled]));
    const toggle = async (i) => {
      const name = names[i % names.length];
      const on = !state.get(name);
      state.set(name, on);
      const sent = now();
      await call(server.url, 'POST', `/api/admin/flags/${name}/environments/${ENV}/${on ? 'on' : 'off'}`);
      return { sent, returned: now() };
    };
    // warm up: a few requests so the baseline RSS includes a loaded server
    for (let i = 0; i < 5; i++) await fetch(server.url + '/api/client/features', { headers: { authorization: token } }).then((r) => r.arrayBuffer());
    await sleep(500);
    const before = await serverMemory(server.url);

    // 1. push
    const sse = startClients(server.url, token, clients);
    cleanups.push(async () => sse.stop());
    const opened = await sse.open();
    log(`${opened.connected} SSE clients connected and hydrated in ${opened.ms.toFixed(0)} ms (${opened.failed} failed)`);
    await sleep(1000);
    const withStreams = await serverMemory(server.url);
    const pushLatencies = [];
    const fromSent = [];
    let lost = 0;
    // Warm-up changes (not measured): the first pushes run cold code.
    for (let k = 0; k < warmupChanges; k++) {
      await toggle(500 + k);
      await sse.awaitUpdate(k + 1, 10_000);
      await sleep(spacingMs);
    }
    for (let k = 0; k < changes; k++) {
      const { sent, returned } = await toggle(k);
      const got = await sse.awaitUpdate(warmupChanges + k + 1, 10_000);
      for (const t of got.times) {
        if (t === null) lost++;
        else {
          pushLatencies.push(Math.max(0, t - returned));
          fromSent.push(t - sent);
        }
      }
      await sleep(spacingMs);
    }
    const after = await serverMemory(server.url);
    sse.stop();
    pushLatencies.sort((a, b) => a - b);
    fromSent.sort((a, b) => a - b);
    log(`push: ${pushLatencies.length} samples, p50 ${round(quantile(pushLatencies, 0.5))} ms, p99 ${round(quantile(pushLatencies, 0.99))} ms`);
    const rows = [
      {
        mode: 'SSE push (/api/client/streaming)',
        clients: opened.connected,
        changes,
        samples: pushLatencies.length,
        'p50 ms': round(quantile(pushLatencies, 0.5)),
        'p99 ms': round(quantile(pushLatencies, 0.99)),
        'max ms': round(pushLatencies.at(-1)),
        'p99 ms from request start': round(quantile(fromSent, 0.99)),
        lost,
      },
    ];

    // 2. unleash-client polling
    if (pollIntervalMs > 0 && pollClients > 0 && pollChanges > 0) {
      const { Unleash, InMemStorageProvider } = await import('unleash-client');
      const sdks = [];
      cleanups.push(async () => sdks.forEach((s) => s.destroy()));
      const changedAt = [];
      log(`starting ${pollClients} unleash-client pollers spread over ${pollIntervalMs} ms…`);
      for (let i = 0; i < pollClients; i++) {
        const u = new Unleash({
          url: server.url + '/api/',
          appName: `bench-poll-${i}`,
          customHeaders: { Authorization: token },
          refreshInterval: pollIntervalMs,
          disableMetrics: true,
          storageProvider: new InMemStorageProvider(),
          skipInstanceCountWarning: true,
        });
        u.on('error', () => {});
        u.on('warn', () => {});
        const idx = i;
        changedAt[idx] = [];
        u.on('changed', () => changedAt[idx].push(now()));
        sdks.push(u);
        await new Promise((res) => u.once('synchronized', res));
        await sleep(pollIntervalMs / pollClients);
      }
      const pollLatencies = [];
      let pollLost = 0;
      for (let k = 0; k < pollChanges; k++) {
        const seen = changedAt.map((c) => c.length);
        const { returned } = await toggle(1000 + k);
        const deadline = Date.now() + pollIntervalMs + 5000;
        while (Date.now() < deadline && changedAt.some((c, i) => c.length <= seen[i])) await sleep(20);
        changedAt.forEach((c, i) => {
          if (c.length > seen[i]) pollLatencies.push(Math.max(0, c[seen[i]] - returned));
          else pollLost++;
        });
        log(`polling change ${k + 1}/${pollChanges} seen by all`);
        await sleep(Math.random() * 1000);
      }
      sdks.forEach((s) => s.destroy());
      pollLatencies.sort((a, b) => a - b);
      rows.push({
        mode: `unleash-client polling (refreshInterval ${pollIntervalMs / 1000} s)`,
        clients: pollClients,
        changes: pollChanges,
        samples: pollLatencies.length,
        'p50 ms': round(quantile(pollLatencies, 0.5)),
        'p99 ms': round(quantile(pollLatencies, 0.99)),
        'max ms': round(pollLatencies.at(-1)),
        'p99 ms from request start': null,
        lost: pollLost,
      });
    }

    const mb = (b) => Number((b / 2 ** 20).toFixed(1));
    const perStream = (b) => Number((b / opened.connected / 1024).toFixed(1));
    const memory = {
      streams: opened.connected,
      'server RSS before (MiB)': mb(before.rss),
      'server RSS with streams (MiB)': mb(withStreams.rss),
      'server RSS after changes (MiB)': mb(after.rss),
      'RSS KiB per stream': perStream(withStreams.rss - before.rss),
      'server heap used before (MiB)': mb(before.heap),
      'server heap used with streams (MiB)': mb(withStreams.heap),
      'heap KiB per stream (GC-timing noise)': perStream(withStreams.heap - before.heap),
    };
    log(`memory: ${JSON.stringify(memory)}`);
    const notes =
      `Latency: from the admin API call returning to the client's receipt of the change (clamped at 0 when the push beat the HTTP response), ` +
      `after ${warmupChanges} unmeasured warm-up changes; push clients run in a separate process. ` +
      `Server memory: RSS ${memory['server RSS before (MiB)']} MiB before, ${memory['server RSS with streams (MiB)']} MiB with ${memory.streams} streams ` +
      `(${memory['RSS KiB per stream']} KiB per stream), ${memory['server RSS after changes (MiB)']} MiB after ${changes} changes; ` +
      `Kernel socket buffers are not in RSS; the V8 heap figures in the JSON depend on when the server last collected garbage.`;
    return { rows, memory, notes };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The SSE client process: N raw HTTP/1.1 connections (node:net, a hand-written GET, no http
 * parser or EventSource, so the client side adds as little as possible to what is measured),
 * recording the receipt time of every `unleash-updated` event. The server writes each event in
 * one piece, so scanning each chunk for event lines is exact.
 */
function sseClientProcess() {
  const clients = [];
  let onProgress = () => {};
  const CONNECTED = Buffer.from('event: unleash-connected\n');
  const UPDATED = Buffer.from('event: unleash-updated\n');
  const count = (buf, needle) => {
    let n = 0;
    for (let i = buf.indexOf(needle); i >= 0; i = buf.indexOf(needle, i + needle.length)) n++;
    return n;
  };
  const open = (url, token, index) =>
    new Promise((resolveOpen) => {
      const { hostname, port } = new URL(url);
      const c = { updates: [], hydrated: false, head: true, tail: Buffer.alloc(0) };
      const socket = net.connect(Number(port), hostname);
      socket.setNoDelay(true);
      socket.on('connect', () =>
        socket.write(`GET /api/client/streaming HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: ${token}\r\nAccept: text/event-stream\r\n\r\n`),
      );
      socket.on('data', (chunk) => {
        const at = now();
        // keep a few bytes of the previous chunk so a marker split across chunks is still seen
        const buf = c.tail.length ? Buffer.concat([c.tail, chunk]) : chunk;
        if (c.head) {
          if (!buf.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 200')) {
            socket.destroy();
            return resolveOpen(null);
          }
          c.head = false;
        }
        if (!c.hydrated && buf.indexOf(CONNECTED) >= 0) {
          c.hydrated = true;
          resolveOpen(c);
        }
        const n = count(buf, UPDATED);
        c.tail = buf.subarray(Math.max(0, buf.length - UPDATED.length + 1));
        if (n > 0) {
          for (let i = 0; i < n; i++) c.updates.push(at);
          onProgress();
        }
      });
      socket.on('error', () => resolveOpen(null));
      socket.on('close', () => resolveOpen(null));
      clients[index] = c;
    });

  process.on('message', async (m) => {
    if (m.type === 'open') {
      const t0 = performance.now();
      let failed = 0;
      for (let i = 0; i < m.count; i += 100) {
        const batch = await Promise.all(Array.from({ length: Math.min(100, m.count - i) }, (_, j) => open(m.url, m.token, i + j)));
        failed += batch.filter((c) => c === null).length;
      }
      process.send({ type: 'opened', connected: clients.filter((c) => c?.hydrated).length, failed, ms: performance.now() - t0 });
    } else if (m.type === 'await') {
      const live = clients.filter((c) => c?.hydrated);
      const done = () => live.every((c) => c.updates.length >= m.n);
      await new Promise((res) => {
        const t = setTimeout(res, m.timeoutMs);
        onProgress = () => {
          if (done()) {
            clearTimeout(t);
            res();
          }
        };
        onProgress();
      });
      onProgress = () => {};
      process.send({ type: 'update', times: live.map((c) => c.updates[m.n - 1] ?? null) });
    }
  });
}

function printTable(rows) {
  const cols = Object.keys(rows[0]);
  const cells = rows.map((r) => cols.map((c) => (typeof r[c] === 'number' ? r[c].toLocaleString('en-US') : String(r[c] ?? ''))));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  if (process.argv[2] === '--sse-clients') {
    sseClientProcess();
  } else {
    const result = await runPropagationBench();
    console.log();
    printTable(result.rows);
    console.log('\n' + result.notes);
    console.log('\n' + JSON.stringify(result, null, 2));
  }
}
