import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { api, createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';

const SPEC_DIR = join(process.cwd(), 'node_modules/@unleash/client-specification/specifications');
const specFiles: string[] = JSON.parse(readFileSync(join(SPEC_DIR, 'index.json'), 'utf8'));
const load = (file: string) => JSON.parse(readFileSync(join(SPEC_DIR, file), 'utf8')) as { name: string; state: any };

/** The features a spec state ends up with (delta states fold their events). */
function expectedFeatures(state: any): any[] {
  if (Array.isArray(state.features)) return state.features;
  const map = new Map<string, any>();
  for (const e of state.events) {
    if (e.type === 'hydration') for (const f of e.features) map.set(f.name, f);
    if (e.type === 'feature-updated') map.set(e.feature.name, e.feature);
    if (e.type === 'feature-removed') map.delete(e.featureName);
  }
  return [...map.values()];
}

const revisionOf = async (t: TestApp, env: string) =>
  (await api(t, 'GET', '/api/admin/environments')).body.environments.find((e: any) => e.name === env).revision as number;

const withoutTimestamps = (x: any) => {
  const { exportedAt: _e, ...rest } = x;
  return rest;
};

describeEachDialect('import/export', (dialect) => {
  const apps: TestApp[] = [];
  const fresh = async () => {
    const t = await createTestApp(dialect);
    apps.push(t);
    return t;
  };
  /** Closes every app opened so far (PostgreSQL connections are limited). */
  const closeAll = async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  };
  beforeAll(async () => {
  });
  afterEach(async () => {
    await closeAll();
  });

  it('imports every client-specification state faithfully, in one revision', async () => {
    expect(specFiles.length).toBe(22);
    for (const file of specFiles) {
      const spec = load(file);
      const t = await fresh();
      await api(t, 'POST', '/api/admin/environments', { name: 'spec', type: 'test' });
      const rev = await revisionOf(t, 'spec');
      const eventsBefore = (await api(t, 'GET', '/api/admin/events?limit=1')).body.total;
      const res = await api(t, 'POST', '/api/admin/import?environment=spec', spec.state);
      expect(res.status, `${file}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(res.body.revision).toBe(rev + 1);
      expect(await revisionOf(t, 'spec')).toBe(rev + 1);
      const features = expectedFeatures(spec.state);
      expect(res.body.flags).toBe(new Set(features.map((f) => f.name)).size);
      const events = (await api(t, 'GET', '/api/admin/events?limit=1000')).body;
      expect(events.total).toBeGreaterThan(eventsBefore);
      expect(events.events.some((e: any) => e.type === 'features-imported')).toBe(true);

      for (const f of features) {
        const got = await api(t, 'GET', `/api/admin/flags/${encodeURIComponent(f.name)}`);
        expect(got.status, `${file} ${f.name}`).toBe(200);
        const env = got.body.environments.find((e: any) => e.name === 'spec');
        expect(env.enabled).toBe(f.enabled);
        expect(env.strategies.map((x: any) => x.name)).toEqual((f.strategies ?? []).map((x: any) => x.name));
        expect(env.variants.map((v: any) => [v.name, v.weight])).toEqual((f.variants ?? []).map((v: any) => [v.name, v.weight]));
        (f.strategies ?? []).forEach((st: any, i: number) => {
          expect(env.strategies[i].parameters).toEqual(st.parameters ?? {});
          expect(env.strategies[i].constraints).toEqual(st.constraints ?? []);
          expect(env.strategies[i].variants).toEqual(st.variants ?? []);
        });
        expect(got.body.dependencies.map((d: any) => d.feature).sort()).toEqual((f.dependencies ?? []).map((d: any) => d.feature).sort());
        expect(got.body.project).toBe(f.project ?? 'default');
        // Other environments are untouched.
        expect(got.body.environments.find((e: any) => e.name === 'production').enabled).toBe(false);
      }
      await closeAll();
    }
  }, 240_000);

  it('remaps segment ids by name and keeps references to missing segments dangling', async () => {
    const spec = load('15-global-constraints.json');
    const t = await fresh();
    // A segment that already exists takes id 1, so the file's ids must be remapped.
    await api(t, 'POST', '/api/admin/segments', { name: 'pre-existing', constraints: [] });
    const res = await api(t, 'POST', '/api/admin/import?environment=development', spec.state);
    expect(res.status).toBe(200);
    const segments = (await api(t, 'GET', '/api/admin/segments')).body.segments;
    const byName = new Map(segments.map((sg: any) => [sg.name, sg.id]));
    for (const f of spec.state.features) {
      const flag = (await api(t, 'GET', `/api/admin/flags/${encodeURIComponent(f.name)}`)).body;
      const strategies = flag.environments.find((e: any) => e.name === 'development').strategies;
      f.strategies.forEach((st: any, i: number) => {
        const expected = (st.segments ?? []).map((id: number) => {
          const fileSegment = spec.state.segments.find((sg: any) => sg.id === id);
          return fileSegment ? byName.get(fileSegment.name ?? `segment-${id}`) : -id;
        });
        expect(strategies[i].segments).toEqual(expected);
      });
    }
    // Importing again updates segments in place (same ids, no duplicates).
    const again = await api(t, 'POST', '/api/admin/import?environment=development', spec.state);
    expect(again.status).toBe(200);
    expect((await api(t, 'GET', '/api/admin/segments')).body.segments).toEqual(segments);
  });

  it('round-trips: import a spec state, export, import into a fresh app, export again → equal', async () => {
    for (const file of ['08-variants.json', '15-global-constraints.json', '16-strategy-variants.json', '17-dependent-features.json', '18-utf8-flag-names.json']) {
      const spec = load(file);
      const a = await fresh();
      await api(a, 'POST', '/api/admin/projects', { id: 'other', name: 'Other' });
      expect((await api(a, 'POST', '/api/admin/import?environment=production', spec.state)).status).toBe(200);
      await api(a, 'PATCH', `/api/admin/flags/${encodeURIComponent(spec.state.features[0].name)}`, { owner: 'ann', tags: ['x'] });
      const first = await api(a, 'GET', '/api/admin/export');
      expect(first.status).toBe(200);
      expect(first.body.format).toBe('switchyard-export');
      const b = await fresh();
      const imported = await api(b, 'POST', '/api/admin/import', first.body);
      expect(imported.status, JSON.stringify(imported.body)).toBe(200);
      const second = await api(b, 'GET', '/api/admin/export');
      expect(withoutTimestamps(second.body)).toEqual(withoutTimestamps(first.body));
      // And importing the export back into the same app changes nothing visible.
      expect((await api(a, 'POST', '/api/admin/import', first.body)).status).toBe(200);
      expect(withoutTimestamps((await api(a, 'GET', '/api/admin/export')).body)).toEqual(withoutTimestamps(first.body));
      await closeAll();
    }
  });

  it('round-trips a state built through the admin API (several environments, segments, dependencies, archive)', async () => {
    const a = await fresh();
    const ok = async (method: string, url: string, body?: unknown) => {
      const r = await api(a, method, url, body);
      expect(r.status, `${method} ${url}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
      return r.body;
    };
    await ok('POST', '/api/admin/projects', { id: 'shop', name: 'Shop', description: 'Checkout and cart' });
    await ok('POST', '/api/admin/environments', { name: 'staging', type: 'staging' });
    const seg = await ok('POST', '/api/admin/segments', { name: 'beta', project: 'shop', constraints: [{ contextName: 'userId', operator: 'IN', values: ['1', '2'] }] });
    await ok('POST', '/api/admin/flags', { name: 'zeta', project: 'shop', owner: 'ann', tags: ['ui'], type: 'experiment' });
    await ok('POST', '/api/admin/flags', { name: 'alpha', project: 'shop', impressionData: true });
    await ok('POST', '/api/admin/flags', { name: 'gone' });
    await ok('POST', '/api/admin/flags/gone/archive');
    await ok('POST', '/api/admin/flags/zeta/environments/staging/on');
    await ok('POST', '/api/admin/flags/zeta/environments/staging/strategies', { name: 'flexibleRollout', title: 'Half', parameters: { rollout: '50.5' }, segments: [seg.id], variants: [{ name: 'v1' }, { name: 'v2', weightType: 'fix', weight: 100 }] });
    await ok('POST', '/api/admin/flags/zeta/environments/production/strategies', { name: 'default', disabled: true, constraints: [{ contextName: 'appName', operator: 'STR_STARTS_WITH', values: ['web'], caseInsensitive: true }] });
    await ok('PUT', '/api/admin/flags/zeta/environments/production/variants', { variants: [{ name: 'x', payload: { type: 'string', value: 'hi' }, overrides: [{ contextName: 'userId', values: ['7'] }] }] });
    await ok('PUT', '/api/admin/flags/zeta/dependencies', { dependencies: [{ feature: 'alpha', variants: ['on'] }] });
    const first = await ok('GET', '/api/admin/export');
    expect(first.flags.map((f: any) => f.name)).toEqual(['alpha', 'gone', 'zeta']);
    expect(first.environments.map((e: any) => e.name)).toEqual(['development', 'production', 'staging']);

    const b = await fresh();
    const imported = await api(b, 'POST', '/api/admin/import', first);
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    expect(imported.body).toMatchObject({ flags: 3, segments: 1 });
    const second = (await api(b, 'GET', '/api/admin/export')).body;
    expect(withoutTimestamps(second)).toEqual(withoutTimestamps(first));
    expect((await api(b, 'GET', '/api/admin/flags/gone')).body.archived).toBe(true);

    // Only one environment of the export, into an environment of another name.
    const c = await fresh();
    await api(c, 'POST', '/api/admin/environments', { name: 'qa' });
    const one = (await api(a, 'GET', '/api/admin/export?environment=staging')).body;
    const res = await api(c, 'POST', '/api/admin/import?environment=qa', one);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const zeta = (await api(c, 'GET', '/api/admin/flags/zeta')).body;
    expect(zeta.environments.find((e: any) => e.name === 'qa')).toMatchObject({ enabled: true, strategies: [{ name: 'flexibleRollout', title: 'Half' }] });
    expect(zeta.environments.find((e: any) => e.name === 'production').strategies).toEqual([]);
    expect((await api(c, 'GET', '/api/admin/environments')).body.environments.map((e: any) => e.name)).not.toContain('staging');
  });

  it('creates or replaces only the flags in the file; ?project and missing projects', async () => {
    const t = await fresh();
    await api(t, 'POST', '/api/admin/flags', { name: 'untouched' });
    await api(t, 'POST', '/api/admin/flags/untouched/environments/development/on');
    await api(t, 'POST', '/api/admin/flags', { name: 'replaced' });
    await api(t, 'POST', '/api/admin/flags/replaced/environments/development/strategies', { name: 'userWithId', parameters: { userIds: 'a' } });
    await api(t, 'POST', '/api/admin/flags/replaced/environments/production/strategies', { name: 'default' });
    const payload = {
      version: 2,
      features: [
        { name: 'replaced', enabled: true, strategies: [{ name: 'default' }], variants: null },
        { name: 'brand-new', project: 'mobile', enabled: false, strategies: [] },
      ],
    };
    const res = await api(t, 'POST', '/api/admin/import?environment=development', payload);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ flags: 2, segments: 0 });
    const untouched = (await api(t, 'GET', '/api/admin/flags/untouched')).body;
    expect(untouched.environments.find((e: any) => e.name === 'development').enabled).toBe(true);
    const replaced = (await api(t, 'GET', '/api/admin/flags/replaced')).body;
    const dev = replaced.environments.find((e: any) => e.name === 'development');
    expect(dev.enabled).toBe(true);
    expect(dev.strategies.map((x: any) => x.name)).toEqual(['default']);
    expect(replaced.environments.find((e: any) => e.name === 'production').strategies.map((x: any) => x.name)).toEqual(['default']);
    expect((await api(t, 'GET', '/api/admin/flags/brand-new')).body.project).toBe('mobile');
    expect((await api(t, 'GET', '/api/admin/projects/mobile')).status).toBe(200);

    const moved = await api(t, 'POST', '/api/admin/import?environment=production&project=team-x', payload);
    expect(moved.status).toBe(200);
    expect((await api(t, 'GET', '/api/admin/flags/brand-new')).body.project).toBe('team-x');
    expect((await api(t, 'GET', '/api/admin/flags/replaced')).body.project).toBe('team-x');
  });

  it('import revives archived flags and replaces dependencies; export filters by environment and project', async () => {
    const t = await fresh();
    await api(t, 'POST', '/api/admin/flags', { name: 'old' });
    await api(t, 'POST', '/api/admin/flags/old/archive');
    const res = await api(t, 'POST', '/api/admin/import?environment=development', {
      version: 1,
      features: [
        { name: 'old', enabled: true, strategies: [{ name: 'default' }], dependencies: [{ feature: 'missing-parent' }] },
        { name: 'other', project: 'p2', enabled: true, strategies: [] },
      ],
    });
    expect(res.status).toBe(200);
    const old = (await api(t, 'GET', '/api/admin/flags/old')).body;
    expect(old.archived).toBe(false);
    expect(old.dependencies).toEqual([{ feature: 'missing-parent', enabled: true, variants: [] }]);
    const exp = (await api(t, 'GET', '/api/admin/export?environment=development&project=p2')).body;
    expect(exp.environments.map((e: any) => e.name)).toEqual(['development']);
    expect(exp.projects.map((p: any) => p.id)).toEqual(['p2']);
    expect(exp.flags.map((f: any) => f.name)).toEqual(['other']);
    expect(Object.keys(exp.flags[0].environments)).toEqual(['development']);
    expect((await api(t, 'GET', '/api/admin/export?environment=nope')).status).toBe(404);
  });

  it('rejects bad import files with 4xx problem+json and changes nothing', async () => {
    const t = await fresh();
    const rev = await revisionOf(t, 'development');
    const total = (await api(t, 'GET', '/api/admin/events?limit=1')).body.total;
    const bad: [string, unknown][] = [
      ['/api/admin/import', { version: 1, features: [] }],
      ['/api/admin/import?environment=nope', { version: 1, features: [] }],
      ['/api/admin/import?environment=development', { version: 1 }],
      ['/api/admin/import?environment=development', { version: 1, features: [{ enabled: true }] }],
      ['/api/admin/import?environment=development', { version: 1, features: [{ name: 'has space', enabled: true }] }],
      ['/api/admin/import?environment=development', { version: 1, features: [{ name: 'ok', strategies: [{ parameters: {} }] }] }],
      ['/api/admin/import?environment=development', { version: 1, features: [{ name: 'ok', strategies: 'x' }] }],
      ['/api/admin/import?environment=development', { version: 1, features: [{ name: 'ok', project: 'Bad Project' }] }],
      ['/api/admin/import?environment=development', { version: 1, features: [{ name: 'ok' }], segments: [{ name: 'no-id' }] }],
      ['/api/admin/import?environment=development', { format: 'switchyard-export', version: 99 }],
      ['/api/admin/import?environment=development', { format: 'other' }],
      ['/api/admin/import?environment=development', [1, 2]],
    ];
    for (const [url, body] of bad) {
      const res = await api(t, 'POST', url, body);
      expect(res.status, `${url} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.detail.length).toBeGreaterThan(10);
    }
    expect(await revisionOf(t, 'development')).toBe(rev);
    expect((await api(t, 'GET', '/api/admin/events?limit=1')).body.total).toBe(total);
    expect((await api(t, 'GET', '/api/admin/flags')).body.flags).toEqual([]);
  });

  it('accepts large files (up to 10 MiB)', async () => {
    const t = await fresh();
    const features = Array.from({ length: 3000 }, (_, i) => ({
      name: `bulk.${i}`,
      enabled: i % 2 === 0,
      strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'default', groupId: `bulk.${i}` }, constraints: [{ contextName: 'userId', operator: 'IN', values: Array.from({ length: 20 }, (_, j) => `user-${j}`) }] }],
    }));
    const body = { version: 1, features };
    expect(JSON.stringify(body).length).toBeGreaterThan(1024 * 1024);
    const res = await api(t, 'POST', '/api/admin/import?environment=production', body);
    expect(res.status, JSON.stringify(res.body)?.slice(0, 300)).toBe(200);
    expect(res.body.flags).toBe(3000);
    expect((await api(t, 'GET', '/api/admin/flags')).body.flags).toHaveLength(3000);
  }, 120_000);
});
