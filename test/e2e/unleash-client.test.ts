/**
 * The official Unleash client specification, run through the real Switchyard server with the
 * official `unleash-client`: each spec's `state` is imported over HTTP into an environment, a
 * backend token is created, and every `tests`/`variantTests` case is checked through the SDK —
 * both with full-payload polling (`/api/client/features`) and delta polling (`/api/client/delta`).
 *
 * Specs 19 and 20 describe the delta API: their `state` is a list of delta events instead of a
 * client payload. 19 (one `hydration` event) is imported as is (the import accepts delta states).
 * 20 (`feature-updated`, `feature-removed`, `segment-updated` events) is *replayed* against the
 * server through the admin API (import, archive, import) while a delta-polling SDK is connected,
 * so the SDK really receives and applies the server's incremental events; a full-polling SDK
 * checks the end state too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, ok, startServerProcess, type ServerProcess } from './server.js';
import { eventually, startUnleash, type FetchMode } from './sdk.js';

const SPEC_DIR = join(ROOT, 'node_modules/@unleash/client-specification/specifications');
const specFiles: string[] = JSON.parse(readFileSync(join(SPEC_DIR, 'index.json'), 'utf8'));

interface Spec {
  name: string;
  state: any;
  tests?: { description: string; context: any; toggleName: string; expectedResult: boolean }[];
  variantTests?: { description: string; context: any; toggleName: string; expectedResult: any }[];
}
const load = (file: string): Spec => JSON.parse(readFileSync(join(SPEC_DIR, file), 'utf8'));

const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** A fresh server per spec (segments ids and flag names repeat across specs), with one environment named after it. */
async function setUp(spec: Spec) {
  const server = await startServerProcess({ logLevel: 'warn' });
  servers.push(server);
  const env = 'spec-' + spec.name.slice(0, 2);
  await ok(server, 'POST', '/api/admin/environments', { name: env, type: 'test' }, server.adminToken);
  const created = await ok(server, 'POST', '/api/admin/tokens', { type: 'backend', environment: env, name: spec.name }, server.adminToken);
  return { server, env, token: created.secret as string };
}

/** The SDK's variant in the spec's shape: `featureEnabled` is the SDK's camelCase alias, not part of the spec. */
function specVariant(actual: any, expected: any) {
  const { featureEnabled: _alias, ...rest } = actual;
  if (!('feature_enabled' in expected)) delete rest.feature_enabled;
  return rest;
}

/** Every mismatch between the SDK's answers and the spec, as readable lines (empty when all pass). */
function mismatches(unleash: any, spec: Spec, label: string): string[] {
  const out: string[] = [];
  for (const t of spec.tests ?? []) {
    const got = unleash.isEnabled(t.toggleName, t.context);
    if (got !== t.expectedResult) out.push(`[${label}] ${t.description}: isEnabled(${t.toggleName}) = ${got}, expected ${t.expectedResult}`);
  }
  for (const t of spec.variantTests ?? []) {
    const got = specVariant(unleash.getVariant(t.toggleName, t.context), t.expectedResult);
    try {
      expect(got).toStrictEqual(t.expectedResult);
    } catch {
      out.push(`[${label}] ${t.description}: getVariant(${t.toggleName}) = ${JSON.stringify(got)}, expected ${JSON.stringify(t.expectedResult)}`);
    }
  }
  return out;
}

async function checkWithSdk(server: ServerProcess, token: string, spec: Spec, mode: FetchMode) {
  const { unleash, warnings } = await startUnleash({ url: server.url, token, appName: `spec-${spec.name}-${mode}`, mode });
  try {
    return { failures: mismatches(unleash, spec, mode), warnings };
  } finally {
    unleash.destroy();
  }
}

const MODES: FetchMode[] = ['full', 'delta'];

describe.concurrent('Unleash client specification through Switchyard (unleash-client)', () => {
  for (const file of specFiles) {
    const spec = load(file);
    const cases = (spec.tests?.length ?? 0) + (spec.variantTests?.length ?? 0);
    if (Array.isArray(spec.state?.events) && spec.state.events.some((e: any) => e.type !== 'hydration')) {
      it(`${spec.name}: delta events replayed through the admin API (${cases} cases)`, async ({ expect }) => {
        const { server, env, token } = await setUp(spec);
        // Connect a delta-polling SDK first, so it sees the changes as incremental delta events.
        const live = await startUnleash({ url: server.url, token, appName: `spec-${spec.name}-live`, mode: 'delta', refreshInterval: 100 });
        try {
          await replayDeltaEvents(server, env, spec.state.events);
          await eventually(() => mismatches(live.unleash, spec, 'delta-live').length === 0, 10_000);
          expect(mismatches(live.unleash, spec, 'delta-live')).toEqual([]);
          expect(live.errors.map((e) => e.message)).toEqual([]);
        } finally {
          live.unleash.destroy();
        }
        for (const mode of MODES) {
          const { failures } = await checkWithSdk(server, token, spec, mode);
          expect(failures).toEqual([]);
        }
      });
      continue;
    }
    it(`${spec.name} (${cases} cases × ${MODES.join('/')})`, async ({ expect }) => {
      expect(cases).toBeGreaterThan(0);
      const { server, env, token } = await setUp(spec);
      // A delta `hydration` state (spec 19) is imported as is: the import accepts delta states.
      const imported = await ok(server, 'POST', `/api/admin/import?environment=${env}`, spec.state, server.adminToken);
      expect(imported).toHaveProperty('revision');
      for (const mode of MODES) {
        const { failures } = await checkWithSdk(server, token, spec, mode);
        expect(failures).toEqual([]);
      }
    });
  }
});

/**
 * Spec 20: apply each delta event to the server the way a user would. Consecutive
 * `feature-updated`/`segment-updated` events become one import (a segment must arrive with
 * or before the flags that use it); `feature-removed` archives the flag.
 */
async function replayDeltaEvents(server: ServerProcess, env: string, events: any[]) {
  let batch = { features: [] as any[], segments: [] as any[] };
  const flush = async () => {
    if (!batch.features.length && !batch.segments.length) return;
    await ok(server, 'POST', `/api/admin/import?environment=${env}`, { version: 2, ...batch }, server.adminToken);
    batch = { features: [], segments: [] };
  };
  for (const event of events) {
    switch (event.type) {
      case 'feature-updated':
        batch.features.push(event.feature);
        break;
      case 'segment-updated':
        batch.segments.push(event.segment);
        break;
      case 'feature-removed':
        await flush();
        await ok(server, 'POST', `/api/admin/flags/${encodeURIComponent(event.featureName)}/archive`, {}, server.adminToken);
        break;
      default:
        throw new Error(`delta event type ${event.type} is not replayable here`);
    }
  }
  await flush();
}

describe('environments on one server stay apart', () => {
  it('09 and 11 share the flag name Feature.constraints.empty: each environment answers its own spec', async () => {
    const server = await startServerProcess({ logLevel: 'warn' });
    servers.push(server);
    for (const file of ['09-strategy-constraints.json', '11-strategy-constraints-edge-cases.json']) {
      const spec = load(file);
      const env = 'env-' + spec.name.slice(0, 2);
      await ok(server, 'POST', '/api/admin/environments', { name: env }, server.adminToken);
      await ok(server, 'POST', `/api/admin/import?environment=${env}`, spec.state, server.adminToken);
    }
    for (const file of ['09-strategy-constraints.json', '11-strategy-constraints-edge-cases.json']) {
      const spec = load(file);
      const env = 'env-' + spec.name.slice(0, 2);
      const token = (await ok(server, 'POST', '/api/admin/tokens', { type: 'backend', environment: env }, server.adminToken)).secret;
      const { failures } = await checkWithSdk(server, token, spec, 'full');
      expect(failures).toEqual([]);
    }
  });
});

describe('SDK registration and metrics', () => {
  it('accepts register and metrics posts from unleash-client', async () => {
    const spec = load('01-simple-examples.json');
    const { server, env, token } = await setUp(spec);
    await ok(server, 'POST', `/api/admin/import?environment=${env}`, spec.state, server.adminToken);
    const appName = 'e2e-metrics-app';
    let registered: any;
    const sent: any[] = [];
    const { unleash, warnings, errors } = await startUnleash({
      url: server.url,
      token,
      appName,
      disableMetrics: false,
      metricsInterval: 300,
      onCreate: (u) => {
        u.on('registered', (p: unknown) => (registered = p));
        u.on('sent', (p: unknown) => sent.push(p));
      },
    });
    try {
      // `registered` is emitted only on a 2xx answer to POST /api/client/register.
      expect(await eventually(() => registered !== undefined, 5000), `not registered; warnings: ${warnings.join('; ')}`).toBe(true);
      expect(registered).toMatchObject({ appName });
      for (let i = 0; i < 10; i++) unleash.isEnabled('Feature.A', { userId: String(i) });
      unleash.getVariant('Feature.A', {});
      // `sent` is emitted only on a 2xx answer to POST /api/client/metrics.
      const toggled = () => sent.some((p) => p.bucket?.toggles?.['Feature.A']);
      expect(await eventually(toggled, 5000), `no metrics accepted; warnings: ${warnings.join('; ')}`).toBe(true);
      const payload = sent.find((p) => p.bucket?.toggles?.['Feature.A']);
      expect(payload.bucket.toggles['Feature.A'].yes + payload.bucket.toggles['Feature.A'].no).toBe(11);
      expect(warnings.filter((w) => /returning \d+/.test(w))).toEqual([]);
      expect(errors.map((e) => e.message)).toEqual([]);

      // …and the server stored them: read its SQLite database directly (read-only).
      const db = new Database(join(server.dataDir, 'switchyard.db'), { readonly: true, fileMustExist: true });
      try {
        const app = db.prepare('SELECT * FROM client_applications WHERE app_name = ?').get(appName) as any;
        expect(app).toMatchObject({ app_name: appName, environment: env });
        const stored = () => db.prepare('SELECT SUM(yes) AS yes, SUM(no) AS no FROM flag_metrics WHERE flag = ? AND app_name = ?').get('Feature.A', appName) as any;
        await eventually(() => (stored()?.yes ?? 0) + (stored()?.no ?? 0) >= 11, 3000);
        expect(stored().yes + stored().no).toBe(11);
      } finally {
        db.close();
      }
    } finally {
      unleash.destroy();
    }
  });
});
