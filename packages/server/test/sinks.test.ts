import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BuiltApp } from '../src/index.js';
import { api, testDatabase, type TestDatabase } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { Receiver, startServer, verifySignature, waitFor } from './sinks-helpers.js';

const P = '/api/admin/projects/shop/sinks';

describeEachDialect('notification sinks', (dialect) => {
  let place: TestDatabase;
  let t: BuiltApp;
  let rx: Receiver;

  beforeAll(async () => {
    place = testDatabase(dialect);
    t = await startServer(place, { secretKey: 'test-server-key-0123456789abcdef' });
    rx = await Receiver.start();
    await api(t, 'POST', '/api/admin/projects', { id: 'shop' });
    await api(t, 'POST', '/api/admin/projects', { id: 'other' });
    await api(t, 'POST', '/api/admin/environments', { name: 'staging', type: 'staging' });
    for (const name of ['checkout', 'search', 'banner']) await api(t, 'POST', '/api/admin/flags', { name, project: 'shop' });
    await api(t, 'POST', '/api/admin/flags', { name: 'elsewhere', project: 'other' });
  });
  afterAll(async () => {
    await t?.app.close();
    await rx?.close();
    await place?.drop();
  });

  /** Requests to one receiver path since `from` (webhook deliveries of sink-* events left out: a sink also hears sinks being added). */
  const at = (path: string, from = 0) => rx.requests.slice(from).filter((r) => r.url === path && !String(r.body?.type ?? '').startsWith('sink-'));
  const deliveries = async (sinkId: string, project = 'shop') => (await api(t, 'GET', `/api/admin/projects/${project}/sinks/${sinkId}/deliveries`)).body.deliveries;

  it('creates a webhook sink, shows its generated secret once, and never again', async () => {
    const res = await api(t, 'POST', P, { name: 'audit hook', type: 'webhook', config: { url: `${rx.url}/never` }, events: ['sink-*'] });
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{40,}$/);
    expect(res.body).toMatchObject({ name: 'audit hook', type: 'webhook', enabled: true, environments: [], events: ['sink-*'], config: { url: `${rx.url}/never` }, secrets: ['secret'] });
    const secret = res.body.secret as string;
    const get = await api(t, 'GET', `${P}/${res.body.id}`);
    const list = await api(t, 'GET', P);
    const audit = await api(t, 'GET', '/api/admin/events?type=sink-created');
    for (const r of [get, list, audit]) {
      expect(r.status).toBe(200);
      expect(r.raw.body).not.toContain(secret);
    }
    expect(get.body.secret).toBeUndefined();
    expect(audit.body.events[0]).toMatchObject({ type: 'sink-created', project: 'shop', after: { id: res.body.id, name: 'audit hook' } });
    // Sealed at rest (SWITCHYARD_SECRET_KEY is set): the column holds no plaintext.
    const row = await t.services.storage.db.selectFrom('sinks').select('secrets').where('id', '=', res.body.id).executeTakeFirstOrThrow();
    expect(row.secrets).toMatch(/^aes256gcm:/);
    expect(row.secrets).not.toContain(secret);
    await api(t, 'DELETE', `${P}/${res.body.id}`);
  });

  it('a flag toggle is delivered to the webhook, signed with HMAC-SHA256 over "<timestamp>.<body>"', async () => {
    const created = await api(t, 'POST', P, { name: 'hook', type: 'webhook', config: { url: `${rx.url}/hook` } });
    const secret = created.body.secret as string;
    const from = rx.requests.length;
    const toggle = await api(t, 'POST', '/api/admin/flags/checkout/environments/production/on');
    expect(toggle.status).toBe(200);
    const [req] = await waitFor('the webhook delivery', () => at('/hook', from).length > 0 && at('/hook', from));
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-switchyard-event']).toBe('feature-environment-enabled');
    expect(req.headers['x-switchyard-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(secret, req.headers, req.raw)).toBe(true);
    expect(verifySignature('whsec_wrong-secret-000000000000', req.headers, req.raw)).toBe(false);
    expect(verifySignature(secret, req.headers, req.raw.replace('production', 'developmen'))).toBe(false);
    expect(req.body).toMatchObject({
      type: 'feature-environment-enabled',
      test: false,
      summary: 'admin (environment) enabled "checkout" in "production" (project "shop")',
      sink: { id: created.body.id, name: 'hook', project: 'shop' },
      event: { type: 'feature-environment-enabled', actor: 'admin (environment)', project: 'shop', environment: 'production', flag: 'checkout', before: { enabled: false }, after: { enabled: true } },
    });
    expect(String(req.body.deliveryId)).toBe(req.headers['x-switchyard-delivery']);
    const audit = await api(t, 'GET', '/api/admin/events?type=feature-environment-enabled&flag=checkout');
    expect(req.body.event.id).toBe(audit.body.events[0].id);
    const list = await waitFor('delivered status', async () => {
      const d = await deliveries(created.body.id);
      return d.find((x: any) => x.eventType === 'feature-environment-enabled' && x.status === 'delivered') && d;
    });
    expect(list[0]).toMatchObject({ sinkId: created.body.id, eventId: req.body.event.id, status: 'delivered', attempt: 1, lastError: null, nextAttemptAt: null });
    // Strategy edits and archive fire too.
    const from2 = rx.requests.length;
    await api(t, 'POST', '/api/admin/flags/banner/environments/production/strategies', { name: 'flexibleRollout', parameters: { rollout: '25', stickiness: 'default', groupId: 'banner' } });
    await api(t, 'POST', '/api/admin/flags/banner/archive');
    const got = await waitFor('strategy and archive deliveries', () => at('/hook', from2).length >= 2 && at('/hook', from2));
    expect(got.map((r) => r.body.type).sort()).toEqual(['feature-archived', 'feature-strategy-added']);
    expect(got.find((r) => r.body.type === 'feature-strategy-added')!.body.summary).toContain('flexibleRollout (25%)');
    await api(t, 'DELETE', `${P}/${created.body.id}`);
  });

  it('filters by environment and event type (exact, prefix), and by project', async () => {
    const mk = async (name: string, body: object, project = 'shop') =>
      (await api(t, 'POST', `/api/admin/projects/${project}/sinks`, { name, type: 'webhook', config: { url: `${rx.url}/f/${name}` }, ...body })).body.id as string;
    const prodToggles = await mk('prod-toggles', { environments: ['production'], events: ['flag-environment-*'] });
    const stagingOnly = await mk('staging-all', { environments: ['staging'] });
    const releases = await mk('releases', { events: ['release-*'] });
    const archives = await mk('archives', { environments: ['production'], events: ['feature-archived'] });
    const otherProject = await mk('other', {}, 'other');
    const disabled = await mk('disabled', { enabled: false });
    const from = rx.requests.length;
    await api(t, 'POST', '/api/admin/flags/search/environments/development/on');
    await api(t, 'POST', '/api/admin/flags/search/environments/production/on');
    await api(t, 'POST', '/api/admin/flags/search/environments/staging/on');
    await api(t, 'POST', '/api/admin/flags/search/archive'); // no environment: matches environment-filtered sinks by type
    await t.services.changes.write('guardian', async (_trx, change) => {
      change.event({ type: 'release-paused', project: 'shop', environment: 'production', flag: 'search', after: { milestone: 1, milestoneName: '5%', reason: 'error rate 4.1% vs 0.4%' } });
    });
    await waitFor('deliveries to settle', async () => {
      const all = await Promise.all([prodToggles, stagingOnly, releases, archives].map((id) => deliveries(id)));
      return all.flat().length >= 5 && all.flat().every((d: any) => d.status === 'delivered');
    });
    await new Promise((r) => setTimeout(r, 300));
    const seen = (name: string) => at(`/f/${name}`, from).map((r) => `${r.body.type}@${r.body.event.environment ?? '-'}`);
    expect(seen('prod-toggles')).toEqual(['feature-environment-enabled@production']);
    // Two writes, two claims: a sink's deliveries claimed apart may arrive in either order.
    expect(seen('staging-all').sort()).toEqual(['feature-archived@-', 'feature-environment-enabled@staging']);
    expect(seen('releases')).toEqual(['release-paused@production']);
    expect(seen('archives')).toEqual(['feature-archived@-']);
    expect(seen('other')).toEqual([]);
    expect(seen('disabled')).toEqual([]);
    expect(at('/f/releases', from)[0].body.summary).toBe('Release of "search" in "production" paused at milestone 2 (5%) by guardian: error rate 4.1% vs 0.4%');
    for (const id of [prodToggles, stagingOnly, releases, archives, disabled]) await api(t, 'DELETE', `${P}/${id}`);
    await api(t, 'DELETE', `/api/admin/projects/other/sinks/${otherProject}`);
    await api(t, 'POST', '/api/admin/flags/search/revive');
  });

  it('Slack gets a readable one-line summary with blocks; the URL (its secret) is never shown', async () => {
    const url = `${rx.url}/services/T000/B000/slack-secret-part`;
    const created = await api(t, 'POST', P, { name: 'slack', type: 'slack', config: { url }, events: ['feature-*', 'release-*'] });
    expect(created.status).toBe(201);
    expect(created.body.config).toEqual({ urlHint: `${rx.url}/services/…` });
    expect(created.body.secrets).toEqual(['url']);
    expect(created.raw.body).not.toContain('slack-secret-part');
    expect((await api(t, 'GET', P)).raw.body).not.toContain('slack-secret-part');
    const from = rx.requests.length;
    await api(t, 'POST', '/api/admin/flags/checkout/environments/staging/on');
    await t.services.changes.write('guardian', async (_trx, change) => {
      change.event({
        type: 'release-rolled-back',
        project: 'shop',
        environment: 'production',
        flag: 'checkout',
        after: { planId: 'p1', milestone: 2, milestoneName: '25%', reason: 'canary error rate 5.2% vs 0.5% (e = 240 ≥ 100)', to: 'off' },
      });
    });
    const got = await waitFor('two Slack messages', () => at('/services/T000/B000/slack-secret-part', from).length >= 2 && at('/services/T000/B000/slack-secret-part', from));
    // Two writes, two claims: the messages may arrive in either order.
    expect(got).toHaveLength(2);
    const toggled = got.find((r) => r.body.text.startsWith('admin '))!;
    const rolledBack = got.find((r) => r !== toggled)!;
    expect(toggled.body.text).toBe('admin (environment) enabled *checkout* in *staging* (project *shop*)');
    expect(toggled.body.blocks[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: toggled.body.text } });
    expect(toggled.body.blocks[1].type).toBe('context');
    expect(rolledBack.body.text).toBe(':rotating_light: Release of *checkout* in *production* ROLLED BACK at milestone 3 (25%) by guardian: canary error rate 5.2% vs 0.5% (e = 240 ≥ 100)');
    await api(t, 'DELETE', `${P}/${created.body.id}`);
  });

  it('Datadog gets an event with its API key header, tags and alert type', async () => {
    const created = await api(t, 'POST', P, { name: 'dd', type: 'datadog', events: ['feature-*'], config: { site: `${rx.url}/dd`, apiKey: 'dd-key-123', tags: ['team:payments'] } });
    expect(created.status).toBe(201);
    expect(created.body.config).toEqual({ site: `${rx.url}/dd`, tags: ['team:payments'] });
    expect(created.raw.body).not.toContain('dd-key-123');
    const from = rx.requests.length;
    await api(t, 'POST', '/api/admin/flags/checkout/environments/staging/off');
    const [req] = await waitFor('the Datadog event', () => at('/dd/api/v1/events', from).length > 0 && at('/dd/api/v1/events', from));
    expect(req.headers['dd-api-key']).toBe('dd-key-123');
    expect(req.body).toMatchObject({
      title: 'admin (environment) disabled "checkout" in "staging" (project "shop")',
      alert_type: 'info',
      source_type_name: 'switchyard',
      tags: ['switchyard', 'project:shop', 'env:staging', 'flag:checkout', 'event:feature-environment-disabled', 'team:payments'],
    });
    expect(req.body.text).toContain('Flag: checkout');
    expect(typeof req.body.date_happened).toBe('number');
    const defaults = await api(t, 'POST', P, { name: 'dd-default', type: 'datadog', config: { apiKey: 'k' } });
    expect(defaults.body.config.site).toBe('https://api.datadoghq.com');
    await api(t, 'PUT', `${P}/${defaults.body.id}`, { enabled: false });
    await api(t, 'DELETE', `${P}/${defaults.body.id}`);
    await api(t, 'DELETE', `${P}/${created.body.id}`);
  });

  it('Grafana: a region per rollout (created at start, PATCHed with timeEnd at the end), a point per decision and flag change', async () => {
    // The annotation id Grafana handed out for each POST.
    let nextId = 100;
    const given = new Map<object, number>();
    rx.respond = (r) => {
      if (!r.url.startsWith('/grafana/api/annotations') || r.method !== 'POST') return undefined;
      given.set(r, ++nextId);
      return { body: { id: nextId, message: 'Annotation added' } };
    };
    // On before the sink exists (no event for it): the test turns it off below.
    await api(t, 'POST', '/api/admin/flags/search/environments/production/on');
    const created = await api(t, 'POST', P, {
      name: 'grafana',
      type: 'grafana',
      events: ['feature-*', 'release-*'],
      config: { url: `${rx.url}/grafana/`, apiKey: 'glsa_secret', dashboardUid: 'abc123', panelId: 4, tags: ['switchyard-prod'] },
    });
    expect(created.status).toBe(201);
    const from = rx.requests.length;
    const release = (type: string, after: object) =>
      t.services.changes.write('guardian', async (_trx, change) => change.event({ type, project: 'shop', environment: 'production', flag: 'checkout', after }));
    await release('release-started', { planId: 'p2', milestone: 0, milestoneName: '1%' });
    await release('release-milestone-advanced', { planId: 'p2', milestone: 1, milestoneName: '5%', decision: { action: 'advance', summary: 'healthy: e = 0.4' } });
    await api(t, 'POST', '/api/admin/flags/search/environments/production/off');
    await release('release-rolled-back', { planId: 'p2', milestone: 1, milestoneName: '5%', reason: 'error rate ×10' });
    const grafana = () => rx.requests.slice(from).filter((r) => r.url.startsWith('/grafana/'));
    await waitFor('four annotations and a PATCH', () => grafana().length >= 5);
    await new Promise((r) => setTimeout(r, 200));
    const got = grafana();
    for (const r of got) expect(r.headers.authorization).toBe('Bearer glsa_secret');
    const start = got.find((r) => r.method === 'POST' && r.body.text.startsWith('Rollout: Release of "checkout" in "production" started'))!;
    expect(start.url).toBe('/grafana/api/annotations');
    expect(start.body).toMatchObject({ dashboardUID: 'abc123', panelId: 4 });
    expect(start.body.timeEnd).toBeUndefined();
    expect(start.body.tags).toEqual(['switchyard', 'project:shop', 'environment:production', 'flag:checkout', 'event:release-started', 'switchyard-prod', 'rollout']);
    // Each delivery is claimed as its write commits, so the start's POST may race the next ones:
    // the region is whichever id Grafana gave the start.
    const regionId = given.get(start)!;
    expect(regionId).toBeGreaterThan(100);
    const patch = got.find((r) => r.method === 'PATCH')!;
    expect(patch.url).toBe(`/grafana/api/annotations/${regionId}`);
    expect(patch.body.timeEnd).toBeGreaterThanOrEqual(start.body.time);
    expect(patch.body.text).toContain('ROLLED BACK at milestone 2 (5%) by guardian: error rate ×10');
    const points = got.filter((r) => r.method === 'POST' && r !== start);
    expect(points.map((p) => p.body.tags.find((x: string) => x.startsWith('event:'))).sort()).toEqual(['event:feature-environment-disabled', 'event:release-milestone-advanced', 'event:release-rolled-back']);
    for (const p of points) expect(p.body.timeEnd).toBeUndefined();
    const notes = await t.services.storage.db.selectFrom('sink_annotations').selectAll().where('sink_id', '=', created.body.id).execute();
    expect(notes.find((n) => n.key === 'region:production/checkout')).toMatchObject({ annotation_id: regionId });
    expect(notes.find((n) => n.key === 'region:production/checkout')!.ended_at).not.toBeNull();
    rx.respond = () => undefined;
    await api(t, 'DELETE', `${P}/${created.body.id}`);
  });

  it('Grafana: a rollout end waits for a start still being retried; a start and end in one write make one region', async () => {
    let n = 700;
    let failStart = true;
    const given = new Map<object, number>();
    rx.respond = (r) => {
      if (r.url !== '/g2/api/annotations' || r.method !== 'POST') return undefined;
      if (failStart && r.body.tags.includes('event:release-started')) {
        failStart = false;
        return { status: 503 };
      }
      given.set(r, ++n);
      return { body: { id: n } };
    };
    const created = await api(t, 'POST', P, { name: 'g2', type: 'grafana', events: ['release-started', 'release-completed'], config: { url: `${rx.url}/g2`, apiKey: 'k' } });
    const from = rx.requests.length;
    const release = (flag: string, ...types: string[]) =>
      t.services.changes.write('alice', async (_trx, change) => {
        for (const type of types) change.event({ type, project: 'shop', environment: 'staging', flag, after: { milestone: 0 } });
      });
    await release('checkout', 'release-started');
    await release('checkout', 'release-completed');
    await release('search', 'release-started', 'release-completed');
    const patches = await waitFor('two PATCHes', () => rx.requests.slice(from).filter((r) => r.method === 'PATCH').length === 2 && rx.requests.slice(from).filter((r) => r.method === 'PATCH'), 10_000);
    const regions = rx.requests.slice(from).filter((r) => r.method === 'POST' && r.body.tags.includes('event:release-started') && given.has(r));
    expect(regions).toHaveLength(2);
    const regionOf = (flag: string) => given.get(regions.find((r) => r.body.tags.includes(`flag:${flag}`))!);
    expect(patches.map((p) => p.url).sort()).toEqual([`/g2/api/annotations/${regionOf('checkout')}`, `/g2/api/annotations/${regionOf('search')}`].sort());
    const rows = await waitFor('all delivered', async () => {
      const r = await t.services.storage.db.selectFrom('deliveries').select(['status', 'attempt']).where('sink_id', '=', created.body.id).execute();
      return r.every((x) => x.status === 'delivered') && r;
    });
    expect(rows).toHaveLength(4);
    // The waiting end was not charged attempts for waiting.
    expect(Math.max(...rows.map((r) => r.attempt))).toBe(2);
    rx.respond = () => undefined;
    await api(t, 'DELETE', `${P}/${created.body.id}`);
  });

  it('POST …/test sends a test event now and reports the outcome', async () => {
    const ok = await api(t, 'POST', P, { name: 'testable', type: 'webhook', config: { url: `${rx.url}/test-ok` }, events: ['nothing-matches'] });
    const res = await api(t, 'POST', `${P}/${ok.body.id}/test`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ delivered: true, result: 'HTTP 200', deliveryId: expect.any(Number) });
    const req = rx.requests.findLast((r) => r.url === '/test-ok')!;
    expect(req.body).toMatchObject({ type: 'sink-test', test: true, event: { type: 'sink-test', project: 'shop' } });
    expect(verifySignature(ok.body.secret, req.headers, req.raw)).toBe(true);
    rx.respond = (r) => (r.url === '/test-bad' ? { status: 401, body: { error: 'bad key' } } : undefined);
    const bad = await api(t, 'POST', P, { name: 'bad', type: 'grafana', config: { url: `${rx.url}/test-bad`, apiKey: 'nope' } });
    rx.respond = (r) => (r.url.startsWith('/test-bad') ? { status: 401, body: { message: 'invalid API key' } } : undefined);
    const failed = await api(t, 'POST', `${P}/${bad.body.id}/test`);
    expect(failed.status).toBe(200);
    expect(failed.body.delivered).toBe(false);
    expect(failed.body.error).toMatch(/HTTP 401: \{"message":"invalid API key"\}/);
    expect(failed.raw.body).not.toContain(rx.url.replace('http://', '') + '/test-bad');
    const log = await deliveries(bad.body.id);
    expect(log[0]).toMatchObject({ eventId: null, eventType: 'sink-test', status: 'failed', attempt: 1 });
    rx.respond = () => undefined;
    await api(t, 'DELETE', `${P}/${ok.body.id}`);
    await api(t, 'DELETE', `${P}/${bad.body.id}`);
  });

  it('updates: filters, name, secrets kept unless given, rotateSecret; audited without secrets', async () => {
    const created = await api(t, 'POST', P, { name: 'g', type: 'grafana', config: { url: `${rx.url}/g`, apiKey: 'first-key' } });
    const id = created.body.id;
    const put = await api(t, 'PUT', `${P}/${id}`, { name: 'grafana main', environments: ['production'], events: ['release-*', 'feature-environment-enabled'], config: { dashboardUid: 'x1' } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'grafana main', environments: ['production'], events: ['release-*', 'feature-environment-enabled'], config: { url: `${rx.url}/g`, dashboardUid: 'x1' } });
    const key = await api(t, 'PUT', `${P}/${id}`, { config: { apiKey: 'second-key', dashboardUid: null } });
    expect(key.body.config.dashboardUid).toBeUndefined();
    const audit = await api(t, 'GET', '/api/admin/events?type=sink-updated');
    expect(audit.body.events[0].after.secretsChanged).toEqual(['apiKey']);
    expect(audit.raw.body).not.toContain('second-key');
    expect(audit.raw.body).not.toContain('first-key');
    // The new key is used.
    rx.respond = (r) => (r.url.startsWith('/g/') ? { body: { id: 1 } } : undefined);
    await api(t, 'POST', `${P}/${id}/test`);
    expect(rx.requests.findLast((r) => r.url === '/g/api/annotations')!.headers.authorization).toBe('Bearer second-key');
    rx.respond = () => undefined;
    // No change, no event.
    const before = (await api(t, 'GET', '/api/admin/events?type=sink-updated')).body.total;
    await api(t, 'PUT', `${P}/${id}`, { name: 'grafana main' });
    expect((await api(t, 'GET', '/api/admin/events?type=sink-updated')).body.total).toBe(before);
    // rotateSecret: webhooks only, shown once.
    const hook = await api(t, 'POST', P, { name: 'h2', type: 'webhook', config: { url: `${rx.url}/h2`, secret: 'my-own-secret-0123456789' } });
    expect(hook.body.secret).toBeUndefined();
    const rotated = await api(t, 'PUT', `${P}/${hook.body.id}`, { rotateSecret: true });
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect((await api(t, 'PUT', `${P}/${id}`, { rotateSecret: true })).status).toBe(400);
    await api(t, 'DELETE', `${P}/${id}`);
    await api(t, 'DELETE', `${P}/${hook.body.id}`);
  });

  it('rejects bad input with problem+json and changes nothing', async () => {
    const good = await api(t, 'POST', P, { name: 'keep', type: 'webhook', config: { url: `${rx.url}/keep` } });
    const events = (await api(t, 'GET', '/api/admin/events')).body.total;
    const sinks = (await api(t, 'GET', P)).body.sinks.length;
    const bad: Array<[string, string, object?]> = [
      ['POST', P, { name: 'x', type: 'webhook', config: { url: 'ftp://example.com/x' } }],
      ['POST', P, { name: 'x', type: 'webhook', config: { url: 'not a url' } }],
      ['POST', P, { name: 'x', type: 'webhook', config: { url: 'https://user:pw@example.com/' } }],
      ['POST', P, { name: 'x', type: 'webhook', config: {} }],
      ['POST', P, { name: 'x', type: 'webhook', config: { url: 'https://example.com', secret: 'short' } }],
      ['POST', P, { name: 'x', type: 'webhook', config: { url: 'https://example.com', apiKey: 'k' } }],
      ['POST', P, { name: 'x', type: 'grafana', config: { url: 'https://grafana.example.com' } }],
      ['POST', P, { name: 'x', type: 'datadog', config: { apiKey: 'k', site: 'javascript:alert(1)' } }],
      ['POST', P, { name: 'x', type: 'datadog', config: { apiKey: 'has space' } }],
      ['POST', P, { name: 'x', type: 'pagerduty', config: {} }],
      ['POST', P, { name: 'x', type: 'webhook', config: { url: 'https://example.com' }, color: 'red' }],
      ['POST', P, { name: 'x', type: 'webhook', config: { url: 'https://example.com' }, events: ['Feature Enabled'] }],
      ['POST', P, { name: 'x', type: 'webhook', config: { url: 'https://example.com' }, environments: ['nowhere'] }],
      ['POST', P, { name: '', type: 'webhook', config: { url: 'https://example.com' } }],
      ['POST', P, { name: 'x', type: 'webhook', enabled: 'yes', config: { url: 'https://example.com' } }],
      ['PUT', `${P}/${good.body.id}`, { type: 'slack' }],
      ['PUT', `${P}/${good.body.id}`, { config: { url: 'gopher://x' } }],
      ['PUT', `${P}/${good.body.id}`, { config: { secret: 'x'.repeat(20) }, rotateSecret: true }],
      ['GET', `${P}/${good.body.id}/deliveries?limit=0`],
      ['GET', `${P}/${good.body.id}/deliveries?status=lost`],
    ];
    for (const [method, url, body] of bad) {
      const res = await api(t, method, url, body);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.detail).toBeTruthy();
    }
    expect((await api(t, 'POST', P, { name: 'keep', type: 'webhook', config: { url: 'https://example.com' } })).status).toBe(409);
    expect((await api(t, 'GET', `${P}/nope`)).status).toBe(404);
    expect((await api(t, 'GET', '/api/admin/projects/ghost/sinks')).status).toBe(404);
    expect((await api(t, 'POST', '/api/admin/projects/ghost/sinks', { name: 'x', type: 'slack', config: { url: 'https://hooks.slack.com/x' } })).status).toBe(404);
    expect((await api(t, 'GET', `/api/admin/projects/other/sinks/${good.body.id}`)).status).toBe(404);
    expect((await api(t, 'GET', P, undefined, 'wrong-token')).status).toBe(401);
    expect((await api(t, 'GET', '/api/admin/events')).body.total).toBe(events);
    expect((await api(t, 'GET', P)).body.sinks.length).toBe(sinks);
    const after = await api(t, 'GET', `${P}/${good.body.id}`);
    expect(after.body).toMatchObject({ type: 'webhook', config: { url: `${rx.url}/keep` } });
    await api(t, 'DELETE', `${P}/${good.body.id}`);
  });

  it('deleting a sink removes its queue; deleting a project removes its sinks', async () => {
    await api(t, 'POST', '/api/admin/projects', { id: 'temp' });
    const sink = await api(t, 'POST', '/api/admin/projects/temp/sinks', { name: 'x', type: 'webhook', config: { url: `${rx.url}/temp` } });
    expect((await api(t, 'DELETE', '/api/admin/projects/temp')).status).toBe(204);
    const rows = await t.services.storage.db.selectFrom('sinks').select('id').where('id', '=', sink.body.id).execute();
    expect(rows).toEqual([]);
    const one = await api(t, 'POST', P, { name: 'gone', type: 'webhook', config: { url: `${rx.url}/gone` }, enabled: true });
    await t.services.storage.db
      .insertInto('deliveries')
      .values({ sink_id: one.body.id, event_id: null, payload: '{}', attempt: 0, next_attempt_at: '9999-01-01T00:00:00.000Z', status: 'pending', last_error: null, created_at: new Date().toISOString(), delivered_at: null })
      .execute();
    expect((await api(t, 'DELETE', `${P}/${one.body.id}`)).status).toBe(204);
    expect(await t.services.storage.db.selectFrom('deliveries').select('id').where('sink_id', '=', one.body.id).execute()).toEqual([]);
    expect((await api(t, 'GET', '/api/admin/events?type=sink-deleted')).body.events[0]).toMatchObject({ project: 'shop', before: { id: one.body.id, name: 'gone' } });
  });
});
