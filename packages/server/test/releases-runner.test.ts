/**
 * The guardian runner on synthetic cohort batches (a fake source): healthy plans advance to 100 %,
 * regressions roll back with their evidence, SRM pauses, alerts stop a plan at once, every
 * decision is stored, and a plan survives a crash: a new app on the same database resumes where
 * the old one stopped without repeating a step — on SQLite and PostgreSQL.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { api, testDatabase, type TestDatabase } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { createFlag, flagEnv, healthy, releaseApp, TEST_GATE, type ReleaseApp } from './releases-harness.js';
import { DEFAULT_BUCKETS_MS } from '../src/releases/guardian/index.js';

const plan = async (t: ReleaseApp, id: string) => (await api(t, 'GET', `/api/admin/releases/${id}`)).body;
const createPlan = async (t: ReleaseApp, body: object) => {
  const res = await api(t, 'POST', '/api/admin/releases', { environment: 'production', template: 'canary', bakeMs: 0, gate: TEST_GATE, start: true, ...body });
  if (res.status !== 201) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};
/** One tick; the outcome for plan `id`. */
const tickFor = async (t: ReleaseApp, id: string) => (await t.releases.runner.tick()).find((o) => o.planId === id)!;
const typesOf = async (t: ReleaseApp, flag: string) =>
  (await api(t, 'GET', `/api/admin/events?flag=${encodeURIComponent(flag)}&limit=200`)).body.events.map((e: any) => e.type).reverse() as string[];

/** A latency histogram of n requests around `ms` (all in the bucket holding ms). */
const latencyAt = (n: number, ms: number) => {
  const h = new Array(DEFAULT_BUCKETS_MS.length + 1).fill(0);
  const i = DEFAULT_BUCKETS_MS.findIndex((b) => b >= ms);
  h[i === -1 ? DEFAULT_BUCKETS_MS.length : i] = n;
  return h;
};

describeEachDialect('guardian runner', (dialect) => {
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

  it('advances a healthy plan milestone by milestone to 100 %, recording every decision', async () => {
    await createFlag(t, 'healthy');
    const p = await createPlan(t, { flag: 'healthy' });
    const runner = t.releases.runner;
    // Too little traffic: it waits, and says why.
    t.source.push({ on: healthy(10), off: healthy(1000) }, 'healthy');
    expect(await tickFor(t, p.id)).toMatchObject({ result: 'checked', decision: 'continue' });
    let view = await plan(t, p.id);
    expect(view).toMatchObject({ milestone: 0, state: 'running' });
    expect(view.lastDecision).toMatchObject({ source: 'guardian', decision: 'continue', action: 'none', summary: expect.stringMatching(/^waiting \(canary 10\/50 requests\)/) });
    expect(view.traffic.canary).toMatchObject({ cohort: 'on', requests: 10, errors: 0 });
    expect(view.traffic.control).toMatchObject({ cohort: 'off', requests: 1000, errors: 10, errorRate: 0.01 });
    // No new data and the gate cannot hold: nothing is written.
    expect((await tickFor(t, p.id)).result).toBe('idle');
    expect((await plan(t, p.id)).version).toBe(view.version);

    const milestones: number[] = [];
    for (let i = 0; i < 10 && (await plan(t, p.id)).state === 'running'; i++) {
      t.source.push({ on: healthy(200), off: healthy(2000) }, 'healthy');
      await runner.tick();
      milestones.push((await plan(t, p.id)).milestone);
    }
    view = await plan(t, p.id);
    expect(view.state).toBe('completed');
    expect(milestones).toEqual([1, 2, 3, 4]);
    expect(view.reason).toMatch(/^completed: gate held at "50 %"/);
    const env = await flagEnv(t, 'healthy', 'production');
    expect(env.strategies.map((x: any) => x.parameters.rollout)).toEqual(['100']);
    expect(await typesOf(t, 'healthy')).toEqual([
      'feature-created',
      'release-plan-created',
      'release-started',
      'release-milestone-advanced',
      'release-milestone-advanced',
      'release-milestone-advanced',
      'release-milestone-advanced',
      'release-completed',
    ]);
    const d = (await api(t, 'GET', `/api/admin/releases/${p.id}/decisions?source=guardian`)).body;
    expect(d.total).toBe(5);
    expect(d.decisions.map((x: any) => x.action)).toEqual(['complete', 'advance', 'advance', 'advance', 'none']);
    const adv = d.decisions[1];
    expect(adv.evidence.batch).toMatchObject({ canary: { requests: 200, errors: 2 }, control: { requests: 2000, errors: 20 }, batches: 1 });
    expect(adv.evidence.guardian).toMatchObject({ threshold: 100, alpha: 0.01, traffic: { met: true } });
    expect(adv.evidence.guardian.metrics[0]).toMatchObject({ id: 'errors', total: { canary: { requests: expect.any(Number) } } });
    expect(adv.e).toBeLessThan(100);
    // The acted-on decisions only.
    expect((await api(t, 'GET', `/api/admin/releases/${p.id}/decisions?acted=true`)).body.total).toBe(5); // start + 4 guardian actions
  });

  it('rolls back a regression at once, with the numbers in one sentence, and the flag goes back', async () => {
    await createFlag(t, 'broken');
    const p = await createPlan(t, { flag: 'broken', bakeMs: 60_000 });
    const r0 = (await api(t, 'GET', '/api/admin/environments')).body.environments.find((e: any) => e.name === 'production').revision;
    let result;
    for (let i = 0; i < 20; i++) {
      t.source.push({ on: { requests: 50, errors: 5 }, off: { requests: 5000, errors: 50 } }, 'broken');
      result = await tickFor(t, p.id);
      if (result.result !== 'checked') break;
    }
    expect(result).toMatchObject({ result: 'rolled-back', decision: 'rollback' });
    const view = await plan(t, p.id);
    expect(view.state).toBe('rolled-back');
    expect(view.reason).toMatch(/^canary error rate 10\.0 % vs control 1\.0 % over [\d,]+ vs [\d,]+ requests; evidence e = \S+ ≥ 100 \(α = 1 %\) \(the flag is off\)$/);
    expect(view.lastDecision).toMatchObject({ source: 'guardian', decision: 'rollback', action: 'rollback', threshold: 100 });
    expect(view.lastDecision.e).toBeGreaterThanOrEqual(100);
    const env = await flagEnv(t, 'broken', 'production');
    expect(env.enabled).toBe(false);
    const r1 = (await api(t, 'GET', '/api/admin/environments')).body.environments.find((e: any) => e.name === 'production').revision;
    expect(r1).toBe(r0 + 1); // one revision: the rollback (stream push)
    // One event for the step, carrying the decision and its evidence.
    const evs = (await api(t, 'GET', '/api/admin/events?flag=broken&type=release-rolled-back')).body.events;
    expect(evs).toHaveLength(1);
    expect(evs[0].after.decision).toMatchObject({ id: view.lastDecision.id, source: 'guardian', decision: 'rollback', action: 'rollback', evidence: { guardian: { threshold: 100 } } });
    expect(evs[0].after.decision.summary).toMatch(/^canary error rate 10\.0 %/);
    expect((await typesOf(t, 'broken')).slice(-2)).toEqual(['release-started', 'release-rolled-back']);
    // Nothing runs on a stopped plan.
    t.source.push({ on: healthy(100), off: healthy(100) }, 'broken');
    expect(await tickFor(t, p.id)).toBeUndefined();
  });

  it('rolls back a latency regression (requests above the control’s p95)', async () => {
    await createFlag(t, 'slow');
    const p = await createPlan(t, { flag: 'slow', bakeMs: 60_000, gate: { ...TEST_GATE, latency: { minBaselineRequests: 500 } } });
    let result;
    for (let i = 0; i < 30; i++) {
      // Control: 95 % at 100 ms, 5 % at 300 ms; canary: 70 % at 100 ms, 30 % at 750 ms. No errors.
      const control = latencyAt(1900, 100).map((x, j) => x + latencyAt(100, 300)[j]);
      const canary = latencyAt(70, 100).map((x, j) => x + latencyAt(30, 750)[j]);
      t.source.push({ on: { requests: 100, errors: 0, latency: canary }, off: { requests: 2000, errors: 20, latency: control } }, 'slow');
      result = await tickFor(t, p.id);
      if (result.result !== 'checked') break;
    }
    expect(result?.result).toBe('rolled-back');
    const view = await plan(t, p.id);
    expect(view.reason).toMatch(/requests slower than \d+ ms [\d.]+ % vs control [\d.]+ %/);
    const d = (await api(t, 'GET', `/api/admin/releases/${p.id}/decisions?limit=1`)).body.decisions[0];
    expect(d.evidence.guardian.metrics.map((m: any) => m.id)).toEqual(['errors', 'latency>p95', 'latency>p99']);
    expect(d.evidence.guardian.metrics[1].thresholdSource).toBe('warm-up');
  });

  it('pauses on a sample-ratio mismatch', async () => {
    await createFlag(t, 'srm');
    const p = await createPlan(t, { flag: 'srm', bakeMs: 60_000, gate: { ...TEST_GATE, srm: 'auto' } });
    expect(p.milestones[0].canaryShare).toBe(0.01);
    let result;
    for (let i = 0; i < 20; i++) {
      // 1 % configured, 5 % observed.
      t.source.push({ on: healthy(100), off: healthy(1900) }, 'srm');
      result = await tickFor(t, p.id);
      if (result.result !== 'checked') break;
    }
    expect(result?.result).toBe('paused');
    const view = await plan(t, p.id);
    expect(view).toMatchObject({ state: 'paused', reason: expect.stringMatching(/^sample-ratio mismatch: canary got 5\.0 % of [\d,]+ requests, expected 1\.0 %/) });
    // Resuming starts the gate over (the SRM check too).
    const resumed = await api(t, 'POST', `/api/admin/releases/${p.id}/resume`, {});
    expect(resumed.body.state).toBe('running');
    t.source.push({ on: healthy(20), off: healthy(1980) }, 'srm');
    expect(await tickFor(t, p.id)).toMatchObject({ result: 'checked', decision: 'continue' });
  });

  it('waits for a person when the milestone does not auto-advance', async () => {
    await createFlag(t, 'manual');
    const p = await createPlan(t, {
      flag: 'manual',
      template: undefined,
      milestones: [
        { name: 'staff', strategies: [{ name: 'flexibleRollout', parameters: { rollout: 10 } }], autoAdvance: false },
        { name: 'all', strategies: [{ name: 'default' }] },
      ],
    });
    t.source.push({ on: healthy(100), off: healthy(1000) }, 'manual');
    const r = await tickFor(t, p.id);
    expect(r).toMatchObject({ result: 'checked', decision: 'advance-ok' });
    const view = await plan(t, p.id);
    expect(view).toMatchObject({ state: 'running', milestone: 0, lastDecision: { action: 'wait', summary: expect.stringMatching(/waits for a person/) } });
    expect((await api(t, 'POST', `/api/admin/releases/${p.id}/advance`, {})).body.state).toBe('completed');
  });

  it('stops a plan at once on an alert: rollback or pause as the plan says', async () => {
    await createFlag(t, 'alerted');
    await createFlag(t, 'alerted-pause');
    const a = await createPlan(t, { flag: 'alerted' });
    const b = await createPlan(t, { flag: 'alerted-pause', onAlert: 'pause' });
    const other = await createPlan(t, { flag: 'alerted', environment: 'development' });
    const out = await t.releases.runner.alert({ name: 'HighErrorRate', flag: 'alerted', environment: 'production', summary: 'checkout 5xx > 2 %' });
    expect(out).toEqual([expect.objectContaining({ planId: a.id, result: 'rolled-back' })]);
    expect((await plan(t, a.id)).reason).toMatch(/^alert "HighErrorRate" is firing \(checkout 5xx > 2 %\): stopped at once/);
    expect((await plan(t, other.id)).state).toBe('running');
    const d = (await api(t, 'GET', `/api/admin/releases/${a.id}/decisions?source=alert`)).body.decisions[0];
    expect(d).toMatchObject({ source: 'alert', action: 'rollback', evidence: { alert: { name: 'HighErrorRate' } } });
    await t.releases.runner.alert({ name: 'Latency', flag: 'alerted-pause' });
    expect((await plan(t, b.id)).state).toBe('paused');
    // A second alert for a paused "pause" plan does nothing more.
    expect(await t.releases.runner.alert({ name: 'Latency', flag: 'alerted-pause' })).toEqual([]);
    // A stored alert that arrived before the plan's milestone began does not stop it.
    await api(t, 'POST', `/api/admin/releases/${b.id}/resume`, {});
    expect(await t.releases.runner.alert({ name: 'Old', flag: 'alerted-pause', receivedAt: new Date(Date.now() - 60_000).toISOString() }, { stored: true })).toEqual([]);
    await t.releases.runner.alert({ name: 'X', flag: 'alerted', environment: 'development' });
  });

  it('an Alertmanager webhook stops the flag’s plan at once; a stored alert no handler saw stops it on the next tick', async () => {
    await createFlag(t, 'am-flag');
    const p = await createPlan(t, { flag: 'am-flag' });
    const hook = await api(t, 'POST', '/api/signals/alertmanager', {
      version: '4',
      status: 'firing',
      receiver: 'switchyard',
      alerts: [{ status: 'firing', labels: { alertname: 'CheckoutErrors', switchyard_flag: 'am-flag', switchyard_environment: 'production' }, annotations: { summary: '5xx > 2 %' }, fingerprint: 'fp1' }],
    });
    expect(hook.status, JSON.stringify(hook.body)).toBe(200);
    expect(hook.body.handlers).toEqual({ handled: 1, failed: 0 });
    // Stopped before the webhook answered.
    const view = await plan(t, p.id);
    expect(view).toMatchObject({ state: 'rolled-back', reason: expect.stringMatching(/^alert "CheckoutErrors" is firing \(5xx > 2 %\)/) });
    const alerts = (await api(t, 'GET', '/api/admin/signals/alerts?flag=am-flag')).body.alerts;
    expect(alerts[0]).toMatchObject({ handledNote: `release plan ${p.id} rolled back` });

    // The process died before its handler ran: the row is there, unhandled; the next tick acts on it.
    const q = await createPlan(t, { flag: 'am-flag' });
    const { signalsDb } = await import('../src/signals/index.js');
    await signalsDb(t.services.storage.db)
      .insertInto('signal_alerts')
      .values({
        source: 'alertmanager', received_at: new Date(Date.now() + 1000).toISOString(), status: 'firing', fingerprint: 'fp2', alertname: 'Latency', flag: 'am-flag', environment: 'production',
        outcome: 'emitted', labels: '{}', annotations: '{}', starts_at: null, ends_at: null, generator_url: null, group_key: null, receiver: null, external_url: null, handled_at: null, handled_note: null,
      })
      .execute();
    expect((await plan(t, q.id)).state).toBe('running');
    await t.releases.runner.tick();
    expect(await plan(t, q.id)).toMatchObject({ state: 'rolled-back', reason: expect.stringMatching(/^alert "Latency" is firing/) });
  });

  it('pauses a plan whose flag can no longer be changed (archived) instead of failing every check', async () => {
    await createFlag(t, 'gone');
    const p = await createPlan(t, { flag: 'gone' });
    expect((await api(t, 'POST', '/api/admin/flags/gone/archive')).status).toBe(200);
    t.source.push({ on: healthy(100), off: healthy(1000) }, 'gone');
    expect(await tickFor(t, p.id)).toMatchObject({ result: 'paused' });
    expect(await plan(t, p.id)).toMatchObject({ state: 'paused', reason: expect.stringMatching(/^advance-ok could not be applied: Flag "gone" is archived/) });
  });

  it('drops a check decided from a stale read, and a transition is all or nothing', async () => {
    await createFlag(t, 'race');
    const p = await createPlan(t, { flag: 'race' });
    const row = await t.releases.service.row(p.id);
    // A person pauses between the runner's read and its write.
    await api(t, 'POST', `/api/admin/releases/${p.id}/pause`, {});
    t.source.push({ on: healthy(100), off: healthy(1000) }, 'race');
    expect(await t.releases.runner.check(row)).toMatchObject({ result: 'stale' });
    expect(await plan(t, p.id)).toMatchObject({ state: 'paused', milestone: 0 });

    // A failure after the flag was written (here: the decision insert) undoes the flag change too.
    await api(t, 'POST', `/api/admin/releases/${p.id}/resume`, {});
    const before = await flagEnv(t, 'race', 'production');
    const v = (await plan(t, p.id)).version;
    await expect(
      t.releases.service.transition(p.id, 'test', {}, async (pl) => ({
        set: { milestone: 3, step: pl.step + 1 },
        apply: { enabled: true, strategies: [{ name: 'default', disabled: false, parameters: {}, constraints: [], segments: [], variants: [] }] },
        events: [],
        decision: { source: 'manual', decision: 'x', action: 'advance', summary: null as unknown as string, evidence: { batch: null, milestone: null, guardian: null, reasons: [] } },
      })),
    ).rejects.toThrow();
    expect(await flagEnv(t, 'race', 'production')).toEqual(before);
    expect(await plan(t, p.id)).toMatchObject({ version: v, milestone: 0 });
  });
});

describeEachDialect('crash and resume', (dialect) => {
  let db: TestDatabase | undefined;
  const apps: ReleaseApp[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close().catch(() => {});
    await db?.drop();
    db = undefined;
  });

  it('a new app on the same database continues the plan where the old one stopped, without repeating a step', async () => {
    db = testDatabase(dialect);
    const a = await releaseApp(db);
    apps.push(a);
    await createFlag(a, 'resume-me');
    const p = await createPlan(a, { flag: 'resume-me', gate: { ...TEST_GATE, minCanaryRequests: 300 } });
    // Two checks of evidence, then a healthy check that advances to 5 %.
    a.source.push({ on: healthy(100), off: healthy(1000) }, 'resume-me');
    await a.releases.runner.tick();
    a.source.push({ on: healthy(100), off: healthy(1000) }, 'resume-me');
    await a.releases.runner.tick();
    a.source.push({ on: healthy(150), off: healthy(1000) }, 'resume-me');
    expect((await a.releases.runner.tick())[0].result).toBe('advanced');
    a.source.push({ on: healthy(100), off: healthy(1000) }, 'resume-me');
    await a.releases.runner.tick();
    const before = await plan(a, p.id);
    expect(before).toMatchObject({ state: 'running', milestone: 1, step: 2, traffic: { canary: { requests: 100 } } });
    const guardianBefore = (await a.releases.service.row(p.id)).guardian;
    await a.close(); // the crash (the runner keeps nothing in memory)
    apps.length = 0;

    const b = await releaseApp(db);
    apps.push(b);
    const after = await plan(b, p.id);
    expect(after).toEqual(before);
    expect((await b.releases.service.row(p.id)).guardian).toBe(guardianBefore);
    // The first check on the new app carries on from the stored state: 100 + 200 ≥ 300 canary requests.
    b.source.push({ on: healthy(200), off: healthy(1000) }, 'resume-me');
    expect((await b.releases.runner.tick())[0]).toMatchObject({ result: 'advanced' });
    const now = await plan(b, p.id);
    expect(now).toMatchObject({ milestone: 2, step: 3 });
    const adv = (await api(b, 'GET', `/api/admin/events?flag=resume-me&type=release-milestone-advanced`)).body.events.map((e: any) => e.after.milestone).reverse();
    expect(adv).toEqual([1, 2]);
    const steps = (await api(b, 'GET', `/api/admin/releases/${p.id}/decisions`)).body.decisions.map((d: any) => d.version);
    expect(new Set(steps).size).toBe(steps.length);
  });
});
