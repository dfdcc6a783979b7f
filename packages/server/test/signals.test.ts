/**
 * signals/ on both dialects: cohort outcomes stored per batch from `POST /api/client/metrics`
 * (guarded flags only, validated, token-scoped), the store API for the guardian, retention, the
 * guard registry across replicas and the metrics interval it asks of SDKs (response header and
 * `switchyard-settings` on the stream), and the Alertmanager webhook.
 */
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createProject, putFlag, request, token } from './fixtures.js';
import { SseClient, json } from './sse.js';
import { DEFAULT_BUCKETS_MS } from '../src/releases/guardian/index.js';
import {
  LATENCY_BUCKETS_MS,
  METRICS_INTERVAL_HEADER,
  Signals,
  aggregateCohorts,
  alertSource,
  cohortSource,
  markAlertHandled,
  pruneSignals,
  readAlerts,
  readCohortBatches,
  receiveAlertmanager,
  signalsDb,
  signalsFor,
  type FlagAlert,
} from '../src/signals/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const hist = (at: Record<number, number>) => {
  const h = new Array(20).fill(0);
  for (const [i, n] of Object.entries(at)) h[Number(i)] = n;
  return h;
};

function report(cohorts: unknown, extra: Record<string, unknown> = {}) {
  return {
    appName: 'shop',
    instanceId: 'i-1',
    sdkVersion: 'switchyard-sdk:0.1.0',
    bucket: { start: '2030-01-01T00:00:00.000Z', stop: '2030-01-01T00:00:05.000Z', toggles: { 'sig.guarded': { yes: 3, no: 1, variants: {} } }, cohorts },
    ...extra,
  };
}

/** Real Alertmanager webhook JSON (version 4), as Alertmanager 0.27 sends it. */
function alertmanager(alerts: Array<{ status?: 'firing' | 'resolved'; labels: Record<string, string>; annotations?: Record<string, string> }>, status: 'firing' | 'resolved' = 'firing') {
  return {
    receiver: 'switchyard',
    status,
    alerts: alerts.map((a, i) => ({
      status: a.status ?? status,
      labels: { alertname: 'CheckoutErrors', severity: 'page', ...a.labels },
      annotations: a.annotations ?? { summary: 'checkout 5xx above 2%' },
      startsAt: '2030-01-01T00:00:00.000Z',
      endsAt: a.status === 'resolved' ? '2030-01-01T00:10:00.000Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=rate%28http_requests_total%7Bcode%3D~%225..%22%7D%5B1m%5D%29+%3E+0.02',
      fingerprint: `f${i}${a.labels.flag ?? a.labels.switchyard_flag ?? ''}`,
    })),
    groupLabels: { alertname: 'CheckoutErrors' },
    commonLabels: { alertname: 'CheckoutErrors', severity: 'page' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: '{}:{alertname="CheckoutErrors"}',
    truncatedAlerts: 0,
  };
}

describe('bucket layout', () => {
  it('signals/, the SDK and the guardian use the same latency buckets', async () => {
    const sdk = await import('@switchyard/sdk');
    expect([...LATENCY_BUCKETS_MS]).toEqual([...sdk.LATENCY_BUCKETS_MS]);
    expect([...LATENCY_BUCKETS_MS]).toEqual([...DEFAULT_BUCKETS_MS]);
  });
});

describeEachDialect('signals', (dialect) => {
  let t: TestApp;
  let dev: string;
  let alphaDev: string;
  let signals: Signals;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await createProject(t, 'alpha');
    await putFlag(t, { name: 'sig.guarded', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    await putFlag(t, { name: 'sig.other', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    await putFlag(t, { name: 'sig.alpha', project: 'alpha', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    dev = await token(t, 'backend', 'development');
    alphaDev = await token(t, 'backend', 'development', ['alpha']);
    signals = signalsFor(t.services);
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    signals.setGuards('local', []);
    signals.setGuards('releases', []);
    signals.configure({ storeOutcomes: 'guarded' });
    await signals.flushGuards();
    await signalsDb(t.services.storage.db).deleteFrom('cohort_outcomes').execute();
    await signalsDb(t.services.storage.db).deleteFrom('signal_alerts').execute();
  });

  const outcomes = () => signalsDb(t.services.storage.db).selectFrom('cohort_outcomes').selectAll().orderBy('id').execute();

  describe('cohort outcomes', () => {
    it('stores one row per report per flag and cohort, only for guarded flags, and asks for the faster interval', async () => {
      const body = report({
        'sig.guarded': { on: { requests: 10, errors: 2, latency: hist({ 3: 8, 9: 2 }) }, off: { requests: 90, errors: 1, latency: hist({ 3: 90 }) } },
        'sig.other': { on: { requests: 5, errors: 0, latency: hist({ 0: 5 }) } },
      });
      // nothing guarded: counted by Unleash metrics only, no interval asked
      let res = await request(t, 'POST', '/api/client/metrics', { token: dev, body });
      expect(res.status).toBe(202);
      expect(res.headers[METRICS_INTERVAL_HEADER]).toBeUndefined();
      expect(await outcomes()).toHaveLength(0);

      signals.guard('development', 'sig.guarded');
      res = await request(t, 'POST', '/api/client/metrics', { token: dev, body });
      expect(res.status).toBe(202);
      expect(res.headers[METRICS_INTERVAL_HEADER]).toBe('5000');
      res = await request(t, 'POST', '/api/client/metrics', { token: dev, body: report({ 'sig.guarded': { on: { requests: 4, errors: 0 } } }, { instanceId: 'i-2' }) });
      expect(res.status).toBe(202);
      const rows = await outcomes();
      expect(rows.map((r) => [r.flag, r.cohort, r.instance_id, Number(r.requests), Number(r.errors)])).toEqual([
        ['sig.guarded', 'on', 'i-1', 10, 2],
        ['sig.guarded', 'off', 'i-1', 90, 1],
        ['sig.guarded', 'on', 'i-2', 4, 0],
      ]);
      expect(rows[0]).toMatchObject({ environment: 'development', app_name: 'shop', batch_start: '2030-01-01T00:00:00.000Z', batch_stop: '2030-01-01T00:00:05.000Z' });
      expect(JSON.parse(rows[0].latency)).toEqual(hist({ 3: 8, 9: 2 }));
      expect(JSON.parse(rows[2].latency)).toEqual([]);

      // the store API
      const batches = await readCohortBatches(t.services.storage.db, { flag: 'sig.guarded', environment: 'development', since: new Date(Date.now() - 60_000) });
      expect(batches).toHaveLength(3);
      expect(batches[2]).toMatchObject({ cohort: 'on', instanceId: 'i-2', requests: 4, latency: null });
      const totals = aggregateCohorts(batches);
      expect(totals.on).toMatchObject({ requests: 14, errors: 2, batches: 2, instances: 2, from: '2030-01-01T00:00:00.000Z', to: '2030-01-01T00:00:05.000Z' });
      expect(totals.on.latency).toEqual(hist({ 3: 8, 9: 2 }));
      expect(totals.off).toMatchObject({ requests: 90, errors: 1, batches: 1, instances: 1 });
      expect(await readCohortBatches(t.services.storage.db, { flag: 'sig.guarded', environment: 'development', since: new Date(Date.now() - 60_000), cohorts: ['off'] })).toHaveLength(1);
      expect(await readCohortBatches(t.services.storage.db, { flag: 'sig.guarded', environment: 'production', since: new Date(0) })).toHaveLength(0);
      expect(await readCohortBatches(t.services.storage.db, { flag: 'sig.guarded', environment: 'development', since: new Date(0), until: new Date(0) })).toHaveLength(0);

      // the admin read API
      const read = await request(t, 'GET', `/api/admin/signals/outcomes?flag=sig.guarded&environment=development&since=${new Date(Date.now() - 60_000).toISOString()}&batches=true`, { token: ADMIN });
      expect(read.status).toBe(200);
      expect(read.body.cohorts.on.requests).toBe(14);
      expect(read.body.bucketsMs).toEqual([...LATENCY_BUCKETS_MS]);
      expect(read.body.batches).toHaveLength(3);
    });

    it('an environment-wide guard (the runner’s registry) stores every flag; storeOutcomes=all too; the token’s projects still apply', async () => {
      signals.set('releases', new Map([['development', 2000]]));
      const body = report({ 'sig.other': { on: { requests: 5, errors: 0 } }, 'sig.alpha': { off: { requests: 7, errors: 0 } }, 'sig.unknown': { on: { requests: 1, errors: 0 } }, 'sig.guarded': { on: { requests: 0, errors: 0 } } });
      const res = await request(t, 'POST', '/api/client/metrics', { token: dev, body });
      expect(res.headers[METRICS_INTERVAL_HEADER]).toBe('2000');
      expect((await outcomes()).map((r) => r.flag)).toEqual(['sig.alpha', 'sig.other']); // unknown flags and empty cohorts are not stored
      signals.set('releases', new Map());
      signals.configure({ storeOutcomes: 'all' });
      await request(t, 'POST', '/api/client/metrics', { token: alphaDev, body });
      expect((await outcomes()).map((r) => r.flag)).toEqual(['sig.alpha', 'sig.other', 'sig.alpha']);
    });

    it('refuses bad cohort shapes with 400 problem+json and stores nothing of the report; plain Unleash bodies pass', async () => {
      signals.guard('development', 'sig.guarded');
      const before = await t.services.storage.db.selectFrom('flag_metrics').select(['yes']).where('flag', '=', 'sig.guarded').execute();
      const bad: Array<[unknown, RegExp]> = [
        [{ 'sig.guarded': { on: { requests: -1, errors: 0 } } }, /requests/],
        [{ 'sig.guarded': { on: { requests: 3, errors: 4 } } }, /errors \(4\) exceed requests \(3\)/],
        [{ 'sig.guarded': { on: { requests: 3, errors: 0, latency: [1, 2] } } }, /latency/],
        [{ 'sig.guarded': { on: { requests: 3, errors: 0, latency: hist({ 0: 4 }) } } }, /histogram counts 4 requests/],
        [{ 'sig.guarded': { on: 'lots' } }, /cohorts/],
        [['sig.guarded'], /cohorts/],
        [{ 'sig.guarded': { on: { requests: 1.5, errors: 0 } } }, /requests/],
      ];
      for (const [cohorts, detail] of bad) {
        const res = await request(t, 'POST', '/api/client/metrics', { token: dev, body: report(cohorts) });
        expect(res.status, JSON.stringify(cohorts)).toBe(400);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body.detail).toMatch(detail);
      }
      expect(await outcomes()).toHaveLength(0);
      const after = await t.services.storage.db.selectFrom('flag_metrics').select(['yes']).where('flag', '=', 'sig.guarded').execute();
      expect(after).toEqual(before);
      // an Unleash SDK's body, with fields we do not know, is accepted as before
      const unleash = { appName: 'u', instanceId: 'x', environment: 'development', platformName: 'node', bucket: { start: Date.now(), stop: Date.now(), toggles: { 'sig.guarded': { yes: 1, no: 0, variants: { a: 1 } } }, extra: 1 } };
      expect((await request(t, 'POST', '/api/client/metrics', { token: dev, body: unleash })).status).toBe(202);
    });

    it('startedAfter drops batches about traffic before an instant, whatever the SDK clock says', async () => {
      signals.guard('development', 'sig.guarded');
      const now = Date.now();
      // SDK clock one hour behind: a 5 s batch and a 60 s batch, both received now
      const stamp = (spanMs: number) => ({ start: new Date(now - 3_600_000 - spanMs).toISOString(), stop: new Date(now - 3_600_000).toISOString() });
      for (const [span, inst] of [[5_000, 'short'], [60_000, 'long']] as const) {
        const body = report({ 'sig.guarded': { on: { requests: 1, errors: 0 } } }, { instanceId: inst });
        Object.assign(body.bucket, stamp(span));
        await request(t, 'POST', '/api/client/metrics', { token: dev, body });
      }
      const kept = await readCohortBatches(t.services.storage.db, { flag: 'sig.guarded', environment: 'development', since: new Date(now - 60_000), startedAfter: new Date(now - 10_000) });
      expect(kept.map((b) => b.instanceId)).toEqual(['short']);

      // the runner's CohortSource: [cursor, now − settle), cursor = the window's end
      const source = cohortSource(t.services.storage.db, { settleMs: 0 });
      const r1 = await source.read({ flag: 'sig.guarded', environment: 'development', cursor: null, since: new Date(now - 10_000).toISOString(), now: Date.now() + 1 });
      expect(r1.batches).toBe(1);
      expect(r1.cohorts.on.requests).toBe(1);
      const r2 = await source.read({ flag: 'sig.guarded', environment: 'development', cursor: r1.cursor, since: new Date(now - 10_000).toISOString(), now: Date.now() + 2 });
      expect(r2.batches).toBe(0);
    });

    it('prunes rows past their retention', async () => {
      const db = signalsDb(t.services.storage.db);
      const row = (receivedAt: string) => ({
        flag: 'sig.guarded',
        environment: 'development',
        cohort: 'on',
        app_name: 'a',
        instance_id: 'i',
        batch_start: receivedAt,
        batch_stop: receivedAt,
        requests: 1,
        errors: 0,
        latency: '[]',
        received_at: receivedAt,
      });
      await db.insertInto('cohort_outcomes').values([row(new Date(Date.now() - 8 * 86_400_000).toISOString()), row(new Date().toISOString())]).execute();
      const pruned = await pruneSignals(t.services.storage.db, signals.options);
      expect(pruned.outcomes).toBe(1);
      expect(await outcomes()).toHaveLength(1);
    });
  });

  describe('guards and the metrics interval', () => {
    it('guards reach other replicas through the database and expire when their owner stops renewing them', async () => {
      // a second Signals on the same database plays another replica
      const other = new Signals(t.services, { guardTtlMs: 60_000, guardPollMs: 0 });
      expect(await other.requestedMetricsInterval('development')).toBeUndefined();
      signals.setGuards('releases', [
        { environment: 'development', flag: 'sig.guarded', metricsIntervalMs: 3000 },
        { environment: 'development', flag: 'sig.other' },
        { environment: 'production', flag: 'x', metricsIntervalMs: 10 }, // clamped to 1 s
      ]);
      await signals.flushGuards();
      expect(await other.requestedMetricsInterval('development', { fresh: true })).toBe(3000);
      expect(await other.requestedMetricsInterval('production', { fresh: true })).toBe(1000);
      expect([...(await other.guardedFlags('development', { fresh: true })).keys()].sort()).toEqual(['sig.guarded', 'sig.other']);
      signals.setGuards('releases', [{ environment: 'development', flag: 'sig.other' }]);
      await signals.flushGuards();
      expect(await other.requestedMetricsInterval('development', { fresh: true })).toBe(5000);
      expect(await other.requestedMetricsInterval('production', { fresh: true })).toBeUndefined();

      // rows of a process that died are ignored after their expiry
      await signalsDb(t.services.storage.db)
        .insertInto('signal_guards')
        .values({ owner: 'dead', requester: 'releases', environment: 'staging', flag: '*', interval_ms: 2000, expires_at: new Date(Date.now() - 1).toISOString() })
        .execute();
      expect(await other.requestedMetricsInterval('staging', { fresh: true })).toBeUndefined();
      other.close();
    });

    it('a guard source (e.g. the plans table) counts too; a failing source keeps its last answer', async () => {
      let fail = false;
      const remove = signals.addGuardSource((env) => {
        if (fail) throw new Error('database hiccup');
        return env === 'development' ? [{ flag: 'sig.alpha', metricsIntervalMs: 4000 }] : [];
      });
      try {
        expect(await signals.requestedMetricsInterval('development', { fresh: true })).toBe(4000);
        fail = true;
        expect(await signals.requestedMetricsInterval('development', { fresh: true })).toBe(4000);
      } finally {
        remove();
      }
      expect(await signals.requestedMetricsInterval('development', { fresh: true })).toBeUndefined();
    });

    it('@switchyard/sdk streams get switchyard-settings at connect and when guards change; other SDKs never', async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(t.app.server.address() as net.AddressInfo).port}`;
      const sy = await SseClient.open(`${base}/api/client/streaming`, { authorization: dev, 'unleash-sdk': 'switchyard-sdk:0.1.0' });
      const un = await SseClient.open(`${base}/api/client/streaming`, { authorization: dev, 'unleash-sdk': 'unleash-node-sdk:6.12.1' });
      try {
        const first = await sy.nth(0);
        expect(first.event).toBe('switchyard-settings');
        expect(json(first)).toEqual({ metricsIntervalMs: null });
        expect((await sy.nth(1)).event).toBe('unleash-connected');
        signals.guard('development', 'sig.guarded');
        expect(json(await sy.nth(2))).toEqual({ metricsIntervalMs: 5000 });
        signals.guard('development', 'sig.other', { metricsIntervalMs: 2000 });
        expect(json(await sy.nth(3))).toEqual({ metricsIntervalMs: 2000 });
        // a flag change still arrives as before
        await putFlag(t, { name: 'sig.new', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
        expect((await sy.nth(4)).event).toBe('unleash-updated');
        signals.setGuards('local', []);
        expect(json(await sy.nth(5))).toEqual({ metricsIntervalMs: null });
        // a new connection while guarded starts with the interval
        signals.guard('development', 'sig.guarded');
        const again = await SseClient.open(`${base}/api/client/streaming`, { authorization: dev, 'x-switchyard-sdk': '1' });
        try {
          expect(json(await again.nth(0))).toEqual({ metricsIntervalMs: 5000 });
        } finally {
          again.close();
        }
        // another replica's guard (a row in signal_guards) reaches this replica's streams by its poll
        expect(json(await sy.nth(6))).toEqual({ metricsIntervalMs: 5000 });
        signals.setGuards('local', []);
        expect(json(await sy.nth(7))).toEqual({ metricsIntervalMs: null });
        await signalsDb(t.services.storage.db)
          .insertInto('signal_guards')
          .values({ owner: 'other-replica', requester: 'releases', environment: 'development', flag: '*', interval_ms: 3000, expires_at: new Date(Date.now() + 60_000).toISOString() })
          .execute();
        try {
          expect(json(await sy.nth(8, 8000))).toEqual({ metricsIntervalMs: 3000 });
        } finally {
          await signalsDb(t.services.storage.db).deleteFrom('signal_guards').where('owner', '=', 'other-replica').execute();
        }
        await sleep(100);
        expect(un.events.map((e) => e.event)).toEqual(['unleash-connected', 'unleash-updated']);
      } finally {
        sy.close();
        un.close();
      }
    });
  });

  describe('Alertmanager webhook', () => {
    it('stores every alert and hands the firing flag alerts to onAlert handlers, at once', async () => {
      const heard: FlagAlert[] = [];
      const off = signals.onAlert((a) => {
        heard.push(a);
      });
      try {
        const body = alertmanager([
          { labels: { flag: 'sig.guarded', environment: 'development' } },
          { labels: { switchyard_flag: 'sig.other' } },
          { labels: { service: 'checkout' } },
          { labels: { flag: 'sig.nope' } },
          { labels: { flag: 'sig.guarded', environment: 'nowhere' } },
          { status: 'resolved', labels: { flag: 'sig.guarded', environment: 'development' } },
        ]);
        const res = await request(t, 'POST', '/api/signals/alertmanager', { token: `Bearer ${ADMIN}`, body });
        expect(res.status).toBe(200);
        expect(res.body.received).toBe(6);
        expect(res.body.alerts.map((a: { outcome: string }) => a.outcome)).toEqual(['emitted', 'emitted', 'no-flag', 'unknown-flag', 'unknown-environment', 'resolved']);
        // every handler (ours, and the releases service's) ran for both alerts before the answer
        expect(res.body.handlers).toEqual({ handled: 2 * signals.alertHandlerCount, failed: 0 });
        expect(heard.map((a) => [a.flag, a.environment, a.alertname])).toEqual([
          ['sig.guarded', 'development', 'CheckoutErrors'],
          ['sig.other', null, 'CheckoutErrors'],
        ]);
        expect(heard[0]).toMatchObject({ source: 'alertmanager', annotations: { summary: 'checkout 5xx above 2%' }, startsAt: '2030-01-01T00:00:00.000Z', fingerprint: 'f0sig.guarded' });
        expect(heard[0].id).toBe(res.body.alerts[0].id);
        const stored = await readAlerts(t.services.storage.db);
        expect(stored).toHaveLength(6);
        expect(stored[0]).toMatchObject({ flag: 'sig.guarded', environment: 'development', status: 'firing', outcome: 'emitted' });
        expect(stored[5]).toMatchObject({ status: 'resolved', outcome: 'resolved' });
        const listed = await request(t, 'GET', '/api/admin/signals/alerts?flag=sig.guarded', { token: ADMIN });
        expect(listed.body.alerts).toHaveLength(3);
      } finally {
        off();
      }
    });

    it('the table for a runner that was down: unhandled alerts, markAlertHandled, the firing ones (AlertSource)', async () => {
      // A Signals of its own: no handler marks anything (as when the process died before acting).
      const lone = new Signals(t.services, { guardPollMs: 0 });
      const failing = lone.onAlert(() => {
        throw new Error('runner busy');
      });
      const db = t.services.storage.db;
      const poster = { kind: 'admin' as const, name: 'test', environment: null };
      const r = await receiveAlertmanager(db, lone, alertmanager([{ labels: { flag: 'sig.guarded', environment: 'development' } }, { labels: { switchyard_flag: 'sig.other' } }, { labels: { flag: 'sig.alpha' } }]) as never, poster, null);
      expect(r.handlers).toEqual({ handled: 0, failed: 3 });
      failing();
      const unhandled = await readAlerts(db, { unhandled: true, environment: 'development' });
      expect(unhandled.map((a) => a.flag)).toEqual(['sig.guarded', 'sig.other', 'sig.alpha']); // null environment: every environment
      expect(await markAlertHandled(db, unhandled[2].id, 'plan p1 rolled back')).toBe(true);
      expect(await markAlertHandled(db, unhandled[2].id, 'again')).toBe(false);
      const after = await readAlerts(db, { unhandled: true });
      expect(after.map((a) => a.flag)).toEqual(['sig.guarded', 'sig.other']);
      expect((await readAlerts(db, { flag: 'sig.alpha' }))[0]).toMatchObject({ handledNote: 'plan p1 rolled back' });

      // AlertSource: firing now — a later resolved notification of the same alert ends it
      const firing = await alertSource(db).firing();
      expect(firing.map((a) => [a.name, a.flag, a.environment, a.summary])).toEqual([
        ['CheckoutErrors', 'sig.guarded', 'development', 'checkout 5xx above 2%'],
        ['CheckoutErrors', 'sig.other', undefined, 'checkout 5xx above 2%'],
        ['CheckoutErrors', 'sig.alpha', undefined, 'checkout 5xx above 2%'],
      ]);
      const resolved = alertmanager([{ status: 'resolved', labels: { switchyard_flag: 'sig.other' } }], 'resolved');
      resolved.alerts[0].fingerprint = 'f1sig.other';
      await receiveAlertmanager(db, lone, resolved as never, poster, null);
      expect((await alertSource(db).firing()).map((a) => a.flag)).toEqual(['sig.guarded', 'sig.alpha']);
      lone.close();
    });

    it('a failing handler fails nothing else: the answer is 200 and the alert is stored', async () => {
      const off = signals.onAlert(() => {
        throw new Error('runner busy');
      });
      try {
        const res = await request(t, 'POST', '/api/signals/alertmanager?environment=development', { token: ADMIN, body: alertmanager([{ labels: { flag: 'sig.guarded' } }]) });
        expect(res.status).toBe(200);
        expect(res.body.handlers.failed).toBe(1);
        expect(res.body.alerts[0]).toMatchObject({ environment: 'development', outcome: 'emitted' });
        expect(await readAlerts(t.services.storage.db)).toHaveLength(1);
      } finally {
        off();
      }
    });

    it('signal tokens: least privilege, optionally bound to one environment; Bearer, raw or Basic', async () => {
      const created = await request(t, 'POST', '/api/admin/signal-tokens', { token: ADMIN, body: { name: 'alertmanager-dev', environment: 'development' } });
      expect(created.status).toBe(201);
      const secret: string = created.body.secret;
      expect(secret).toMatch(/^sig_/);
      const any = (await request(t, 'POST', '/api/admin/signal-tokens', { token: ADMIN, body: { name: 'alertmanager' } })).body.secret as string;
      expect((await request(t, 'POST', '/api/admin/signal-tokens', { token: ADMIN, body: { name: 'x', environment: 'nowhere' } })).status).toBe(400);
      const list = await request(t, 'GET', '/api/admin/signal-tokens', { token: ADMIN });
      expect(list.body.tokens.map((x: { name: string }) => x.name)).toEqual(['alertmanager-dev', 'alertmanager']);
      expect(JSON.stringify(list.body)).not.toContain(secret);

      const post = (tok: string | undefined, body: unknown, query = '') =>
        request(t, 'POST', `/api/signals/alertmanager${query}`, { ...(tok === undefined ? {} : { token: tok }), body });
      const basic = `Basic ${Buffer.from(`alertmanager:${secret}`).toString('base64')}`;
      let res = await post(basic, alertmanager([{ labels: { flag: 'sig.guarded' } }]));
      expect(res.status).toBe(200);
      expect(res.body.alerts[0]).toMatchObject({ environment: 'development', outcome: 'emitted' });
      res = await post(`Bearer ${secret}`, alertmanager([{ labels: { flag: 'sig.guarded', environment: 'production' } }]));
      expect(res.body.alerts[0].outcome).toBe('forbidden-environment');
      expect((await post(secret, alertmanager([{ labels: { flag: 'sig.guarded' } }]), '?environment=production')).status).toBe(400);
      res = await post(any, alertmanager([{ labels: { flag: 'sig.guarded', environment: 'production' } }]));
      expect(res.body.alerts[0]).toMatchObject({ environment: 'production', outcome: 'emitted' });

      // refused: no token, a wrong one, an SDK token; a signal token is good for nothing else
      expect((await post(undefined, alertmanager([]))).status).toBe(401);
      expect((await post('sig_wrong', alertmanager([]))).status).toBe(401);
      const sdkRes = await post(dev, alertmanager([]));
      expect(sdkRes.status).toBe(403);
      expect(sdkRes.headers['content-type']).toMatch(/problem\+json/);
      expect((await request(t, 'GET', '/api/admin/signal-tokens', { token: secret })).status).toBe(401);
      expect((await request(t, 'GET', '/api/client/features', { token: secret })).status).toBe(401);

      const usedAt = (await request(t, 'GET', '/api/admin/signal-tokens', { token: ADMIN })).body.tokens[0].lastUsedAt;
      expect(usedAt).not.toBeNull();
      expect((await request(t, 'DELETE', `/api/admin/signal-tokens/${created.body.id}`, { token: ADMIN })).status).toBe(204);
      expect((await request(t, 'DELETE', `/api/admin/signal-tokens/${created.body.id}`, { token: ADMIN })).status).toBe(404);
      expect((await post(secret, alertmanager([]))).status).toBe(401);
      const audit = await t.services.storage.db.selectFrom('events').select('type').where('type', 'like', 'signal-token-%').execute();
      expect(audit.map((e) => e.type).sort()).toEqual(['signal-token-created', 'signal-token-created', 'signal-token-deleted']);
    });

    it('refuses bodies that are not Alertmanager webhooks with 400 problem+json, storing nothing', async () => {
      const good = alertmanager([{ labels: { flag: 'sig.guarded' } }]);
      const bad: unknown[] = [
        {},
        { ...good, alerts: 'x' },
        { ...good, status: 'burning' },
        { ...good, version: undefined },
        { ...good, alerts: [{ ...good.alerts[0], status: 'maybe' }] },
        { ...good, alerts: [{ ...good.alerts[0], labels: { flag: 42 } }] },
        { ...good, alerts: [{ ...good.alerts[0], labels: undefined }] },
        [good],
      ];
      for (const body of bad) {
        const res = await request(t, 'POST', '/api/signals/alertmanager', { token: ADMIN, body });
        expect(res.status, JSON.stringify(body).slice(0, 100)).toBe(400);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body.detail).toMatch(/Invalid/);
      }
      const notJson = await t.app.inject({ method: 'POST', url: '/api/signals/alertmanager', headers: { authorization: ADMIN, 'content-type': 'application/json' }, payload: '{"version":' });
      expect(notJson.statusCode).toBe(400);
      expect(await readAlerts(t.services.storage.db)).toHaveLength(0);
    });
  });
});
