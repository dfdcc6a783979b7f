import { afterEach, expect, it } from 'vitest';
import type { BuiltApp } from '../src/index.js';
import { api, testDatabase, type TestDatabase } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { DEFAULT_DELIVERY, DeliveryWorker } from '../src/events/sinks/worker.js';
import { FAST, Receiver, sleep, startServer, waitFor } from './sinks-helpers.js';

const P = '/api/admin/projects/default/sinks';

describeEachDialect('notification delivery queue', (dialect) => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });

  /** A place, a server on it, a receiver, and flag `f`. */
  async function setup(delivery = FAST): Promise<{ place: TestDatabase; t: BuiltApp; rx: Receiver }> {
    const place = testDatabase(dialect);
    cleanup.push(() => place.drop());
    const rx = await Receiver.start();
    cleanup.push(() => rx.close());
    const t = await startServer(place, { delivery });
    cleanup.push(() => t.app.close());
    await api(t, 'POST', '/api/admin/flags', { name: 'f' });
    return { place, t, rx };
  }
  const hook = async (t: BuiltApp, rx: Receiver, path: string, extra: object = {}) =>
    (await api(t, 'POST', P, { name: path, type: 'webhook', events: ['feature-environment-*'], config: { url: `${rx.url}${path}` }, ...extra })).body.id as string;
  const rows = (t: BuiltApp, sinkId: string) => t.services.storage.db.selectFrom('deliveries').selectAll().where('sink_id', '=', sinkId).orderBy('id').execute();
  /** A row some worker claimed (`sending`, attempt 1) for an event in staging, its lease ending at `leaseEnd`. */
  const claimedRow = (t: BuiltApp, sinkId: string, type: string, leaseEnd: number) =>
    t.services.storage.db
      .insertInto('deliveries')
      .values({
        sink_id: sinkId,
        event_id: null,
        payload: JSON.stringify({ id: 0, type, actor: 'x', project: 'default', environment: 'staging', flag: 'f', before: null, after: null, createdAt: new Date().toISOString() }),
        attempt: 1,
        next_attempt_at: new Date(leaseEnd).toISOString(),
        status: 'sending',
        last_error: null,
        created_at: new Date().toISOString(),
        delivered_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
  const toggle = (t: BuiltApp, on: boolean, env = 'production') => api(t, 'POST', `/api/admin/flags/f/environments/${env}/${on ? 'on' : 'off'}`);

  it('retries a failing receiver with backoff, then records the success', async () => {
    const s = await setup();
    const { t, rx } = s;
    rx.respond = (_r, n) => (n <= 2 ? { status: 503, body: { error: 'try later' } } : undefined);
    const id = await hook(t, rx, '/flaky');
    await toggle(t, true);
    const done = await waitFor('delivered', async () => (await rows(t, id)).find((r) => r.status === 'delivered'));
    expect(rx.requests).toHaveLength(3);
    expect(done.attempt).toBe(3);
    expect(done.last_error).toMatch(/^attempt 2: POST to 127\.0\.0\.1:\d+: HTTP 503: \{"error":"try later"\}$/);
    // Waits of ~100 ms then ~200 ms (jitter off in this test).
    const gaps = [rx.requests[1].at - rx.requests[0].at, rx.requests[2].at - rx.requests[1].at];
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[1]).toBeGreaterThanOrEqual(180);
    // Every attempt is the same delivery, freshly signed.
    expect(new Set(rx.requests.map((r) => r.headers['x-switchyard-delivery'])).size).toBe(1);
    const listed = (await api(t, 'GET', `${P}/${id}/deliveries`)).body.deliveries;
    expect(listed[0]).toMatchObject({ status: 'delivered', attempt: 3, eventType: 'feature-environment-enabled' });
  });

  it('gives up after maxAttempts; a 4xx fails at once; a failed delivery can be queued again', async () => {
    const s = await setup({ ...FAST, maxAttempts: 3 });
    const { t, rx } = s;
    let down = true;
    rx.respond = (r) => (r.url === '/down' && down ? { status: 500 } : r.url === '/gone' ? { status: 410, body: 'channel_is_archived' } : undefined);
    const downId = await hook(t, rx, '/down');
    const goneId = await hook(t, rx, '/gone');
    await toggle(t, true);
    const failed = await waitFor('failed for good', async () => (await rows(t, downId)).find((r) => r.status === 'failed'));
    expect(failed.attempt).toBe(3);
    expect(failed.last_error).toMatch(/^attempt 3: .*HTTP 500/);
    const gone = await waitFor('4xx failure', async () => (await rows(t, goneId)).find((r) => r.status === 'failed'));
    expect(gone.attempt).toBe(1);
    expect(gone.last_error).toContain('HTTP 410: "channel_is_archived"');
    expect(rx.requests.filter((r) => r.url === '/down')).toHaveLength(3);
    expect(rx.requests.filter((r) => r.url === '/gone')).toHaveLength(1);
    down = false;
    const retried = await api(t, 'POST', `${P}/${downId}/deliveries/${failed.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'pending', attempt: 0 });
    await waitFor('delivered after retry', async () => (await rows(t, downId)).find((r) => r.status === 'delivered'));
    expect((await api(t, 'POST', `${P}/${downId}/deliveries/${failed.id}/retry`)).status).toBe(409);
    expect((await api(t, 'POST', `${P}/${downId}/deliveries/999999/retry`)).status).toBe(404);
  });

  it('never makes a write wait for a receiver: a toggle returns while the receiver hangs for 10 s', async () => {
    const s = await setup({ ...FAST, timeoutMs: 5_000 });
    const { t, rx } = s;
    rx.respond = (r) => (r.url === '/slow' ? { hangMs: 10_000 } : undefined);
    const slowId = await hook(t, rx, '/slow');
    const fastId = await hook(t, rx, '/fast');
    const started = Date.now();
    const res = await toggle(t, true);
    expect(res.status).toBe(200);
    await toggle(t, false);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The slow receiver holds its delivery; the other sink's deliveries go out meanwhile.
    await waitFor('fast sink served', () => rx.requests.filter((r) => r.url === '/fast').length === 2);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await rows(t, fastId)).every((r) => r.status === 'delivered')).toBe(true);
    expect((await rows(t, slowId))[0].status).toBe('sending');
    // After the 5 s timeout the attempt is recorded as failed and rescheduled.
    const timedOut = await waitFor('timeout recorded', async () => (await rows(t, slowId)).find((r) => r.last_error), 15_000);
    expect(timedOut.last_error).toMatch(/no response within 5 s/);
  }, 30_000);

  it('pending deliveries survive a restart and are sent by the next server', async () => {
    const s = await setup({ ...FAST, worker: false });
    const { place, t, rx } = s;
    const id = await hook(t, rx, '/later');
    await toggle(t, true);
    await toggle(t, false);
    await toggle(t, true, 'development');
    await sleep(300);
    expect(rx.requests).toHaveLength(0);
    expect((await rows(t, id)).map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
    // A row a crashed worker left mid-send, its claim long lapsed.
    const lapsed = await claimedRow(t, id, 'feature-environment-enabled', Date.now() - 1000);
    // And one whose claim still holds: on SQLite (one process owns the file) it is put back at start;
    // on PostgreSQL another replica may be sending it, so it is left alone until its lease lapses,
    // and the sink's newer deliveries wait behind it (one sink's messages go out in order).
    const leaseEnd = Date.now() + 1_500;
    const held = await claimedRow(t, id, 'feature-environment-disabled', leaseEnd);
    await t.app.close();
    const t2 = await startServer(place, { delivery: FAST });
    cleanup.push(() => t2.app.close());
    await waitFor('all delivered', async () => (await rows(t2, id)).every((r) => r.status === 'delivered'));
    if (dialect === 'postgres') expect(rx.requests[0].at).toBeGreaterThanOrEqual(leaseEnd);
    expect(rx.requests.map((r) => `${r.body.type}@${r.body.event.environment}`)).toEqual([
      'feature-environment-enabled@production',
      'feature-environment-disabled@production',
      'feature-environment-enabled@development',
      'feature-environment-enabled@staging',
      'feature-environment-disabled@staging',
    ]);
    expect((await rows(t2, id)).find((r) => r.id === Number(held.id))!.attempt).toBe(2);
    expect((await rows(t2, id)).find((r) => r.id === Number(lapsed.id))!.attempt).toBe(2);
  });

  it('sends one sink’s deliveries one after another, in the order of events', async () => {
    const { t, rx } = await setup();
    const id = await hook(t, rx, '/ordered');
    // The first message hangs at the receiver; a second event meanwhile waits its turn (it is not
    // claimed and sent alongside, where it could overtake the first).
    rx.respond = (_r, n) => (n === 1 ? { hangMs: 800 } : undefined);
    await toggle(t, true);
    await waitFor('the first message at the receiver', () => rx.requests.length === 1);
    await toggle(t, true, 'development');
    await sleep(300);
    expect(rx.requests).toHaveLength(1);
    expect((await rows(t, id)).map((r) => r.status)).toEqual(['sending', 'pending']);
    await waitFor('both delivered', async () => (await rows(t, id)).every((r) => r.status === 'delivered'));
    expect(rx.requests.map((r) => r.body.event.environment)).toEqual(['production', 'development']);
  });

  it('closing the server mid-send returns promptly and puts the delivery back, its attempt uncounted', async () => {
    const s = await setup({ ...FAST, timeoutMs: 5_000 });
    const { place, t, rx } = s;
    rx.respond = (_r, n) => (n === 1 ? { hangMs: 10_000 } : undefined);
    const id = await hook(t, rx, '/hang');
    await toggle(t, true);
    await waitFor('send started', () => rx.requests.length === 1);
    const started = Date.now();
    await t.app.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    const t2 = await startServer(place, { delivery: { ...FAST, worker: false } });
    cleanup.push(() => t2.app.close());
    const [row] = await rows(t2, id);
    expect(row).toMatchObject({ status: 'pending', attempt: 0 });
  });

  it('retry schedule: listed delays with jitter, Retry-After honoured up to the longest delay', () => {
    const w = new DeliveryWorker(null as any, null as any, null as any, DEFAULT_DELIVERY, null as any);
    for (let i = 0; i < 200; i++) {
      const first = w.delay(1);
      expect(first).toBeGreaterThanOrEqual(4_000);
      expect(first).toBeLessThanOrEqual(6_000);
      expect(w.delay(2)).toBeGreaterThanOrEqual(24_000);
      expect(w.delay(7)).toBeGreaterThanOrEqual(0.8 * 3_600_000);
      expect(w.delay(7)).toBeLessThanOrEqual(1.2 * 3_600_000);
    }
    expect(w.delay(1, 90_000)).toBe(90_000);
    expect(w.delay(1, 10 * 3_600_000)).toBe(3_600_000);
    expect(DEFAULT_DELIVERY).toMatchObject({ retryDelaysMs: [5_000, 30_000, 120_000, 600_000, 3_600_000], maxAttempts: 8, timeoutMs: 5_000 });
  });

  // Replicas share a queue only on PostgreSQL (SQLite is one process).
  if (dialect === 'postgres') {
    it('two replicas share one queue: every delivery is sent exactly once (FOR UPDATE SKIP LOCKED)', async () => {
      const s = await setup({ ...FAST, pollMs: 20 });
      const { place, t, rx } = s;
      const t2 = await startServer(place, { delivery: { ...FAST, pollMs: 20 } });
      cleanup.push(() => t2.app.close());
      rx.respond = () => ({ hangMs: 5 + Math.floor(Math.random() * 20) });
      const id = await hook(t, rx, '/shared', { events: [] });
      // t2 learns of the sink created through t at its next poll (sinks.generation).
      await sleep(200);
      const writes = [];
      for (let i = 0; i < 30; i++) writes.push(toggle(i % 2 ? t : t2, i % 4 < 2, i % 3 ? 'production' : 'development'));
      await Promise.all(writes);
      const queued = await rows(t, id);
      expect(queued.length).toBeGreaterThan(10);
      await waitFor('all delivered', async () => (await rows(t, id)).every((r) => r.status === 'delivered'), 20_000);
      const ids = rx.requests.filter((r) => r.url === '/shared').map((r) => r.headers['x-switchyard-delivery']);
      expect(ids.length).toBe(queued.length);
      expect(new Set(ids).size).toBe(ids.length);
    });
  }
});
