/** The OpenFeature providers with the real @openfeature/server-sdk and @openfeature/web-sdk. */
import { afterEach, describe, expect, it } from 'vitest';
import { OpenFeature as ServerOF, ProviderEvents as ServerEvents, ProviderStatus as ServerStatus } from '@openfeature/server-sdk';
import { OpenFeature as WebOF, ProviderEvents as WebEvents } from '@openfeature/web-sdk';
import { SwitchyardProvider, toUnleashContext } from '@switchyard/sdk/openfeature-server';
import { SwitchyardWebProvider } from '@switchyard/sdk/openfeature-web';
import { SwitchyardClient } from '@switchyard/sdk';
import { fakeServer, flag, json, silent, until, type FakeServer, type Stream } from './fake-server.js';

let server: FakeServer | undefined;
afterEach(async () => {
  await ServerOF.close();
  await WebOF.close();
  await server?.close();
  server = undefined;
});

const FLAGS = [
  flag('bool'),
  flag('off', false),
  flag('str', true, { variants: [{ name: 'green', weight: 1000, payload: { type: 'string', value: 'go' } }] }),
  flag('num', true, { variants: [{ name: 'n', weight: 1000, payload: { type: 'number', value: '12' } }] }),
  flag('obj', true, { variants: [{ name: 'o', weight: 1000, payload: { type: 'json', value: '{"a":[1,2]}' } }] }),
  flag('json-scalar', true, { variants: [{ name: 's', weight: 1000, payload: { type: 'json', value: '5' } }] }),
  flag('targeted', true, {
    strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }] }],
  }),
  flag('user', true, { strategies: [{ name: 'userWithId', parameters: { userIds: 'alice' }, constraints: [] }] }),
];

async function streamingServer() {
  server = await fakeServer();
  const streams: Stream[] = [];
  let up = true;
  server.route('GET', '/api/client/streaming', (req, res) => {
    if (!up) return json(res, 503, {});
    const s = server!.openStream(res, req);
    streams.push(s);
    s.event('unleash-connected', { events: [{ type: 'hydration', eventId: 3, features: FLAGS, segments: [] }] }, 3);
  });
  server.route('GET', '/api/client/features', (_req, res) => json(res, 503, {}));
  server.route('POST', '/api/client/metrics', (_req, res) => {
    res.statusCode = 202;
    res.end();
  });
  return {
    streams,
    setUp(v: boolean) {
      up = v;
    },
  };
}

function options(url: string, extra: Record<string, unknown> = {}) {
  return { url, token: '*:staging.abc', appName: 'of', logger: silent, disableMetrics: true, reconnect: { initialMs: 30, maxMs: 100 }, refreshIntervalMs: 100, ...extra };
}

describe('OpenFeature server provider', () => {
  it('resolves typed values with variants, reasons, flag metadata and error codes', async () => {
    await streamingServer();
    const provider = new SwitchyardProvider(options(server!.url));
    await ServerOF.setProviderAndWait(provider);
    const client = ServerOF.getClient();
    const meta = { flagSetId: 'staging', flagSetVersion: '3' };
    expect(await client.getBooleanDetails('bool', false)).toMatchObject({ value: true, reason: 'STATIC', flagMetadata: meta });
    expect(await client.getBooleanDetails('off', true)).toMatchObject({ value: false, reason: 'DISABLED' });
    expect(await client.getStringDetails('str', 'x')).toMatchObject({ value: 'go', variant: 'green', reason: 'STATIC' });
    expect(await client.getNumberDetails('num', 0)).toMatchObject({ value: 12, variant: 'n' });
    expect(await client.getObjectDetails('obj', {})).toMatchObject({ value: { a: [1, 2] }, variant: 'o' });
    expect(await client.getBooleanDetails('targeted', false, { plan: 'pro' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(await client.getBooleanDetails('targeted', false, { plan: 'free' })).toMatchObject({ value: false, reason: 'DEFAULT' });
    expect(await client.getBooleanValue('user', false, { targetingKey: 'alice' })).toBe(true);
    expect(await client.getBooleanValue('user', false, { targetingKey: 'bob' })).toBe(false);

    expect(await client.getBooleanDetails('missing', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(await client.getNumberDetails('str', 1)).toMatchObject({ value: 1, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(await client.getObjectDetails('json-scalar', { d: 1 })).toMatchObject({ value: { d: 1 }, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
  });

  it('emits CONFIGURATION_CHANGED with flagsChanged, STALE when stream and polling fail, READY when fresh again', async () => {
    const ctl = await streamingServer();
    const provider = new SwitchyardProvider(options(server!.url));
    const changes: string[][] = [];
    const events: string[] = [];
    ServerOF.addHandler(ServerEvents.ConfigurationChanged, (d) => changes.push(d?.flagsChanged ?? []));
    ServerOF.addHandler(ServerEvents.Stale, () => events.push('stale'));
    ServerOF.addHandler(ServerEvents.Ready, () => events.push('ready'));
    await ServerOF.setProviderAndWait(provider);
    await until(() => events.includes('ready'));
    const client = ServerOF.getClient();

    ctl.streams[0].event('unleash-updated', { events: [{ type: 'feature-updated', eventId: 4, feature: flag('off', true) }] }, 4);
    await until(() => changes.length === 1);
    expect(changes[0]).toEqual(['off']);
    expect(await client.getBooleanValue('off', false)).toBe(true);
    expect((await client.getBooleanDetails('off', false)).flagMetadata).toEqual({ flagSetId: 'staging', flagSetVersion: '4' });

    ctl.setUp(false);
    ctl.streams[0].destroy();
    await until(() => events.includes('stale'), 5000);
    await until(() => client.providerStatus === ServerStatus.STALE);
    expect(await client.getBooleanValue('off', false)).toBe(true); // still the last good set
    ctl.setUp(true);
    await until(() => events.filter((e) => e === 'ready').length === 2, 5000);
    await until(() => client.providerStatus === ServerStatus.READY);
  });

  it('maps track() to outcome counters sent with metrics', async () => {
    await streamingServer();
    const sdk = new SwitchyardClient({ ...options(server!.url), disableMetrics: false, metricsIntervalMs: 60_000 });
    await ServerOF.setProviderAndWait(new SwitchyardProvider(sdk));
    const client = ServerOF.getClient();
    await client.getBooleanValue('bool', false);
    client.track('purchase', { targetingKey: 'u' }, { value: 30, flag: 'bool', variant: 'on' });
    client.track('purchase', {}, { value: 12, flag: 'bool', variant: 'on' });
    expect(sdk.pendingMetrics()!.bucket.outcomes).toEqual([{ event: 'purchase', flag: 'bool', variant: 'on', count: 2, value: 42 }]);
    await ServerOF.close(); // the provider does not own the client
    expect(sdk.status).not.toBe('closed');
    await sdk.close();
    const body = JSON.parse(server!.requests.find((r) => r.path === '/api/client/metrics')!.body);
    expect(body.bucket.outcomes[0]).toMatchObject({ event: 'purchase', count: 2, value: 42 });
    expect(body.bucket.toggles.bool).toEqual({ yes: 1, no: 0, variants: {} });
  });

  it('a refused token puts the provider in an error state', async () => {
    server = await fakeServer();
    server.route('GET', '/api/client/streaming', (_req, res) => json(res, 403, {}));
    const provider = new SwitchyardProvider(options(server.url));
    await expect(ServerOF.setProviderAndWait(provider)).rejects.toBeTruthy();
    expect(ServerOF.getClient().providerStatus).toMatch(/ERROR|FATAL/);
  });

  it('maps OpenFeature contexts to Unleash contexts', () => {
    expect(
      toUnleashContext({ targetingKey: 'u1', sessionId: 's', currentTime: '2024-01-01T00:00:00Z', plan: 'pro', n: 3, ok: true, when: new Date(0), properties: { x: 'y' } }),
    ).toEqual({ userId: 'u1', sessionId: 's', currentTime: '2024-01-01T00:00:00Z', properties: { plan: 'pro', n: '3', ok: 'true', when: '1970-01-01T00:00:00.000Z', x: 'y' } });
    expect(toUnleashContext({ targetingKey: 'k', userId: 'explicit' }).userId).toBe('explicit');
  });
});

describe('OpenFeature web provider', () => {
  it('remote mode: evaluates for the static context, refetches on context change and on `changed`', async () => {
    server = await fakeServer();
    let extra = false;
    server.route('GET', '/api/frontend', (req, res) => {
      const plan = req.query.get('properties[plan]');
      const toggles = [
        { name: 'str', enabled: true, impressionData: false, variant: { name: 'green', enabled: true, payload: { type: 'string', value: 'go' }, feature_enabled: true } },
        ...(plan === 'pro' ? [{ name: 'pro-only', enabled: true, impressionData: false, variant: { name: 'disabled', enabled: false, feature_enabled: true } }] : []),
        ...(extra ? [{ name: 'late', enabled: true, impressionData: false, variant: { name: 'disabled', enabled: false, feature_enabled: true } }] : []),
      ];
      json(res, 200, { toggles });
    });
    server.route('GET', '/api/frontend/streaming', (req, res) => {
      server!.openStream(res, req);
    });
    const provider = new SwitchyardWebProvider({ url: server.url, token: 'default:production.front', appName: 'web', logger: silent, disableMetrics: true });
    const changes: string[][] = [];
    WebOF.addHandler(WebEvents.ConfigurationChanged, (d) => changes.push(d?.flagsChanged ?? []));
    await WebOF.setContext({ targetingKey: 'u1', plan: 'free' });
    await WebOF.setProviderAndWait(provider);
    const client = WebOF.getClient();
    expect(client.getStringDetails('str', 'x')).toMatchObject({ value: 'go', variant: 'green', reason: 'TARGETING_MATCH' });
    expect(client.getBooleanValue('pro-only', false)).toBe(false);
    const q = server.requests.filter((r) => r.path === '/api/frontend').at(-1)!.query;
    expect(q.get('userId')).toBe('u1');

    await WebOF.setContext({ targetingKey: 'u1', plan: 'pro' });
    expect(client.getBooleanValue('pro-only', false)).toBe(true);

    await until(() => server!.streams.length > 0);
    extra = true;
    server.streams[0].event('changed', { revision: 2 }, 2);
    await until(() => client.getBooleanValue('late', false));
    expect(changes.some((c) => c.includes('late'))).toBe(true);
  });

  it('local mode with a given client', async () => {
    const sdk = new SwitchyardClient({
      url: 'http://127.0.0.1:9',
      token: '*:dev.x',
      appName: 'web',
      logger: silent,
      disableMetrics: true,
      streaming: false,
      refreshIntervalMs: 60_000,
      bootstrap: { version: 2, features: FLAGS },
    });
    await WebOF.setContext({ plan: 'pro' });
    await WebOF.setProviderAndWait(new SwitchyardWebProvider(sdk));
    const client = WebOF.getClient();
    expect(client.getBooleanDetails('targeted', false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(client.getNumberValue('num', 0)).toBe(12);
    expect(client.getObjectValue('obj', {})).toEqual({ a: [1, 2] });
    await WebOF.close();
    await sdk.close();
  });
});
