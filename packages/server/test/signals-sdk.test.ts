/**
 * End to end in one process, over real HTTP: an app server using `@switchyard/sdk`'s request
 * middleware serves traffic; its SDK reports cohort outcomes to a real Switchyard server, which
 * stores them per batch while the flag is guarded. The report interval follows the server: it
 * drops to the guarded interval when a guard starts (stream push, or the metrics response header
 * for a polling SDK) and returns to the app's when it ends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardClient } from '@switchyard/sdk/node';
import { withSwitchyard } from '@switchyard/sdk/middleware';
import { createTestApp, type TestApp } from './harness.js';
import { putFlag, token } from './fixtures.js';
import { aggregateCohorts, readCohortBatches, signalsFor } from '../src/signals/index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

describe('SDK cohort outcomes reach the server', () => {
  let t: TestApp;
  let url: string;
  let backend: string;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    // 50 % of users get the new path
    await putFlag(t, {
      name: 'new-search',
      environments: { development: { enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'userId', groupId: 'new-search' } }] } },
    });
    backend = await token(t, 'backend', 'development');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
    await t?.close();
  });

  async function appServer(sdk: SwitchyardClient) {
    const server = http.createServer(
      withSwitchyard(async (req, res) => {
        const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? 'anon';
        const on = sdk.isEnabled('new-search', { userId: user });
        await sleep(on ? 30 : 1);
        res.statusCode = on && user.endsWith('7') ? 500 : 200; // the new path fails for users ending in 7
        res.end(on ? 'new' : 'old');
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('streaming SDK: the guard brings the interval down to the guarded one; outcomes are stored per batch and per cohort', async () => {
    const signals = signalsFor(t.services);
    const sdk = new SwitchyardClient({ url, token: backend, appName: 'search-api', instanceId: 'search-1', logger: silent, metricsIntervalMs: 60_000 });
    closers.push(() => sdk.close());
    await sdk.ready();
    const app = await appServer(sdk);
    await sleep(100);
    expect(sdk.reportingIntervalMs).toBe(60_000);

    signals.guard('development', 'new-search', { metricsIntervalMs: 1000 });
    await eventually(() => sdk.reportingIntervalMs === 1000);

    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const expected = { on: { requests: 0, errors: 0 }, off: { requests: 0, errors: 0 } };
    for (const round of [0, 1]) {
      const answers = await Promise.all(users.map((u) => fetch(`${app}/search?user=${u}`).then(async (r) => ({ u, status: r.status, body: await r.text() }))));
      for (const a of answers) {
        const c = a.body === 'new' ? expected.on : expected.off;
        c.requests++;
        if (a.status >= 500) c.errors++;
      }
      if (round === 0) await sleep(1300); // a report in between: at least two batches
    }
    expect(expected.on.requests).toBeGreaterThan(10);
    expect(expected.off.requests).toBeGreaterThan(10);
    expect(expected.on.errors).toBeGreaterThan(0);

    const since = new Date(Date.now() - 60_000);
    const totals = await eventually(async () => {
      const rows = await readCohortBatches(t.services.storage.db, { flag: 'new-search', environment: 'development', since });
      const agg = aggregateCohorts(rows);
      return agg.on?.requests === expected.on.requests && agg.off?.requests === expected.off.requests ? { rows, agg } : undefined;
    });
    expect(totals.agg.on.errors).toBe(expected.on.errors);
    expect(totals.agg.off.errors).toBe(0);
    expect(new Set(totals.rows.map((r) => r.batchStart)).size).toBeGreaterThanOrEqual(2);
    expect(totals.rows.every((r) => r.appName === 'search-api' && r.instanceId === 'search-1')).toBe(true);
    // latency: the new path sleeps 30 ms, so its requests sit above the 25 ms bound; the old path's below
    const above25 = (h: number[]) => h.slice(3).reduce((a, b) => a + b, 0);
    expect(above25(totals.agg.on.latency)).toBe(expected.on.requests);
    expect(above25(totals.agg.off.latency)).toBeLessThan(expected.off.requests);

    signals.unguard('development', 'new-search');
    await eventually(() => sdk.reportingIntervalMs === 60_000);
  });

  it('polling SDK: the metrics response header sets the interval, and its absence restores the app’s', async () => {
    const signals = signalsFor(t.services);
    const sdk = new SwitchyardClient({ url, token: backend, appName: 'poller', logger: silent, streaming: false, metricsIntervalMs: 60_000 });
    closers.push(() => sdk.close());
    await sdk.ready();
    signals.guard('development', 'new-search', { metricsIntervalMs: 2000 });
    sdk.isEnabled('new-search', { userId: 'x' });
    await sdk.flushMetrics();
    expect(sdk.reportingIntervalMs).toBe(2000);
    signals.unguard('development', 'new-search');
    sdk.isEnabled('new-search', { userId: 'x' });
    await sdk.flushMetrics();
    expect(sdk.reportingIntervalMs).toBe(60_000);
  });
});
