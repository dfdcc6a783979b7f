/**
 * The official SDKs, unchanged, against the in-process server over real HTTP: `unleash-client`
 * (server side) and `unleash-proxy-client` (frontend). They must sync, evaluate, revalidate with
 * ETag/304, register and send metrics that end up stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { UnleashClient, InMemoryStorageProvider } from 'unleash-proxy-client';
import { createTestApp, type TestApp } from './harness.js';
import { createSegment, putFlag, setEnabled, token } from './fixtures.js';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('official SDKs against the server', () => {
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    const beta = await createSegment(t, 'beta', [{ contextName: 'userId', operator: 'IN', values: ['u1'] }]);
    await putFlag(t, { name: 'sdk.on', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
    await putFlag(t, {
      name: 'sdk.segment',
      environments: {
        development: {
          enabled: true,
          strategies: [{ name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'default', groupId: 'sdk.segment' }, segments: [beta] }],
          variants: [{ name: 'v1', weight: 1000, weightType: 'variable', stickiness: 'default', payload: { type: 'json', value: '{"a":1}' } }],
        },
      },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('unleash-client syncs, evaluates segments, revalidates with 304 and reports metrics', async () => {
    const secret = await token(t, 'backend', 'development');
    const unleash = new Unleash({
      url: `${url}/api/`,
      appName: 'sdk-test',
      instanceId: 'sdk-1',
      customHeaders: { Authorization: secret },
      refreshInterval: 100,
      metricsInterval: 200,
      metricsJitter: 0,
      storageProvider: new InMemStorageProvider(),
      skipInstanceCountWarning: true,
    });
    const errors: Error[] = [];
    unleash.on('error', (e: Error) => errors.push(e));
    unleash.on('warn', () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('did not synchronize')), 10_000);
        unleash.once('synchronized', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      expect(unleash.isEnabled('sdk.on')).toBe(true);
      expect(unleash.isEnabled('sdk.segment', { userId: 'u1' })).toBe(true);
      expect(unleash.isEnabled('sdk.segment', { userId: 'u2' })).toBe(false);
      expect(unleash.getVariant('sdk.segment', { userId: 'u1' })).toMatchObject({ name: 'v1', enabled: true, payload: { type: 'json', value: '{"a":1}' } });

      // a few polls later the server has answered 304s, and a change reaches the SDK
      await eventually(async () => /route="\/api\/client\/features",status="304"/.test(await t.services.registry.metrics()));
      expect(await t.services.registry.metrics()).toMatch(/route="\/api\/client\/features",status="304"/);
      await setEnabled(t, 'sdk.on', 'development', false);
      expect(await eventually(() => !unleash.isEnabled('sdk.on'))).toBe(true);
      await setEnabled(t, 'sdk.on', 'development', true);

      const registered = await eventually(async () =>
        !!(await t.services.storage.db.selectFrom('client_applications').select('app_name').where('app_name', '=', 'sdk-test').executeTakeFirst()),
      );
      expect(registered).toBe(true);
      const stored = await eventually(async () => {
        const row = await t.services.storage.db.selectFrom('flag_metrics').selectAll().where('app_name', '=', 'sdk-test').where('flag', '=', 'sdk.segment').executeTakeFirst();
        return !!row && Number(row.yes) >= 2 && Number(row.no) >= 1;
      });
      expect(stored).toBe(true);
      const row = await t.services.storage.db.selectFrom('flag_metrics').selectAll().where('app_name', '=', 'sdk-test').where('flag', '=', 'sdk.segment').executeTakeFirstOrThrow();
      expect(JSON.parse(row.variants)).toMatchObject({ v1: 1 });
      expect(errors).toEqual([]);
    } finally {
      unleash.destroy();
    }
  });

  it('unleash-client in delta polling mode follows changes', async () => {
    const secret = await token(t, 'backend', 'development');
    const unleash = new Unleash({
      url: `${url}/api/`,
      appName: 'sdk-delta',
      customHeaders: { Authorization: secret },
      refreshInterval: 100,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
      skipInstanceCountWarning: true,
      experimentalMode: { type: 'polling', format: 'delta' },
    });
    const errors: Error[] = [];
    unleash.on('error', (e: Error) => errors.push(e));
    unleash.on('warn', () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('did not synchronize')), 10_000);
        unleash.once('synchronized', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      expect(unleash.isEnabled('sdk.on')).toBe(true);
      expect(unleash.isEnabled('sdk.segment', { userId: 'u1' })).toBe(true);
      await setEnabled(t, 'sdk.on', 'development', false);
      expect(await eventually(() => !unleash.isEnabled('sdk.on'))).toBe(true);
      await putFlag(t, { name: 'sdk.later', environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
      expect(await eventually(() => unleash.isEnabled('sdk.later'))).toBe(true);
      await putFlag(t, { name: 'sdk.later', archived: true });
      expect(await eventually(() => !unleash.isEnabled('sdk.later'))).toBe(true);
      await setEnabled(t, 'sdk.on', 'development', true);
      expect(await eventually(() => unleash.isEnabled('sdk.on'))).toBe(true);
      expect(await eventually(async () => /route="\/api\/client\/delta",status="304"/.test(await t.services.registry.metrics()))).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      unleash.destroy();
    }
  });

  it('unleash-proxy-client gets evaluated flags from the frontend API and sends metrics', async () => {
    const secret = await token(t, 'frontend', 'development');
    const client = new UnleashClient({
      url: `${url}/api/frontend`,
      clientKey: secret,
      appName: 'web-test',
      refreshInterval: 0,
      metricsInterval: 1,
      storageProvider: new InMemoryStorageProvider(),
      context: { userId: 'u1' },
    });
    const errors: unknown[] = [];
    client.on('error', (e: unknown) => errors.push(e));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('proxy client not ready')), 10_000);
        client.on('ready', () => {
          clearTimeout(timer);
          resolve();
        });
        void client.start();
      });
      expect(client.isEnabled('sdk.on')).toBe(true);
      expect(client.isEnabled('sdk.segment')).toBe(true);
      expect(client.getVariant('sdk.segment')).toMatchObject({ name: 'v1', enabled: true, payload: { type: 'json', value: '{"a":1}' } });
      await client.updateContext({ userId: 'u2' });
      expect(client.isEnabled('sdk.segment')).toBe(false);
      const stored = await eventually(async () =>
        !!(await t.services.storage.db.selectFrom('flag_metrics').select('flag').where('app_name', '=', 'web-test').executeTakeFirst()),
      );
      expect(stored).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      client.stop();
    }
  });
});
