import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BuiltApp } from '../src/index.js';
import { api, testDatabase, type TestDatabase } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { Receiver, startServer, waitFor } from './sinks-helpers.js';

/** Sinks against the real release engine: the events its transitions record reach Slack and Grafana as documented. */
describeEachDialect('notification sinks and release plans', (dialect) => {
  let place: TestDatabase;
  let t: BuiltApp;
  let rx: Receiver;
  let nextId = 500;
  const given = new Map<object, number>();

  beforeAll(async () => {
    place = testDatabase(dialect);
    // The guardian's own loop stays off: this test moves the plan by hand.
    t = await startServer(place, { config: { releaseCheckIntervalMs: 0 } as any });
    rx = await Receiver.start((r) => (r.method === 'POST' && r.url === '/grafana/api/annotations' ? (given.set(r, ++nextId), { body: { id: nextId } }) : undefined));
    await api(t, 'POST', '/api/admin/flags', { name: 'checkout-v2' });
    const sinks = '/api/admin/projects/default/sinks';
    await api(t, 'POST', sinks, { name: 'grafana', type: 'grafana', events: ['feature-*', 'release-*'], config: { url: `${rx.url}/grafana`, apiKey: 'k' } });
    await api(t, 'POST', sinks, { name: 'slack', type: 'slack', events: ['release-*'], environments: ['production'], config: { url: `${rx.url}/slack/T/B/x` } });
  });
  afterAll(async () => {
    await t?.app.close();
    await rx?.close();
    await place?.drop();
  });

  it('a started and rolled-back plan draws one Grafana region and tells Slack why', async () => {
    const plan = await api(t, 'POST', '/api/admin/releases', { flag: 'checkout-v2', environment: 'production', template: 'canary' });
    expect(plan.status).toBe(201);
    expect((await api(t, 'POST', `/api/admin/releases/${plan.body.id}/start`, {})).status).toBe(200);
    const rolled = await api(t, 'POST', `/api/admin/releases/${plan.body.id}/rollback`, { reason: 'checkout errors on the canary' });
    expect(rolled.status).toBe(200);
    const patch = await waitFor('the region PATCH', () => rx.requests.find((r) => r.method === 'PATCH'));
    const region = rx.requests.find((r) => r.method === 'POST' && r.body?.tags?.includes('event:release-started'))!;
    expect(region.body.tags).toContain('rollout');
    expect(patch.url).toBe(`/grafana/api/annotations/${given.get(region)}`);
    expect(rx.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(patch.body.timeEnd).toBeGreaterThanOrEqual(region.body.time);
    expect(patch.body.text).toMatch(/^Rollout: Release of "checkout-v2" in "production" ROLLED BACK at milestone 1 .* checkout errors on the canary$/);
    const slack = await waitFor('Slack rollback message', () => rx.requests.find((r) => r.url === '/slack/T/B/x' && /ROLLED BACK/.test(r.body.text)));
    expect(slack.body.text).toMatch(/^:rotating_light: Release of \*checkout-v2\* in \*production\* ROLLED BACK at milestone 1 .*by admin \(environment\): checkout errors on the canary$/);
    const types = rx.requests.filter((r) => r.url === '/slack/T/B/x').map((r) => r.body.blocks[1].elements[0].text.match(/`([a-z-]+)`/)[1]);
    expect(types).toContain('release-started');
  });
});
