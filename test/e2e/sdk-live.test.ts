/**
 * @switchyard/sdk against a real server process: local mode (backend token, streaming from
 * /api/client/streaming), remote mode (frontend token, /api/frontend + /api/frontend/streaming),
 * and the OpenFeature server provider — ready, evaluate, admin change → `changed` with names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { SwitchyardClient, type SwitchyardError } from '@switchyard/sdk/node';
import { SwitchyardProvider } from '@switchyard/sdk/openfeature-server';
import { ok, startServerProcess, type ServerProcess } from './server.js';
import { eventually } from './sdk.js';

const ENV = 'sdk-live';
const silent = { debug() {}, info() {}, warn() {}, error() {} };
let server: ServerProcess;
let backend: string;
let frontend: string;
const clients: SwitchyardClient[] = [];

const STATE = {
  version: 2,
  features: [
    { name: 'live.toggle', enabled: false, strategies: [{ name: 'default', parameters: {} }] },
    { name: 'live.steady', enabled: true, impressionData: true, strategies: [{ name: 'default', parameters: {} }] },
    {
      name: 'live.pro',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '100', stickiness: 'default', groupId: 'live.pro' },
          constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }],
          variants: [{ name: 'gold', weight: 1000, weightType: 'variable', stickiness: 'default', payload: { type: 'json', value: '{"limit":100}' } }],
        },
      ],
    },
  ],
  segments: [],
};

beforeAll(async () => {
  server = await startServerProcess({ logLevel: 'warn' });
  await ok(server, 'POST', '/api/admin/environments', { name: ENV }, server.adminToken);
  await ok(server, 'POST', `/api/admin/import?environment=${ENV}`, STATE, server.adminToken);
  backend = (await ok(server, 'POST', '/api/admin/tokens', { type: 'backend', environment: ENV }, server.adminToken)).secret;
  frontend = (await ok(server, 'POST', '/api/admin/tokens', { type: 'frontend', environment: ENV }, server.adminToken)).secret;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await OpenFeature.close();
  await server?.stop();
});

async function serverRevision(): Promise<number> {
  const res = await fetch(`${server.url}/api/client/features`, { headers: { authorization: backend } });
  return (await res.json()).meta.revisionId;
}

function start(opts: Partial<ConstructorParameters<typeof SwitchyardClient>[0]> = {}) {
  const c = new SwitchyardClient({ url: server.url, token: backend, appName: 'e2e-sdk', logger: silent, refreshIntervalMs: 60_000, metricsIntervalMs: 60_000, ...opts });
  clients.push(c);
  return c;
}

describe('@switchyard/sdk against a real server', () => {
  it('local mode: ready from the stream, evaluates, and gets an admin change pushed as `changed` with the flag name', async () => {
    const c = start();
    const errors: SwitchyardError[] = [];
    c.on('error', (e) => errors.push(e));
    const changed: string[][] = [];
    c.on('changed', (n) => changed.push(n));
    await c.ready({ timeoutMs: 10_000 });
    expect(c.source).toBe('stream');
    expect(c.revision).toBe(await serverRevision());
    expect(c.flagMetadata.flagSetId).toBe(ENV);
    expect(c.isEnabled('live.toggle')).toBe(false);
    expect(c.isEnabled('live.steady')).toBe(true);
    expect(c.getJson('live.pro', {}, { properties: { plan: 'pro' } })).toEqual({ limit: 100 });
    expect(c.getJson('live.pro', { limit: 1 }, { properties: { plan: 'free' } })).toEqual({ limit: 1 });
    expect(c.evaluate('live.pro', { properties: { plan: 'pro' } }).reason).toBe('TARGETING_MATCH');

    await ok(server, 'POST', `/api/admin/flags/live.toggle/environments/${ENV}/on`, undefined, server.adminToken);
    expect(await eventually(() => changed.length > 0, 5000, 10)).toBe(true);
    expect(changed[0]).toEqual(['live.toggle']);
    expect(c.isEnabled('live.toggle')).toBe(true);
    expect(c.revision).toBe(await serverRevision());
    // the stream delivered it: no polling happened
    expect(c.source).toBe('stream');

    await ok(server, 'POST', `/api/admin/flags/live.toggle/environments/${ENV}/off`, undefined, server.adminToken);
    expect(await eventually(() => !c.isEnabled('live.toggle'), 5000, 10)).toBe(true);
    await c.close();
    expect(errors.map((e) => e.message)).toEqual([]);
  });

  it('local mode, polling only: ETag polling converges too, and metrics are accepted', async () => {
    const c = start({ streaming: false, refreshIntervalMs: 100 });
    const errors: SwitchyardError[] = [];
    c.on('error', (e) => errors.push(e));
    await c.ready({ timeoutMs: 10_000 });
    expect(c.source).toBe('poll');
    expect(c.etag).toMatch(/^"/);
    c.isEnabled('live.steady');
    c.getVariant('live.pro', { properties: { plan: 'pro' } });
    c.track('checkout', { flag: 'live.pro', variant: 'gold', value: 1 });
    await ok(server, 'POST', `/api/admin/flags/live.toggle/environments/${ENV}/on`, undefined, server.adminToken);
    expect(await eventually(() => c.isEnabled('live.toggle'), 5000, 10)).toBe(true);
    await ok(server, 'POST', `/api/admin/flags/live.toggle/environments/${ENV}/off`, undefined, server.adminToken);
    await c.close();
    expect(errors.map((e) => e.message)).toEqual([]);
  });

  it('remote mode (frontend token): the server evaluates for the context; `changed` on the frontend stream refetches', async () => {
    const c = start({ token: frontend, mode: 'remote', context: { userId: 'u1', properties: { plan: 'pro' } } });
    const changed: string[][] = [];
    c.on('changed', (n) => changed.push(n));
    await c.ready({ timeoutMs: 10_000 });
    expect(c.isEnabled('live.steady')).toBe(true);
    expect(c.isEnabled('live.toggle')).toBe(false);
    expect(c.getVariant('live.pro')).toMatchObject({ name: 'gold', enabled: true });
    expect(c.evaluate('live.toggle').reason).toBe('DISABLED'); // off, and the server says so
    expect(c.evaluate('live.nope')).toMatchObject({ reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    await c.updateContext({ properties: { plan: 'free' } });
    expect(c.isEnabled('live.pro')).toBe(false);

    await ok(server, 'POST', `/api/admin/flags/live.toggle/environments/${ENV}/on`, undefined, server.adminToken);
    expect(await eventually(() => c.isEnabled('live.toggle'), 5000, 10)).toBe(true);
    expect(changed.at(-1)).toEqual(['live.toggle']);
    await ok(server, 'POST', `/api/admin/flags/live.toggle/environments/${ENV}/off`, undefined, server.adminToken);
    expect(await eventually(() => !c.isEnabled('live.toggle'), 5000, 10)).toBe(true);
    await c.close();
  });

  it('OpenFeature server provider: typed values and CONFIGURATION_CHANGED with flagsChanged', async () => {
    const provider = new SwitchyardProvider({ url: server.url, token: backend, appName: 'e2e-of', logger: silent, disableMetrics: true });
    const changes: string[][] = [];
    OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, (d) => changes.push(d?.flagsChanged ?? []));
    await OpenFeature.setProviderAndWait(provider);
    const client = OpenFeature.getClient();
    expect(await client.getObjectDetails('live.pro', {}, { plan: 'pro' })).toMatchObject({ value: { limit: 100 }, variant: 'gold', reason: 'TARGETING_MATCH', flagMetadata: { flagSetId: ENV } });
    expect(await client.getBooleanDetails('live.nope', false)).toMatchObject({ reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    await ok(server, 'POST', `/api/admin/flags/live.toggle/environments/${ENV}/on`, undefined, server.adminToken);
    expect(await eventually(() => changes.some((c) => c.includes('live.toggle')), 5000, 10)).toBe(true);
    expect(await client.getBooleanValue('live.toggle', false)).toBe(true);
    await ok(server, 'POST', `/api/admin/flags/live.toggle/environments/${ENV}/off`, undefined, server.adminToken);
    await OpenFeature.close();
  });
});
