/**
 * OFREP against the real server process with the published OpenFeature packages, unchanged:
 *
 * - `@openfeature/ofrep-provider` (server, dynamic context: one request per evaluation) with
 *   `@openfeature/server-sdk`;
 * - `@openfeature/ofrep-web-provider` (static context: bulk evaluation, cached, ETag) with
 *   `@openfeature/web-sdk`, run in Node: `fetch` is Node's, `EventSource` (the browser API the
 *   provider uses for `eventStreams`) comes from the `eventsource` package. A flag change made
 *   through the admin API reaches the provider as PROVIDER_CONFIGURATION_CHANGED, once over the
 *   event stream and once by polling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSource } from 'eventsource';
import { OpenFeature as ServerOpenFeature, type Client as ServerClient } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature, ProviderEvents, type Client as WebClient, type EventDetails } from '@openfeature/web-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { ok, startServerProcess, type ServerProcess } from './server.js';
import { eventually } from './sdk.js';

const ENV = 'ofrep-e2e';

const variant = (name: string, payload: { type: string; value: string }, weight = 1000) => ({ name, weight, weightType: 'variable', stickiness: 'userId', payload });

const STATE = {
  version: 2,
  features: [
    { name: 'of.bool', enabled: true, strategies: [{ name: 'default', parameters: {} }] },
    { name: 'of.off', enabled: false, strategies: [{ name: 'default', parameters: {} }] },
    {
      name: 'of.targeted',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '100', stickiness: 'default', groupId: 'of.targeted' },
          constraints: [{ contextName: 'userId', operator: 'IN', values: ['alice'] }],
        },
      ],
    },
    {
      name: 'of.plan',
      enabled: true,
      strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }] }],
    },
    { name: 'of.string', enabled: true, strategies: [{ name: 'default', parameters: {} }], variants: [variant('greeting', { type: 'string', value: 'hello' })] },
    { name: 'of.number', enabled: true, strategies: [{ name: 'default', parameters: {} }], variants: [variant('limit', { type: 'number', value: '42' })] },
    { name: 'of.json', enabled: true, strategies: [{ name: 'default', parameters: {} }], variants: [variant('theme', { type: 'json', value: '{"color":"#00f","dark":true}' })] },
    {
      name: 'of.split',
      enabled: true,
      strategies: [{ name: 'default', parameters: {} }],
      variants: [variant('red', { type: 'string', value: 'r' }, 500), variant('green', { type: 'string', value: 'g' }, 500)],
    },
    { name: 'of.variant-off', enabled: false, strategies: [{ name: 'default', parameters: {} }], variants: [variant('x', { type: 'string', value: 'x' })] },
  ],
  segments: [],
};

let server: ServerProcess;
let backendToken: string;
let frontendToken: string;
const hadEventSource = 'EventSource' in globalThis;

beforeAll(async () => {
  server = await startServerProcess({ logLevel: 'warn' });
  await ok(server, 'POST', '/api/admin/environments', { name: ENV, type: 'test' }, server.adminToken);
  await ok(server, 'POST', `/api/admin/import?environment=${ENV}`, STATE, server.adminToken);
  backendToken = (await ok(server, 'POST', '/api/admin/tokens', { type: 'backend', environment: ENV, name: 'ofrep-server' }, server.adminToken)).secret;
  frontendToken = (await ok(server, 'POST', '/api/admin/tokens', { type: 'frontend', environment: ENV, name: 'ofrep-web' }, server.adminToken)).secret;
  // The browser API the web provider connects eventStreams with.
  if (!hadEventSource) (globalThis as any).EventSource = EventSource;
});

afterAll(async () => {
  await Promise.allSettled([WebOpenFeature.close(), ServerOpenFeature.close()]);
  if (!hadEventSource) delete (globalThis as any).EventSource;
  await server?.stop();
});

const toggle = (flag: string, on: boolean) => ok(server, 'POST', `/api/admin/flags/${flag}/environments/${ENV}/${on ? 'on' : 'off'}`, {}, server.adminToken);

describe('server provider (@openfeature/ofrep-provider + @openfeature/server-sdk)', () => {
  let client: ServerClient;

  beforeAll(async () => {
    await ServerOpenFeature.setProviderAndWait('ofrep-server', new OFREPProvider({ baseUrl: server.url, headers: [['Authorization', `Bearer ${backendToken}`]] }));
    client = ServerOpenFeature.getClient('ofrep-server');
  });

  it('resolves booleans with variants, reasons and flag metadata', async () => {
    const on = await client.getBooleanDetails('of.bool', false, { targetingKey: 'alice' });
    expect(on).toMatchObject({ flagKey: 'of.bool', value: true, variant: 'on', reason: 'STATIC' });
    expect(on.errorCode).toBeUndefined();
    expect(on.flagMetadata).toEqual({ enabled: true, project: 'default', flagSetId: ENV, version: expect.stringMatching(/^\d+$/) });
    expect(await client.getBooleanDetails('of.off', true, { targetingKey: 'alice' })).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
    expect(await client.getBooleanDetails('of.targeted', false, { targetingKey: 'alice' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(await client.getBooleanDetails('of.targeted', true, { targetingKey: 'bob' })).toMatchObject({ value: false, variant: 'off', reason: 'DEFAULT' });
    expect(await client.getBooleanValue('of.plan', false, { targetingKey: 'bob', plan: 'pro' })).toBe(true);
    expect(await client.getBooleanValue('of.plan', true, { targetingKey: 'bob', plan: 'free' })).toBe(false);
  });

  it('resolves string, number and object variants', async () => {
    expect(await client.getStringDetails('of.string', 'default', { targetingKey: 'alice' })).toMatchObject({ value: 'hello', variant: 'greeting', reason: 'STATIC' });
    expect(await client.getNumberDetails('of.number', 0, { targetingKey: 'alice' })).toMatchObject({ value: 42, variant: 'limit' });
    expect(await client.getObjectDetails('of.json', {}, { targetingKey: 'alice' })).toMatchObject({ value: { color: '#00f', dark: true }, variant: 'theme' });
    const seen = new Set<string>();
    for (const user of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10']) {
      const d = await client.getStringDetails('of.split', 'none', { targetingKey: user });
      expect(d.reason).toBe('SPLIT');
      expect(d.value).toBe(d.variant === 'red' ? 'r' : 'g');
      seen.add(d.variant!);
      // sticky: the same user gets the same variant
      expect((await client.getStringDetails('of.split', 'none', { targetingKey: user })).variant).toBe(d.variant);
    }
    expect(seen).toEqual(new Set(['red', 'green']));
  });

  it('returns the default value with the error code for unknown flags, type mismatches and bad credentials', async () => {
    expect(await client.getBooleanDetails('of.missing', true, { targetingKey: 'alice' })).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(await client.getStringDetails('of.bool', 'fallback', { targetingKey: 'alice' })).toMatchObject({ value: 'fallback', reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    // A variant flag without a variant for the context has no value (OFREP ADR-0006, code default);
    // this provider version predates that and reports it as an error, with the default value.
    expect((await client.getStringDetails('of.variant-off', 'code-default', { targetingKey: 'alice' })).value).toBe('code-default');

    await ServerOpenFeature.setProviderAndWait('ofrep-admin', new OFREPProvider({ baseUrl: server.url, headers: [['Authorization', `Bearer ${server.adminToken}`]] }));
    const denied = await ServerOpenFeature.getClient('ofrep-admin').getBooleanDetails('of.bool', false);
    expect(denied).toMatchObject({ value: false, reason: 'ERROR' });
    await ServerOpenFeature.setProviderAndWait('ofrep-apikey', new OFREPProvider({ baseUrl: server.url, headers: { 'X-API-Key': frontendToken } }));
    expect(await ServerOpenFeature.getClient('ofrep-apikey').getBooleanValue('of.bool', false)).toBe(true);
  });
});

describe('web provider (@openfeature/ofrep-web-provider + @openfeature/web-sdk)', () => {
  const requests: string[] = [];
  /** Node's fetch, recording what the provider asked and what it got. */
  const recordingFetch: typeof fetch = async (input, init) => {
    const req = input instanceof Request ? input : new Request(input, init);
    const res = await fetch(input, init);
    requests.push(`${req.method} ${new URL(req.url).pathname}${new URL(req.url).search} → ${res.status}`);
    return res;
  };

  it('resolves every type from the bulk evaluation, and follows context changes', async () => {
    const provider = new OFREPWebProvider({ baseUrl: server.url, headers: [['Authorization', `Bearer ${frontendToken}`]], cacheMode: 'disabled', fetchImplementation: recordingFetch });
    await WebOpenFeature.setContext('web-types', { targetingKey: 'alice', plan: 'pro' });
    await WebOpenFeature.setProviderAndWait('web-types', provider);
    const client: WebClient = WebOpenFeature.getClient('web-types');
    expect(client.getBooleanDetails('of.bool', false)).toMatchObject({ value: true, variant: 'on', reason: 'STATIC', flagMetadata: { enabled: true, project: 'default' } });
    expect(client.getBooleanDetails('of.off', true)).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
    expect(client.getBooleanDetails('of.targeted', false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(client.getBooleanValue('of.plan', false)).toBe(true);
    expect(client.getStringDetails('of.string', 'x')).toMatchObject({ value: 'hello', variant: 'greeting' });
    expect(client.getNumberDetails('of.number', 0)).toMatchObject({ value: 42, variant: 'limit' });
    expect(client.getObjectDetails('of.json', {})).toMatchObject({ value: { color: '#00f', dark: true }, variant: 'theme' });
    expect(client.getStringDetails('of.split', 'none').reason).toBe('SPLIT');
    // no variant for the context: the code default, with the reason and the "disabled" variant
    expect(client.getStringDetails('of.variant-off', 'code-default')).toMatchObject({ value: 'code-default', reason: 'DISABLED', variant: 'disabled' });
    expect(client.getBooleanDetails('of.missing', true)).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND' });
    expect(client.getNumberDetails('of.string', 7)).toMatchObject({ value: 7, errorCode: 'TYPE_MISMATCH' });

    // a new context is evaluated again (bulk request with the new context)
    await WebOpenFeature.setContext('web-types', { targetingKey: 'bob', plan: 'free' });
    expect(client.getBooleanValue('of.targeted', true)).toBe(false);
    expect(client.getBooleanValue('of.plan', true)).toBe(false);
    expect(requests.filter((r) => r.startsWith('POST /ofrep/v1/evaluate/flags')).length).toBeGreaterThanOrEqual(2);
  });

  it('hears a flag change over the event stream (refetchEvaluation → CONFIGURATION_CHANGED)', async () => {
    requests.length = 0;
    const provider = new OFREPWebProvider({ baseUrl: server.url, headers: [['Authorization', `Bearer ${frontendToken}`]], cacheMode: 'disabled', fetchImplementation: recordingFetch });
    await WebOpenFeature.setContext('web-sse', { targetingKey: 'alice' });
    await WebOpenFeature.setProviderAndWait('web-sse', provider);
    const client = WebOpenFeature.getClient('web-sse');
    const changes: EventDetails[] = [];
    client.addHandler(ProviderEvents.ConfigurationChanged, (d) => changes.push(d!));
    expect(client.getBooleanValue('of.off', true)).toBe(false);
    // the provider is connected to the stream the bulk response advertised (no polling configured);
    // the stream's first refetchEvaluation is answered with a 304
    expect(await eventually(() => requests.some((r) => r.includes('flagConfigEtag=') && r.endsWith('304')), 5000)).toBe(true);

    const t0 = Date.now();
    await toggle('of.off', true);
    expect(await eventually(() => changes.some((c) => c.flagsChanged?.includes('of.off')), 5000)).toBe(true);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(2000);
    expect(client.getBooleanDetails('of.off', false)).toMatchObject({ value: true, variant: 'on' });
    expect(changes.find((c) => c.flagsChanged?.includes('of.off'))!.flagsChanged).toEqual(['of.off']);
    expect(requests.some((r) => /^POST \/ofrep\/v1\/evaluate\/flags\?flagConfigEtag=%22\d+%22&flagConfigLastModified=\d+ → 200$/.test(r))).toBe(true);

    await toggle('of.off', false);
    expect(await eventually(() => client.getBooleanValue('of.off', true) === false, 5000)).toBe(true);
    await WebOpenFeature.clearProviders();
  });

  it('hears a flag change by polling when told to poll (ETag/304 in between)', async () => {
    requests.length = 0;
    const provider = new OFREPWebProvider({
      baseUrl: server.url,
      headers: [['Authorization', `Bearer ${frontendToken}`]],
      cacheMode: 'disabled',
      changeDetection: 'polling',
      pollInterval: 100,
      fetchImplementation: recordingFetch,
    });
    await WebOpenFeature.setContext('web-poll', { targetingKey: 'alice' });
    await WebOpenFeature.setProviderAndWait('web-poll', provider);
    const client = WebOpenFeature.getClient('web-poll');
    const changes: EventDetails[] = [];
    client.addHandler(ProviderEvents.ConfigurationChanged, (d) => changes.push(d!));
    expect(client.getStringValue('of.string', 'x')).toBe('hello');
    expect(await eventually(() => requests.filter((r) => r.endsWith('304')).length >= 2, 5000)).toBe(true);
    expect(changes).toHaveLength(0);

    await toggle('of.string', false);
    expect(await eventually(() => changes.some((c) => c.flagsChanged?.includes('of.string')), 5000)).toBe(true);
    expect(client.getStringDetails('of.string', 'code-default')).toMatchObject({ value: 'code-default', reason: 'DISABLED' });
    await toggle('of.string', true);
    expect(await eventually(() => client.getStringValue('of.string', 'x') === 'hello', 5000)).toBe(true);
    await WebOpenFeature.clearProviders();
  });

  it('fails fast (PROVIDER_FATAL) with a token OFREP does not accept', async () => {
    const provider = new OFREPWebProvider({ baseUrl: server.url, headers: [['Authorization', `Bearer ${server.adminToken}`]], cacheMode: 'disabled' });
    await expect(WebOpenFeature.setProviderAndWait('web-admin', provider)).rejects.toThrow();
    expect(WebOpenFeature.getClient('web-admin').getBooleanDetails('of.bool', false)).toMatchObject({ value: false, reason: 'ERROR' });
  });
});
