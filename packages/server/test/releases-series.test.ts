/**
 * What the web UI's release pages read besides the plan itself: the plan's checks as a time
 * series for its charts (`GET /api/admin/releases/:id/series`), the list filtered by project, and
 * the plan stream over the UI's session cookie (EventSource sends the cookie, never a token) —
 * on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN, api, testDatabase, type TestDatabase } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createFlag, healthy, releaseApp, streamedText, TEST_GATE, type ReleaseApp } from './releases-harness.js';
import { createProject } from './fixtures.js';
import { DEFAULT_BUCKETS_MS } from '../src/releases/guardian/index.js';

/** A latency histogram of n requests, all in the bucket holding `ms`. */
const latencyAt = (n: number, ms: number) => {
  const h = new Array(DEFAULT_BUCKETS_MS.length + 1).fill(0);
  h[DEFAULT_BUCKETS_MS.findIndex((b) => b >= ms)] = n;
  return h;
};

describeEachDialect('release plan series, project filter, stream over the session cookie', (dialect) => {
  let db: TestDatabase;
  let t: ReleaseApp;
  beforeAll(async () => {
    db = testDatabase(dialect);
    t = await releaseApp(db);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('serves the checks as a time series: counts, rates and latency per cohort, e against 1/α, oldest first, paged with after', async () => {
    await createFlag(t, 'charted');
    const plan = (
      await api(t, 'POST', '/api/admin/releases', {
        flag: 'charted',
        environment: 'production',
        milestones: [10, 100].map((p) => ({ name: `${p} %`, strategies: [{ name: 'flexibleRollout', parameters: { rollout: p } }] })),
        bakeMs: 3_600_000,
        gate: TEST_GATE,
        start: true,
      })
    ).body;
    t.source.push({ on: { ...healthy(100, 0.02), latency: latencyAt(100, 40) }, off: { ...healthy(900, 0.01), latency: latencyAt(900, 20) } }, 'charted');
    await t.releases.runner.tick();
    t.source.push({ on: { ...healthy(50, 0.1), latency: latencyAt(50, 300) }, off: { ...healthy(450, 0.01), latency: latencyAt(450, 20) } }, 'charted');
    await t.releases.runner.tick();

    const res = await api(t, 'GET', `/api/admin/releases/${plan.id}/series`);
    expect(res.status).toBe(200);
    const { points, next, more } = res.body;
    expect(more).toBe(false);
    expect(points.map((p: any) => [p.source, p.action])).toEqual([
      ['manual', 'start'],
      ['guardian', 'none'],
      ['guardian', 'none'],
    ]);
    // A person's transition: a marker without counts or evidence.
    expect(points[0]).toMatchObject({ milestone: 0, step: 1, check: null, cumulative: null, e: null, threshold: null, metrics: [] });
    const [, first, second] = points;
    expect(first.check).toMatchObject({
      canary: { cohort: 'on', requests: 100, errors: 2, errorRate: 0.02, latency: { p50: 50, p95: 50, p99: 50 } },
      control: { cohort: 'off', requests: 900, errors: 9, errorRate: 0.01, latency: { p95: 25 } },
      batches: 1,
    });
    // This check vs the milestone so far.
    expect(second.check.canary).toMatchObject({ requests: 50, errors: 5, errorRate: 0.1 });
    expect(second.cumulative.canary).toMatchObject({ requests: 150, errors: 7 });
    expect(second.cumulative.control).toMatchObject({ requests: 1350, errors: 14 });
    expect(second.threshold).toBe(100);
    expect(second.log10E).toBeCloseTo(Math.log10(second.e), 6);
    expect(second.metrics.map((m: any) => m.id)).toEqual(['errors']);
    expect(Date.parse(second.at)).toBeGreaterThanOrEqual(Date.parse(first.at));
    expect(next).toBe(second.id);

    // Only newer points with `after`; `limit` pages.
    expect((await api(t, 'GET', `/api/admin/releases/${plan.id}/series?after=${next}`)).body).toMatchObject({ points: [], next, more: false });
    const page = (await api(t, 'GET', `/api/admin/releases/${plan.id}/series?limit=2`)).body;
    expect(page.points.map((p: any) => p.id)).toEqual([points[0].id, first.id]);
    expect(page).toMatchObject({ next: first.id, more: true });

    await api(t, 'POST', `/api/admin/releases/${plan.id}/rollback`, { reason: 'looks wrong' });
    const after = (await api(t, 'GET', `/api/admin/releases/${plan.id}/series?after=${next}`)).body.points;
    expect(after).toMatchObject([{ source: 'manual', action: 'rollback', summary: 'looks wrong' }]);

    expect((await api(t, 'GET', '/api/admin/releases/nope/series')).status).toBe(404);
    expect((await api(t, 'GET', `/api/admin/releases/${plan.id}/series?limit=0`)).status).toBe(400);
    expect((await api(t, 'GET', `/api/admin/releases/${plan.id}/series`, undefined, 'not-a-token')).status).toBe(401);
  });

  it('lists plans of one project', async () => {
    await createProject(t, 'shop');
    await createFlag(t, 'shop-flag', { project: 'shop' });
    await createFlag(t, 'other-flag');
    const shop = (await api(t, 'POST', '/api/admin/releases', { flag: 'shop-flag', environment: 'production', template: 'canary' })).body;
    await api(t, 'POST', '/api/admin/releases', { flag: 'other-flag', environment: 'production', template: 'canary' });
    const list = (await api(t, 'GET', '/api/admin/releases?project=shop')).body;
    expect(list).toMatchObject({ total: 1, plans: [{ id: shop.id, project: 'shop' }] });
    expect((await api(t, 'GET', '/api/admin/releases?project=nope')).body).toMatchObject({ total: 0, plans: [] });
    expect((await api(t, 'GET', '/api/admin/releases?project=bad%20id')).status).toBe(400);
  });

  it('streams a plan to a browser signed in with the session cookie (no token header)', async () => {
    await createFlag(t, 'cookie-sse');
    const plan = (await api(t, 'POST', '/api/admin/releases', { flag: 'cookie-sse', environment: 'production', template: 'canary', gate: TEST_GATE })).body;
    const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/session', headers: { 'content-type': 'application/json', 'x-switchyard-csrf': '1' }, payload: JSON.stringify({ token: ADMIN }) });
    expect(signIn.statusCode).toBe(201);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0];
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const open = (headers: Record<string, string>, ac: AbortController, path = `/api/admin/releases/${plan.id}/stream`) =>
      fetch(`${address}${path}`, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });

    expect((await open({}, new AbortController())).status).toBe(401);
    const ac = new AbortController();
    const res = await open({ cookie }, ac);
    expect(res.status).toBe(200);
    const body = streamedText(res);
    expect(await body.until(/"state":"draft"/)).toBe(true);
    await api(t, 'POST', `/api/admin/releases/${plan.id}/start`, {});
    expect(await body.until(/"state":"running"/)).toBe(true);
    ac.abort();

    // The list's stream too, filtered by project.
    const ac2 = new AbortController();
    const all = await open({ cookie }, ac2, '/api/admin/releases/stream?project=default');
    expect(all.status).toBe(200);
    const listed = streamedText(all);
    await listed.until(new RegExp(plan.id));
    expect(listed.text).toContain(plan.id);
    ac2.abort();
  });
});
