/**
 * Release plans: templates, the state machine through the admin API (every transition, illegal
 * ones 409, idempotent retries, compare-and-set), what each transition does to the flag, its audit
 * events and revisions — on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, testDatabase, type TestDatabase } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createFlag, flagEnv, releaseApp, streamedText, TEST_GATE, type ReleaseApp } from './releases-harness.js';
import { StaleVersion } from '../src/releases/service.js';

const revision = async (t: ReleaseApp, env = 'production') =>
  (await api(t, 'GET', '/api/admin/environments')).body.environments.find((e: any) => e.name === env).revision as number;
const events = async (t: ReleaseApp, flag: string) =>
  (await api(t, 'GET', `/api/admin/events?flag=${encodeURIComponent(flag)}&limit=100`)).body.events.map((e: any) => e.type).reverse() as string[];
const rollouts = (env: any) => env.strategies.map((s: any) => `${s.name}:${s.parameters.rollout ?? ''}`);

describeEachDialect('release plans', (dialect) => {
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

  it('lists the built-in templates and manages user templates', async () => {
    const list = await api(t, 'GET', '/api/admin/release-templates');
    expect(list.status).toBe(200);
    const canary = list.body.templates.find((x: any) => x.id === 'canary');
    expect(canary).toMatchObject({ builtin: true, rollback: 'off' });
    expect(canary.milestones.map((m: any) => m.strategies[0].parameters.rollout)).toEqual(['1', '5', '25', '50', '100']);
    expect(list.body.templates.find((x: any) => x.id === 'rings').milestones).toHaveLength(4);

    const body = { id: 'two-step', name: 'Two steps', milestones: [{ name: 'half', strategies: [{ name: 'flexibleRollout', parameters: { rollout: 50 } }] }, { name: 'all', strategies: [{ name: 'default' }] }], bakeMs: 1000, gate: TEST_GATE };
    const created = await api(t, 'POST', '/api/admin/release-templates', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ id: 'two-step', builtin: false, rollback: 'previous', bakeMs: 1000 });
    expect((await api(t, 'POST', '/api/admin/release-templates', body)).status).toBe(409);
    expect((await api(t, 'POST', '/api/admin/release-templates', { ...body, id: 'canary' })).status).toBe(409);
    const replaced = await api(t, 'PUT', '/api/admin/release-templates/two-step', { ...body, id: undefined, name: 'Two', rollback: 'off' });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect(replaced.body).toMatchObject({ name: 'Two', rollback: 'off' });
    expect((await api(t, 'PUT', '/api/admin/release-templates/canary', { ...body, id: undefined })).status).toBe(409);
    expect((await api(t, 'PUT', '/api/admin/release-templates/two-step', { ...body, id: 'other' })).status).toBe(400);
    expect((await api(t, 'DELETE', '/api/admin/release-templates/canary')).status).toBe(409);
    expect((await api(t, 'GET', '/api/admin/release-templates/nope')).status).toBe(404);

    // Bad input: 4xx problem+json, nothing stored.
    const bad = await api(t, 'POST', '/api/admin/release-templates', { name: 'x', milestones: [] });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    const badGate = await api(t, 'POST', '/api/admin/release-templates', { name: 'x', milestones: body.milestones, gate: { alpha: 0.01, metricWeights: { nope: 1 } } });
    expect(badGate.status).toBe(400);
    expect(badGate.body.detail).toMatch(/unknown metric 'nope'/);
    const dup = await api(t, 'POST', '/api/admin/release-templates', { name: 'x', milestones: [body.milestones[0], body.milestones[0]] });
    expect(dup.status).toBe(400);
    expect((await api(t, 'DELETE', '/api/admin/release-templates/two-step')).status).toBe(204);
    expect((await api(t, 'GET', '/api/admin/release-templates/two-step')).status).toBe(404);
  });

  it('validates plans: flag, environment, template, strategies, segments, one active plan per flag and environment', async () => {
    await createFlag(t, 'v-flag');
    const post = (b: object) => api(t, 'POST', '/api/admin/releases', b);
    expect((await post({ flag: 'nope', environment: 'production', template: 'canary' })).status).toBe(404);
    expect((await post({ flag: 'v-flag', environment: 'nope', template: 'canary' })).status).toBe(404);
    expect((await post({ flag: 'v-flag', environment: 'production', template: 'nope' })).status).toBe(404);
    expect((await post({ flag: 'v-flag', environment: 'production' })).status).toBe(400);
    const unknownStrategy = await post({ flag: 'v-flag', environment: 'production', milestones: [{ name: 'a', strategies: [{ name: 'bogus' }] }] });
    expect(unknownStrategy.status).toBe(400);
    expect(unknownStrategy.body.detail).toMatch(/Unknown strategy "bogus"/);
    const badPct = await post({ flag: 'v-flag', environment: 'production', milestones: [{ name: 'a', strategies: [{ name: 'flexibleRollout', parameters: { rollout: '150' } }] }] });
    expect(badPct.status).toBe(400);
    const rings = await post({ flag: 'v-flag', environment: 'production', template: 'rings' });
    expect(rings.status).toBe(400);
    expect(rings.body.detail).toMatch(/segment named "developers".*POST \/api\/admin\/segments/);
    const extra = await post({ flag: 'v-flag', environment: 'production', template: 'canary', surprise: 1 });
    expect(extra.status).toBe(400);
    const sameCohorts = await post({ flag: 'v-flag', environment: 'production', template: 'canary', cohorts: { canary: 'x', control: 'x' } });
    expect(sameCohorts.status).toBe(400);

    for (const name of ['developers', 'employees', 'beta']) {
      expect((await api(t, 'POST', '/api/admin/segments', { name, constraints: [{ contextName: 'userId', operator: 'IN', values: [name] }] })).status).toBe(201);
    }
    const ok = await post({ flag: 'v-flag', environment: 'production', template: 'rings' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body).toMatchObject({ state: 'draft', milestone: -1, step: 0, version: 0, rollback: 'previous', cohorts: { canary: 'on', control: 'off' } });
    expect(ok.body.milestones[1].strategies.map((x: any) => x.segments.length)).toEqual([1, 1]);
    expect(ok.body.milestones[0].canaryShare).toBeNull();
    const again = await post({ flag: 'v-flag', environment: 'production', template: 'canary' });
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already has a draft release plan/);
    // Another environment is fine.
    expect((await post({ flag: 'v-flag', environment: 'development', template: 'canary' })).status).toBe(201);
    // A draft can be deleted; then a new plan can be made.
    expect((await api(t, 'DELETE', `/api/admin/releases/${ok.body.id}`)).status).toBe(204);
    expect((await api(t, 'GET', `/api/admin/releases/${ok.body.id}`)).status).toBe(404);
    expect((await post({ flag: 'v-flag', environment: 'production', template: 'canary' })).status).toBe(201);
  });

  it('runs every transition: start, pause, resume, advance, complete — one transaction each, with events and revisions', async () => {
    await createFlag(t, 'sm-flag');
    const created = await api(t, 'POST', '/api/admin/releases', { flag: 'sm-flag', environment: 'production', template: 'canary', bakeMs: 1000, gate: TEST_GATE });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const path = `/api/admin/releases/${id}`;

    // Illegal before start.
    for (const action of ['pause', 'resume', 'advance', 'rollback']) {
      const r = await api(t, 'POST', `${path}/${action}`, {});
      expect(r.status, action).toBe(409);
      expect(r.headers['content-type']).toContain('application/problem+json');
      expect(r.body.detail).toMatch(/it is draft/);
    }

    const r0 = await revision(t);
    const started = await api(t, 'POST', `${path}/start`, {});
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body).toMatchObject({ state: 'running', milestone: 0, milestoneName: '1 %', step: 1, before: { enabled: false, strategies: [] } });
    expect(await revision(t)).toBe(r0 + 1);
    let env = await flagEnv(t, 'sm-flag', 'production');
    expect(env.enabled).toBe(true);
    expect(rollouts(env)).toEqual(['flexibleRollout:1']);
    expect((await flagEnv(t, 'sm-flag', 'development')).enabled).toBe(false);
    expect((await api(t, 'POST', `${path}/start`, {})).status).toBe(409);

    const paused = await api(t, 'POST', `${path}/pause`, { reason: 'lunch' });
    expect(paused.body).toMatchObject({ state: 'paused', step: 2, reason: 'lunch' });
    expect(await revision(t)).toBe(r0 + 1); // the flag did not change
    expect((await api(t, 'POST', `${path}/pause`, {})).status).toBe(409);
    const resumed = await api(t, 'POST', `${path}/resume`, {});
    expect(resumed.body).toMatchObject({ state: 'running', step: 3, milestone: 0 });
    expect((await api(t, 'POST', `${path}/resume`, {})).status).toBe(409);

    const adv = await api(t, 'POST', `${path}/advance`, { reason: 'looks fine' });
    expect(adv.body).toMatchObject({ state: 'running', milestone: 1, milestoneName: '5 %', step: 4 });
    expect(rollouts(await flagEnv(t, 'sm-flag', 'production'))).toEqual(['flexibleRollout:5']);
    expect(await revision(t)).toBe(r0 + 2);
    // Advancing from paused is allowed too.
    await api(t, 'POST', `${path}/pause`, {});
    expect((await api(t, 'POST', `${path}/advance`, {})).body).toMatchObject({ state: 'running', milestone: 2 });
    await api(t, 'POST', `${path}/advance`, {});
    const done = await api(t, 'POST', `${path}/advance`, {});
    expect(done.body).toMatchObject({ state: 'completed', milestone: 4, milestoneName: '100 %', endedAt: expect.any(String) });
    env = await flagEnv(t, 'sm-flag', 'production');
    expect(rollouts(env)).toEqual(['flexibleRollout:100']);
    for (const action of ['pause', 'resume', 'advance', 'rollback', 'start']) expect((await api(t, 'POST', `${path}/${action}`, {})).status, action).toBe(409);
    expect((await api(t, 'DELETE', path)).status).toBe(409);

    expect(await events(t, 'sm-flag')).toEqual([
      'feature-created',
      'release-plan-created',
      'release-started',
      'release-paused',
      'release-resumed',
      'release-milestone-advanced',
      'release-paused',
      'release-milestone-advanced',
      'release-milestone-advanced',
      'release-milestone-advanced',
      'release-completed',
    ]);
    const ev = (await api(t, 'GET', '/api/admin/events?flag=sm-flag&type=release-started')).body.events[0];
    expect(ev).toMatchObject({ environment: 'production', project: 'default', after: { planId: id, milestone: 0, milestoneName: '1 %' } });

    // Decisions: one per transition, newest first, manual.
    const d = await api(t, 'GET', `${path}/decisions`);
    expect(d.body.total).toBe(8);
    expect(d.body.decisions[0]).toMatchObject({ source: 'manual', action: 'complete', step: 8 });
    expect(d.body.decisions.map((x: any) => x.version)).toEqual([...d.body.decisions.map((x: any) => x.version)].sort((a: number, b: number) => b - a));

    // A new plan for the same flag and environment is possible once the last one is done.
    const list = await api(t, 'GET', '/api/admin/releases?flag=sm-flag&state=completed');
    expect(list.body.plans.map((p: any) => p.id)).toEqual([id]);
    expect((await api(t, 'GET', '/api/admin/releases?flag=sm-flag&state=active')).body.plans).toEqual([]);
  });

  it('rolls back by hand: previous milestone, before the first to the configuration before the plan, or off', async () => {
    await createFlag(t, 'rb-flag');
    // Before the plan: on in production with a userWithId strategy.
    await api(t, 'POST', '/api/admin/flags/rb-flag/environments/production/strategies', { name: 'userWithId', parameters: { userIds: 'ada' } });
    await api(t, 'POST', '/api/admin/flags/rb-flag/environments/production/on');

    const mk = async (rollback: 'previous' | 'off') =>
      (await api(t, 'POST', '/api/admin/releases', { flag: 'rb-flag', environment: 'production', template: 'canary', rollback, start: true, gate: TEST_GATE })).body;

    let plan = await mk('previous');
    expect(plan.state).toBe('running');
    let rb = await api(t, 'POST', `/api/admin/releases/${plan.id}/rollback`, { reason: 'customer complaints' });
    expect(rb.status).toBe(200);
    expect(rb.body).toMatchObject({ state: 'rolled-back', reason: expect.stringMatching(/^customer complaints \(back to the flag’s configuration before the plan\)/) });
    let env = await flagEnv(t, 'rb-flag', 'production');
    expect(env.enabled).toBe(true);
    expect(env.strategies.map((x: any) => x.name)).toEqual(['userWithId']);
    expect((await api(t, 'POST', `/api/admin/releases/${plan.id}/rollback`, {})).status).toBe(409);

    plan = await mk('previous');
    await api(t, 'POST', `/api/admin/releases/${plan.id}/advance`, {});
    await api(t, 'POST', `/api/admin/releases/${plan.id}/advance`, {});
    rb = await api(t, 'POST', `/api/admin/releases/${plan.id}/rollback`, {});
    expect(rb.body.reason).toMatch(/back to milestone 2\/5 \("5 %"\)/);
    expect(rollouts(await flagEnv(t, 'rb-flag', 'production'))).toEqual(['flexibleRollout:5']);

    plan = await mk('off');
    await api(t, 'POST', `/api/admin/releases/${plan.id}/advance`, {});
    await api(t, 'POST', `/api/admin/releases/${plan.id}/pause`, {});
    rb = await api(t, 'POST', `/api/admin/releases/${plan.id}/rollback`, { reason: 'stop' });
    expect(rb.body).toMatchObject({ state: 'rolled-back', reason: 'stop (the flag is off)' });
    env = await flagEnv(t, 'rb-flag', 'production');
    expect(env.enabled).toBe(false);
    // "off" keeps the configuration the flag had before this plan (here: 5 %, where the last plan left it).
    expect(rollouts(env)).toEqual(['flexibleRollout:5']);
    const evs = await events(t, 'rb-flag');
    expect(evs.filter((e) => e === 'release-rolled-back')).toHaveLength(3);
  });

  it('is idempotent by (plan, step) and compare-and-set on the version', async () => {
    await createFlag(t, 'idem-flag');
    const plan = (await api(t, 'POST', '/api/admin/releases', { flag: 'idem-flag', environment: 'production', template: 'canary', start: true, gate: TEST_GATE })).body;
    expect(plan.step).toBe(1);
    const first = await api(t, 'POST', `/api/admin/releases/${plan.id}/advance`, { expectedStep: 1 });
    expect(first.body).toMatchObject({ milestone: 1, step: 2 });
    // The same request again (a retry after a lost answer) does not advance twice.
    const retry = await api(t, 'POST', `/api/admin/releases/${plan.id}/advance`, { expectedStep: 1 });
    expect(retry.status).toBe(409);
    expect(retry.body.detail).toMatch(/at step 2, not 1/);
    expect(retry.body.plan).toMatchObject({ milestone: 1, step: 2 });
    expect((await api(t, 'GET', `/api/admin/releases/${plan.id}`)).body.milestone).toBe(1);

    // Concurrent advances from the same step: exactly one lands.
    const results = await Promise.all([1, 2, 3, 4].map(() => api(t, 'POST', `/api/admin/releases/${plan.id}/advance`, { expectedStep: 2 })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    const after = (await api(t, 'GET', `/api/admin/releases/${plan.id}`)).body;
    expect(after).toMatchObject({ milestone: 2, step: 3 });
    expect(rollouts(await flagEnv(t, 'idem-flag', 'production'))).toEqual(['flexibleRollout:25']);

    // A transition decided from a stale version (the guardian's way) never lands.
    const svc = t.releases.service;
    await expect(
      svc.transition(plan.id, 'test', { expectVersion: after.version - 1 }, async () => ({ set: { reason: 'stale' }, events: [] })),
    ).rejects.toBeInstanceOf(StaleVersion);
    const v = (await api(t, 'GET', `/api/admin/releases/${plan.id}`)).body;
    expect(v.version).toBe(after.version);
    expect(v.reason).not.toBe('stale');
  });

  it('streams plan updates as Server-Sent Events', async () => {
    await createFlag(t, 'sse-flag');
    const plan = (await api(t, 'POST', '/api/admin/releases', { flag: 'sse-flag', environment: 'production', template: 'canary', gate: TEST_GATE })).body;
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const ac = new AbortController();
    const res = await fetch(`${address}/api/admin/releases/${plan.id}/stream`, { headers: { authorization: 'test-admin-token' }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const body = streamedText(res);
    expect(await body.until(/"state":"draft"/)).toBe(true);
    await api(t, 'POST', `/api/admin/releases/${plan.id}/start`, {});
    expect(await body.until(/"state":"running"/)).toBe(true);
    expect(body.text).toMatch(/event: plan\nid: [^\n]+:1\n/);
    ac.abort();
    expect((await api(t, 'GET', '/api/admin/releases/nope/stream')).status).toBe(404);
  });

  it('documents the API in OpenAPI', async () => {
    const doc = (await api(t, 'GET', '/docs/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/admin/releases', '/api/admin/releases/{id}/rollback', '/api/admin/releases/{id}/decisions', '/api/admin/release-templates']));
    expect(doc.paths['/api/admin/releases'].post.tags).toEqual(['Releases']);
  });
});
