/**
 * Which replica runs the guardian: on PostgreSQL the one holding the advisory lock (two apps on
 * one schema: only one ticks; when it goes, the other takes over and continues the plan); on
 * SQLite the single process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { api, testDatabase, type TestDatabase } from './harness.js';
import { postgresUp } from './dialects.js';
import { createFlag, healthy, releaseApp, TEST_GATE, type ReleaseApp } from './releases-harness.js';

const waitFor = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
};

describe('guardian leader election', () => {
  let db: TestDatabase | undefined;
  let other: TestDatabase | undefined;
  const apps: ReleaseApp[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close().catch(() => {});
    await db?.drop();
    await other?.drop();
    db = other = undefined;
  });

  it('SQLite: the one process runs the guardian', async () => {
    db = testDatabase('sqlite');
    const a = await releaseApp(db);
    apps.push(a);
    expect(a.releases.runner.isLeader).toBe(true);
  });

  it.skipIf(!postgresUp)('PostgreSQL: two replicas on one schema, only the advisory-lock holder runs; the other takes over when it stops', async () => {
    db = testDatabase('postgres');
    const a = await releaseApp(db, { releaseCheckIntervalMs: 50 });
    apps.push(a);
    const b = await releaseApp(db, { releaseCheckIntervalMs: 50 });
    apps.push(b);
    // Another deployment (schema) on the same database has a leader of its own.
    other = testDatabase('postgres');
    const c = await releaseApp(other);
    apps.push(c);
    expect(c.releases.runner.isLeader).toBe(true);

    expect([a.releases.runner.isLeader, b.releases.runner.isLeader]).toEqual([true, false]);
    await createFlag(a, 'le-flag');
    const plan = (await api(a, 'POST', '/api/admin/releases', { flag: 'le-flag', environment: 'production', template: 'canary', bakeMs: 0, gate: { ...TEST_GATE, minCanaryRequests: 250 }, start: true })).body;
    // Both sources have data; only the leader's is read.
    a.source.push({ on: healthy(100), off: healthy(1000) });
    b.source.push({ on: healthy(100), off: healthy(1000) });
    expect(await waitFor(() => a.source.reads.length > 0)).toBe(true);
    const ticksB = b.releases.runner.ticks;
    await new Promise((r) => setTimeout(r, 300));
    expect(b.source.reads).toEqual([]);
    expect(b.releases.runner.ticks).toBe(ticksB);
    expect(await b.releases.runner.tick()).toEqual([]); // a follower's tick does nothing
    const state = (await api(a, 'GET', `/api/admin/releases/${plan.id}`)).body;
    expect(state).toMatchObject({ milestone: 0, traffic: { canary: { requests: 100 } } });

    // A live view on b hears the checks a (the leader) writes: plan streams poll across replicas.
    const address = await b.app.listen({ port: 0, host: '127.0.0.1' });
    const ac = new AbortController();
    const res = await fetch(`${address}/api/admin/releases/${plan.id}/stream`, { headers: { authorization: 'test-admin-token' }, signal: ac.signal });
    const reader = res.body!.getReader();
    let text = '';
    const seen = (async () => {
      while (!/"canary":\{"cohort":"on","requests":200,/.test(text)) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })().catch(() => {});
    a.source.push({ on: healthy(100), off: healthy(1000) });
    await Promise.race([seen, new Promise((r) => setTimeout(r, 10_000))]);
    ac.abort();
    expect(text).toMatch(/"canary":\{"cohort":"on","requests":200/);

    // The leader goes away: the lock is released with its session, b takes it within a retry.
    await a.close();
    apps.splice(apps.indexOf(a), 1);
    expect(await waitFor(() => b.releases.runner.isLeader)).toBe(true);
    // b carried on from a's state: 200 (a) + 100 (b) ≥ 250 advances.
    expect(await waitFor(async () => (await api(b, 'GET', `/api/admin/releases/${plan.id}`)).body.milestone === 1)).toBe(true);
  });
});
