/**
 * The official browser SDK (`unleash-proxy-client`) against Switchyard's frontend API: the
 * server evaluates for the SDK's context, the SDK sees only the result. Answers are cross-checked
 * against the official server-side SDK (`unleash-client`) evaluating the same flags locally.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryStorageProvider, UnleashClient } from 'unleash-proxy-client';
import { http, ok, startServerProcess, type ServerProcess } from './server.js';
import { startUnleash } from './sdk.js';

const ENV = 'fe-test';

const STATE = {
  version: 2,
  features: [
    {
      name: 'fe.beta-users',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '100', stickiness: 'default', groupId: 'fe.beta-users' },
          constraints: [{ contextName: 'userId', operator: 'IN', values: ['alice', 'bob'] }],
        },
      ],
    },
    {
      name: 'fe.checkout-color',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '100', stickiness: 'default', groupId: 'fe.checkout-color' },
          constraints: [{ contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@example.com'] }],
          variants: [{ name: 'blue', weight: 1000, weightType: 'variable', stickiness: 'default', payload: { type: 'json', value: '{"color":"#00f"}' } }],
        },
      ],
    },
    {
      name: 'fe.split',
      enabled: true,
      strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'userId', groupId: 'fe.split' } }],
      variants: [
        { name: 'red', weight: 500, weightType: 'variable', stickiness: 'userId', payload: { type: 'string', value: 'r' } },
        { name: 'green', weight: 500, weightType: 'variable', stickiness: 'userId', payload: { type: 'string', value: 'g' } },
      ],
    },
    { name: 'fe.off', enabled: false, strategies: [{ name: 'default', parameters: {} }] },
  ],
  segments: [],
};

let server: ServerProcess;
let frontendToken: string;
let backendToken: string;
const clients: UnleashClient[] = [];
const responses: { method: string; url: string; status: number }[] = [];

/** A fetch that records what the browser SDK asked and what the server answered. */
const recordingFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  responses.push({ method: init?.method ?? 'GET', url: String(input), status: res.status });
  return res;
};

async function startBrowserSdk(context: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<UnleashClient> {
  const client = new UnleashClient({
    url: server.url + '/api/frontend',
    clientKey: frontendToken,
    appName: 'e2e-frontend',
    refreshInterval: 3600,
    disableMetrics: true,
    storageProvider: new InMemoryStorageProvider(),
    fetch: recordingFetch,
    context: context as any,
    ...extra,
  });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`unleash-proxy-client not ready in 10 s; responses: ${JSON.stringify(responses.slice(-3))}`)), 10_000);
    client.on('ready', () => {
      clearTimeout(timer);
      resolve();
    });
    client.on('error', (e: unknown) => {
      clearTimeout(timer);
      reject(new Error(`unleash-proxy-client error: ${JSON.stringify(e)}`));
    });
    void client.start();
  });
  return client;
}

beforeAll(async () => {
  server = await startServerProcess({ logLevel: 'warn' });
  await ok(server, 'POST', '/api/admin/environments', { name: ENV, type: 'production' }, server.adminToken);
  await ok(server, 'POST', `/api/admin/import?environment=${ENV}`, STATE, server.adminToken);
  frontendToken = (await ok(server, 'POST', '/api/admin/tokens', { type: 'frontend', environment: ENV, name: 'fe' }, server.adminToken)).secret;
  backendToken = (await ok(server, 'POST', '/api/admin/tokens', { type: 'backend', environment: ENV, name: 'be' }, server.adminToken)).secret;
});

afterAll(async () => {
  for (const c of clients) c.stop();
  await server?.stop();
});

describe('unleash-proxy-client against the frontend API', () => {
  it('gets flags evaluated for its context, and updateContext changes the answer', async () => {
    const client = await startBrowserSdk({ userId: 'alice', properties: { email: 'alice@example.com' } });
    expect(client.isEnabled('fe.beta-users')).toBe(true);
    expect(client.isEnabled('fe.off')).toBe(false);
    expect(client.isEnabled('no.such.flag')).toBe(false);
    expect(client.getVariant('fe.checkout-color')).toEqual({
      name: 'blue',
      enabled: true,
      feature_enabled: true,
      payload: { type: 'json', value: '{"color":"#00f"}' },
    });
    // disabled flags are not sent to browsers at all
    expect(client.getAllToggles().map((t) => t.name)).not.toContain('fe.off');

    await client.updateContext({ userId: 'carol', properties: { email: 'carol@elsewhere.org' } });
    expect(client.isEnabled('fe.beta-users')).toBe(false);
    expect(client.getVariant('fe.checkout-color')).toMatchObject({ name: 'disabled', enabled: false, feature_enabled: false });

    await client.updateContext({ userId: 'bob', properties: { email: 'bob@example.com' } });
    expect(client.isEnabled('fe.beta-users')).toBe(true);
    expect(client.getVariant('fe.checkout-color').name).toBe('blue');

    const fetches = responses.filter((r) => r.url.includes('/api/frontend?'));
    expect(fetches.length).toBeGreaterThanOrEqual(3);
    expect(fetches.every((r) => r.status === 200 || r.status === 304)).toBe(true);
  });

  it('agrees with the official server-side SDK on rollouts and variants', async () => {
    const reference = await startUnleash({ url: server.url, token: backendToken, appName: 'e2e-frontend' });
    try {
      const client = await startBrowserSdk({ userId: 'u-0' });
      let enabledCount = 0;
      for (let i = 0; i < 30; i++) {
        const userId = `u-${i}`;
        await client.updateContext({ userId });
        const expected = reference.unleash.isEnabled('fe.split', { userId, appName: 'e2e-frontend' });
        expect(client.isEnabled('fe.split'), `fe.split for ${userId}`).toBe(expected);
        const { featureEnabled: _f, ...variant } = reference.unleash.getVariant('fe.split', { userId, appName: 'e2e-frontend' }) as any;
        if (expected) expect(client.getVariant('fe.split'), `variant for ${userId}`).toEqual(variant);
        if (expected) enabledCount++;
      }
      // a 50 % rollout over 30 users is neither all nor nothing
      expect(enabledCount).toBeGreaterThan(0);
      expect(enabledCount).toBeLessThan(30);
    } finally {
      reference.unleash.destroy();
    }
  });

  it('POST /api/frontend works too, and metrics from the browser SDK are accepted', async () => {
    const client = await startBrowserSdk({ userId: 'alice' }, { usePOSTrequests: true, disableMetrics: false, metricsInterval: 3600, metricsIntervalInitial: 0 });
    expect(client.isEnabled('fe.beta-users')).toBe(true);
    const post = responses.find((r) => r.method === 'POST' && /\/api\/frontend\/?$/.test(r.url));
    expect(post?.status).toBe(200);
    client.isEnabled('fe.beta-users');
    client.getVariant('fe.checkout-color');
    await client.sendMetrics();
    const metrics = responses.filter((r) => r.url.endsWith('/api/frontend/client/metrics'));
    expect(metrics.length).toBe(1);
    expect(metrics[0].status).toBeGreaterThanOrEqual(200);
    expect(metrics[0].status).toBeLessThan(300);
  });

  it('refuses tokens that are not frontend tokens, and no token', async () => {
    const none = await http(server, 'GET', '/api/frontend?userId=alice');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const backend = await http(server, 'GET', '/api/frontend?userId=alice', undefined, backendToken);
    expect(backend.status).toBe(403);
    const good = await http(server, 'GET', '/api/frontend?userId=alice', undefined, frontendToken);
    expect(good.status).toBe(200);
    expect(good.body.toggles.map((t: any) => t.name).sort()).toEqual(expect.arrayContaining(['fe.beta-users']));
  });
});
