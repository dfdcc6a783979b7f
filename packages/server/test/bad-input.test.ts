import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { api, createTestApp, type TestApp } from './harness.js';

/**
 * Property: no malformed request to the admin API ever gets a 5xx, and none changes anything.
 * Each generated request starts from a valid one and gets exactly one corruption that makes it
 * invalid, so "unchanged revision and audit log" is the right expectation for every one of them.
 */

const ADMIN = 'test-admin-token';

const validConstraint = { contextName: 'userId', operator: 'IN', values: ['a', 'b'] };
const validStrategy = {
  name: 'flexibleRollout',
  parameters: { rollout: '50', stickiness: 'default', groupId: 'g' },
  constraints: [validConstraint],
};

/** Valid request templates; `{flag}` etc. are filled with existing names. */
interface Template {
  method: 'POST' | 'PUT' | 'PATCH';
  url: string;
  body: Record<string, unknown>;
  /** Paths inside body where a corruption may be put. */
}

const templates: Template[] = [
  { method: 'POST', url: '/api/admin/flags', body: { name: 'fresh-flag', project: 'default', type: 'release', description: 'd', tags: [] } },
  { method: 'PATCH', url: '/api/admin/flags/existing', body: { description: 'new' } },
  { method: 'POST', url: '/api/admin/flags/existing/environments/development/strategies', body: validStrategy },
  { method: 'PUT', url: '/api/admin/flags/existing/environments/development/strategies/STRATEGY', body: validStrategy },
  {
    method: 'PUT',
    url: '/api/admin/flags/existing/environments/development/variants',
    body: { variants: [{ name: 'a', weight: 500, weightType: 'variable', stickiness: 'default' }, { name: 'b', weight: 500, weightType: 'variable', stickiness: 'default' }] },
  },
  { method: 'PUT', url: '/api/admin/flags/child/dependencies', body: { dependencies: [{ feature: 'existing', enabled: true }] } },
  { method: 'POST', url: '/api/admin/segments', body: { name: 'fresh-segment', constraints: [validConstraint] } },
  { method: 'PUT', url: '/api/admin/segments/SEGMENT', body: { name: 'beta', constraints: [validConstraint] } },
  { method: 'POST', url: '/api/admin/projects', body: { id: 'fresh-project', name: 'Fresh' } },
  { method: 'POST', url: '/api/admin/environments', body: { name: 'fresh-env', type: 'staging' } },
  { method: 'POST', url: '/api/admin/tokens', body: { name: 't', type: 'backend', environment: 'development', projects: ['default'] } },
];

type Corruption =
  | { kind: 'truncated-json' }
  | { kind: 'wrong-content-type' }
  | { kind: 'not-an-object'; value: unknown }
  | { kind: 'unknown-property'; key: string }
  | { kind: 'wrong-type'; key: string; value: unknown }
  | { kind: 'long-string'; key: string }
  | { kind: 'constraint'; constraint: Record<string, unknown> }
  | { kind: 'missing-path' }
  | { kind: 'oversized' };

const badConstraint = fc.oneof(
  fc.record({ contextName: fc.constant('userId'), operator: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !OPERATORS.includes(s)), values: fc.constant(['x']) }),
  fc.record({ contextName: fc.constant('email'), operator: fc.constant('REGEX'), value: fc.constantFrom('(', '[a-', '*x', 'a{2,1}', '(?<n', '\\') }),
  fc.record({ contextName: fc.constant('ip'), operator: fc.constant('IN_CIDR'), values: fc.constantFrom(['300.1.1.1/8'], ['10.0.0.0/99'], ['not-an-ip']) }),
  fc.record({ contextName: fc.constant('v'), operator: fc.constantFrom('SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT'), value: fc.constantFrom('1', 'x.y.z', '1.2', '') }),
  fc.record({ contextName: fc.constant('n'), operator: fc.constantFrom('NUM_EQ', 'NUM_GT', 'NUM_LTE'), value: fc.constantFrom('abc', '', 'NaN', '1e') }),
  fc.record({ contextName: fc.constant('d'), operator: fc.constantFrom('DATE_AFTER', 'DATE_BEFORE'), value: fc.constantFrom('yesterday', '2024-13-45', '') }),
  fc.record({ contextName: fc.constant(''), operator: fc.constant('IN'), values: fc.constant(['a']) }),
  fc.record({ contextName: fc.constant('userId'), operator: fc.constant('IN'), values: fc.constant('not-an-array') }),
);

const OPERATORS = ['IN', 'NOT_IN', 'STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE', 'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT', 'REGEX', 'IN_CIDR'];

const wrongValue = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.constant({ kind: 'truncated-json' as const }),
  fc.constant({ kind: 'wrong-content-type' as const }),
  fc.record({ kind: fc.constant('not-an-object' as const), value: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 })) }),
  fc.record({ kind: fc.constant('unknown-property' as const), key: fc.string({ minLength: 1, maxLength: 20 }).map((k) => `zz_${k}`) }),
  fc.record({ kind: fc.constant('wrong-type' as const), key: fc.constant('*'), value: wrongValue }),
  fc.record({ kind: fc.constant('long-string' as const), key: fc.constant('*') }),
  fc.record({ kind: fc.constant('constraint' as const), constraint: badConstraint }),
  fc.constant({ kind: 'missing-path' as const }),
  fc.constant({ kind: 'oversized' as const }),
);

/** The string-valued keys of a body that a person would fill in (names, ids, descriptions…). */
function stringKeys(body: Record<string, unknown>): string[] {
  return Object.keys(body).filter((k) => typeof body[k] === 'string');
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

interface Built {
  method: string;
  url: string;
  payload: string;
  contentType: string;
}

function build(t: Template, c: Corruption, pick: number, ids: { strategy: string; segment: number }): Built {
  const url = t.url.replace('STRATEGY', ids.strategy).replace('SEGMENT', String(ids.segment));
  const body: Record<string, unknown> = structuredClone(t.body);
  const json = 'application/json';
  switch (c.kind) {
    case 'truncated-json': {
      const text = JSON.stringify(body);
      let cut = text.slice(0, 1 + (pick % (text.length - 2))) + (pick % 2 ? '}' : '');
      if (isJson(cut)) cut += ',';
      return { method: t.method, url, payload: cut, contentType: json };
    }
    case 'wrong-content-type':
      return { method: t.method, url, payload: 'name=x&value=y', contentType: pick % 2 ? 'text/plain' : 'application/x-www-form-urlencoded' };
    case 'not-an-object':
      return { method: t.method, url, payload: JSON.stringify(c.value), contentType: json };
    case 'unknown-property':
      body[c.key] = 'x';
      break;
    case 'wrong-type': {
      const keys = Object.keys(body);
      const key = keys[pick % keys.length];
      // A value of a different JSON type than the valid one.
      const original = body[key];
      let value = c.value;
      if (typeof value === typeof original && Array.isArray(value) === Array.isArray(original)) value = typeof original === 'number' ? 'not-a-number' : 12345;
      if (Array.isArray(original) && value === null) value = 'not-a-list';
      body[key] = value;
      break;
    }
    case 'long-string': {
      const keys = stringKeys(body);
      if (keys.length === 0) return build(t, { kind: 'unknown-property', key: 'zz' }, pick, ids);
      body[keys[pick % keys.length]] = 'x'.repeat(5000 + (pick % 3000));
      break;
    }
    case 'constraint': {
      if (Array.isArray(body.constraints)) body.constraints = [c.constraint];
      else if (Array.isArray(body.variants)) (body.variants as any[])[0] = { ...(body.variants as any[])[0], weight: -5 - (pick % 100) };
      else if (Array.isArray(body.dependencies)) body.dependencies = [{ feature: pick % 2 ? 'child' : 'no-such-flag', enabled: true }];
      else return build(t, { kind: 'unknown-property', key: 'zz_c' }, pick, ids);
      break;
    }
    case 'missing-path': {
      const broken = url.replace(/(flags|segments)\/[^/]+/, (_m, kind) => `${kind}/${kind === 'segments' ? 987654 : 'no-such-flag-' + pick}`);
      if (broken === url) return build(t, { kind: 'unknown-property', key: 'zz_p' }, pick, ids);
      return { method: t.method, url: broken, payload: JSON.stringify(body), contentType: json };
    }
    case 'oversized':
      return { method: t.method, url, payload: JSON.stringify({ ...body, description: 'x'.repeat(2 * 1024 * 1024) }), contentType: json };
  }
  return { method: t.method, url, payload: JSON.stringify(body), contentType: json };
}

async function snapshot(t: TestApp) {
  const db = t.services.storage.db;
  const envs = await db.selectFrom('environments').select(['name', 'revision']).orderBy('name').execute();
  const events = await db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const flags = await db.selectFrom('flags').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return JSON.stringify({ envs, events: Number(events.n), flags: Number(flags.n) });
}

describe('admin API under malformed input', () => {
  let t: TestApp;
  const ids = { strategy: '', segment: 0 };

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    const ok = (r: { status: number; body: any }) => {
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
      return r.body;
    };
    ok(await api(t, 'POST', '/api/admin/flags', { name: 'existing' }));
    ok(await api(t, 'POST', '/api/admin/flags', { name: 'child' }));
    ok(await api(t, 'PUT', '/api/admin/flags/existing/dependencies', { dependencies: [] }));
    const strategy = ok(await api(t, 'POST', '/api/admin/flags/existing/environments/development/strategies', validStrategy));
    ids.strategy = strategy.id;
    const segment = ok(await api(t, 'POST', '/api/admin/segments', { name: 'beta', constraints: [validConstraint] }));
    ids.segment = segment.id;
    // The valid templates really are valid (otherwise the corruptions prove nothing).
    for (const tpl of templates) {
      const probe = await createTestApp('sqlite');
      try {
        const pOk = async (m: string, u: string, b: unknown) => ok(await api(probe, m, u, b));
        await pOk('POST', '/api/admin/flags', { name: 'existing' });
        await pOk('POST', '/api/admin/flags', { name: 'child' });
        const s = await pOk('POST', '/api/admin/flags/existing/environments/development/strategies', validStrategy);
        const g = await pOk('POST', '/api/admin/segments', { name: 'beta', constraints: [validConstraint] });
        const url = tpl.url.replace('STRATEGY', s.id).replace('SEGMENT', String(g.id));
        const r = await api(probe, tpl.method, url, tpl.body);
        expect(r.status, `${tpl.method} ${url}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
      } finally {
        await probe.close();
      }
    }
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('answers 2,000 random malformed requests with 4xx problem+json and changes nothing', async () => {
    const before = await snapshot(t);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...templates), corruption, fc.nat(), async (tpl, c, pick) => {
        runs++;
        const req = build(tpl, c, pick, ids);
        const res = await t.app.inject({
          method: req.method as any,
          url: req.url,
          headers: { authorization: ADMIN, 'content-type': req.contentType },
          payload: req.payload,
        });
        expect(res.statusCode, `${req.method} ${req.url} ${c.kind} → ${res.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, `${req.method} ${req.url} ${c.kind} → ${res.body.slice(0, 300)}`).toBeLessThan(500);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        const problem = JSON.parse(res.body);
        expect(typeof problem.detail).toBe('string');
        expect(problem.detail.length).toBeGreaterThan(5);
      }),
      { numRuns: 2000, seed: Number(process.env.SEED) || undefined, verbose: 1 },
    );
    expect(runs).toBeGreaterThanOrEqual(2000);
    expect(await snapshot(t)).toBe(before);
  }, 300_000);
});
