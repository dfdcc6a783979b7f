/**
 * Differential test: ≥ 100 000 random (flag, context) pairs evaluated by Switchyard and by the
 * official Unleash Node SDK (unleash-client v6, its UnleashClient evaluator with an in-memory
 * repository stub — no network, no timers). isEnabled and getVariant must agree on every pair.
 *
 * Math.random is replaced by a seeded generator that is reset to the same state before each of
 * the two evaluations, so random stickiness, gradualRolloutRandom and missing-stickiness
 * fallbacks are compared too (both engines consume Math.random in the same order).
 *
 * Reproduce a failure with SEED=<printed seed> npx vitest run packages/engine/test/differential.test.ts
 */
import { hostname as osHostname } from 'node:os';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compile,
  type ClientFeaturesPayload,
  type Constraint,
  type Context,
  type FeatureConfig,
  type Segment,
  type StrategyConfig,
  type VariantDefinition,
} from '@switchyard/engine';

const require = createRequire(import.meta.url);
const UnleashClient = require('unleash-client/lib/client').default;
const { defaultStrategies } = require('unleash-client/lib/strategy');

const SEED = process.env.SEED ? Number(process.env.SEED) : (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0;
const WORLDS = Number(process.env.WORLDS ?? 60);
const FLAGS_PER_WORLD = 30;
const CONTEXTS_PER_WORLD = 90;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Unleash's applicationHostname strategy reads the host once, at import.
const HOST = (process.env.HOSTNAME || osHostname() || 'undefined').toLowerCase();

class Gen {
  constructor(readonly r: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)];
  }
  some<T>(xs: readonly T[], lo: number, hi: number): T[] {
    const n = this.int(lo, hi);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(this.pick(xs));
    return out;
  }
}

const USER_IDS = ['1', '2', '3', '7', '42', '99', '123', '1000', 'alice', 'bob', 'user-17', 'user-😀', '用户七', 'ünïcödé', 'Ω≈ç', '🚀🚀', ''];
const SESSION_IDS = ['s1', 's2', 'sess-abc', 'sess-😀', '会话', 'x', ''];
const IPS = ['10.0.0.1', '10.0.1.5', '10.1.2.3', '192.168.1.10', '192.168.2.1', '127.0.0.1', '8.8.8.8', '10.0.0.1/24', '10.0.0.0/8', '010.0.0.1', '256.1.1.1', '2001:db8::1', '2001:db8:1::5', '2001:DB8::1', '::1', 'fe80::1', '::ffff:10.0.0.1', '2001:db8::/48', '10.0.0.0/16', '192.168.0.0/16', '2001:db8::/16', '2001:db8:1::/32', '10.0.1.0/8', 'not-an-ip', ''];
const RANGES = ['10.0.0.0/8', '10.0.0.0/24', '10.0.0.0/20', '192.168.0.0/24', '2001:db8::/40', '192.168.0.0/16', '192.168.1.10', '0.0.0.0/0', '8.8.8.8/32', '10.0.0.1/24', '10.0.0.0/33', '2001:db8::/32', '::/0', 'fe80::/10', '::1/128', '2001:db8::1', 'bad', ' 10.0.0.0/8 ', '127.0.0.1'];
const EMAILS = ['alice@example.com', 'bob@EXAMPLE.com', 'carol@test.io', 'dave@Example.COM', 'ünï@例え.jp', '😀@emoji.dev', 'ALICE@example.com', '', ' padded@x.io '];
const NUMBERS = ['0', '1', '18', '21', '65', '-3', '3.5', '1e3', 'abc', '', ' 42 ', '0x10'];
const VERSIONS = ['01.2.3', '1.02.3', '1.2.3.4', '1..3', '1.2.', '.1.2', '999999999999999.1.1', '9999999999999999.1.1', '1.2.3-0', '0.0.0', '1.0.0', '1.2.3', '1.2.4', '2.0.0-beta.1', '2.0.0-beta.2', '2.0.0', 'v1.2.3', '1.2', '10.0.0', ' 1.2.3', '1.2.3+build.5', 'not-semver', '0.0.1-alpha'];
const COUNTRIES = ['NO', 'no', 'SE', 'US', 'us', 'JP', '日本', 'Ελλάδα', ''];
const PLANS = ['free', 'pro', 'enterprise', 'Pro', 'FREE'];
const DATES = ['2020-01-01T00:00:00.000Z', '2024-06-15T12:00:00.000Z', '2025-01-01T00:00:00Z', '2030-12-31T23:59:59.999Z', 'not-a-date', '2024-06-15'];
const REGEXES = ['^user-\\d+$', 'example\\.com$', '(?i)alice', '[', 'a.*b', '^[0-9]+$', 'ü', '😀', '^$', '.*', '^(free|pro)$', '\\p{Han}', 'EXAMPLE', '^\\s', '(a+)+$'];
const FIELDS = ['userId', 'sessionId', 'remoteAddress', 'environment', 'appName', 'email', 'age', 'appVersion', 'country', 'plan', 'tenant', 'currentTime', 'missing'];
const OPERATORS = ['IN', 'NOT_IN', 'STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE', 'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT', 'SEMVER_GTE', 'SEMVER_LTE', 'REGEX', 'IN_CIDR', 'NOT_AN_OPERATOR', 'REGEX', 'IN_CIDR', 'IN_CIDR', 'IN', 'STR_CONTAINS', 'SEMVER_GT'];

function poolFor(field: string): readonly string[] {
  switch (field) {
    case 'userId':
      return USER_IDS;
    case 'sessionId':
      return SESSION_IDS;
    case 'remoteAddress':
      return IPS;
    case 'email':
      return EMAILS;
    case 'age':
      return NUMBERS;
    case 'appVersion':
      return VERSIONS;
    case 'country':
      return COUNTRIES;
    case 'plan':
      return PLANS;
    case 'currentTime':
      return DATES;
    default:
      return [...PLANS, ...COUNTRIES, 'production', 'development', 'app-a', 'app-b', 't1', 't2'];
  }
}

function genConstraint(g: Gen): Constraint {
  const operator = g.pick(OPERATORS);
  // Usually a field that suits the operator, sometimes any field.
  const suited: Record<string, string[]> = {
    NUM: ['age'],
    DATE: ['currentTime'],
    SEMVER: ['appVersion'],
    REGEX: ['email', 'userId', 'plan', 'country'],
    IN_CIDR: ['remoteAddress', 'tenant'],
    STR: ['email', 'country', 'plan', 'userId'],
  };
  const key = Object.keys(suited).find((k) => operator.startsWith(k));
  const contextName = key && g.bool(0.85) ? g.pick(suited[key]) : g.pick(FIELDS);
  const c: Constraint = { contextName, operator };
  if (operator === 'REGEX') c.value = g.pick(REGEXES);
  else if (operator.startsWith('NUM')) c.value = g.pick(NUMBERS);
  else if (operator.startsWith('DATE')) c.value = g.pick(DATES);
  else if (operator.startsWith('SEMVER')) c.value = g.pick(VERSIONS);
  else if (operator === 'IN_CIDR') c.values = g.some(RANGES, 1, 4);
  else {
    const pool = poolFor(contextName);
    c.values = g.some(pool, 0, 4);
    if (operator.startsWith('STR') && g.bool(0.5)) {
      c.values = c.values.map((v) => (g.bool() ? v.slice(0, g.int(1, 3)) : v.slice(-g.int(1, 4))));
    }
  }
  if (g.bool(0.25)) c.inverted = true;
  if (g.bool(0.3)) c.caseInsensitive = true;
  return c;
}

const PAYLOADS = [
  { type: 'string', value: 'hello' },
  { type: 'json', value: '{"a":1,"emoji":"😀"}' },
  { type: 'number', value: '42' },
  { type: 'csv', value: 'a,b,c' },
  { type: 'string', value: '你好' },
];

function genVariants(g: Gen, n: number, withOverrides: boolean): VariantDefinition[] {
  const out: VariantDefinition[] = [];
  const stickiness = g.pick([undefined, 'default', 'userId', 'sessionId', 'tenant', 'email', 'random-field']);
  for (let i = 0; i < n; i++) {
    const v: VariantDefinition = {
      name: g.pick(['control', 'treatment', 'blue', 'green', 'red', 'variant-😀', '变体']) + `-${i}`,
      weight: g.pick([0, 1, 33, 50, 100, 200, 250, 333, 334, 500, 1000]),
      weightType: g.pick(['variable', 'fix']),
    };
    if (stickiness !== undefined) v.stickiness = stickiness;
    if (g.bool(0.7)) v.payload = g.pick(PAYLOADS);
    if (withOverrides && g.bool(0.3)) {
      v.overrides = [{ contextName: g.pick(['userId', 'tenant', 'country']), values: g.some([...USER_IDS, 't1', 'NO'], 1, 3) }];
    }
    out.push(v);
  }
  return out;
}

function genStrategy(g: Gen, segmentIds: number[]): StrategyConfig {
  const name = g.pick(['default', 'flexibleRollout', 'flexibleRollout', 'flexibleRollout', 'userWithId', 'gradualRolloutUserId', 'gradualRolloutSessionId', 'gradualRolloutRandom', 'remoteAddress', 'applicationHostname', 'someCustomStrategy']);
  const percent = () => {
    const p = g.pick([0, 1, 5, 10, 25, 33, 50, 75, 99, 100, g.int(0, 100)]);
    return g.bool(0.8) ? String(p) : p;
  };
  const s: StrategyConfig = { name, parameters: {} };
  const params = s.parameters as Record<string, string | number>;
  switch (name) {
    case 'flexibleRollout':
      params.rollout = percent();
      if (g.bool(0.85)) params.stickiness = g.pick(['default', 'default', 'userId', 'sessionId', 'random', 'tenant', 'email']);
      if (g.bool(0.85)) params.groupId = g.pick(['grp-a', 'grp-b', 'flag-😀', '组']);
      break;
    case 'userWithId':
      params.userIds = g.some(USER_IDS, 1, 5).join(g.pick([',', ', ', ' , ']));
      break;
    case 'gradualRolloutUserId':
    case 'gradualRolloutSessionId':
      params.percentage = percent();
      params.groupId = g.pick(['', 'grp-a', 'grp-b', 'ü']);
      break;
    case 'gradualRolloutRandom':
      params.percentage = percent();
      break;
    case 'remoteAddress':
      params.IPs = g.some([...IPS.filter((x) => x), ...RANGES], 1, 4).join(g.pick([',', ', ']));
      break;
    case 'applicationHostname':
      params.hostNames = g.some(['localhost', 'example.org', HOST, HOST.toUpperCase(), 'web-1'], 1, 3).join(', ');
      break;
  }
  if (g.bool(0.5)) s.constraints = Array.from({ length: g.pick([1, 1, 1, 2, 3]) }, () => genConstraint(g));
  if (g.bool(0.25)) s.segments = g.some([...segmentIds, 999], 1, 2);
  if (g.bool(0.3)) s.variants = genVariants(g, g.int(1, 3), false);
  return s;
}

function genWorld(g: Gen): ClientFeaturesPayload {
  const segments: Segment[] = [];
  for (let id = 1; id <= g.int(1, 5); id++) {
    segments.push({ id, name: `seg-${id}`, constraints: Array.from({ length: g.int(0, 2) }, () => genConstraint(g)) });
  }
  const ids = segments.map((s) => s.id);
  const features: FeatureConfig[] = [];
  for (let i = 0; i < FLAGS_PER_WORLD; i++) {
    const f: FeatureConfig = {
      name: g.pick(['flag', 'feature', 'toggle-😀', '功能', 'ünïcode']) + `-${i}`,
      enabled: g.bool(0.85),
      impressionData: g.bool(0.2),
      strategies: Array.from({ length: g.pick([0, 1, 1, 1, 2, 2, 3]) }, () => genStrategy(g, ids)),
    };
    if (g.bool(0.4)) f.variants = genVariants(g, g.int(1, 4), true);
    if (i > 0 && g.bool(0.25)) {
      f.dependencies = Array.from({ length: g.int(1, 2) }, () => {
        const parent = g.bool(0.9) ? features[g.int(0, i - 1)].name : 'no-such-flag';
        const d: { feature: string; enabled?: boolean; variants?: string[] } = { feature: parent };
        const mode = g.int(0, 3);
        if (mode === 1) d.enabled = false;
        if (mode === 2) d.enabled = true;
        if (mode === 3) {
          const pf = features.find((x) => x.name === parent);
          const names = [...(pf?.variants ?? []).map((v) => v.name), ...(pf?.strategies ?? []).flatMap((s) => (s.variants ?? []).map((v) => v.name)), 'nope'];
          d.variants = g.some(names, 1, 2);
        }
        return d;
      });
    }
    features.push(f);
  }
  return { version: 2, features, segments };
}

function genContext(g: Gen, useHostProperty: boolean): Context {
  const ctx: Context = {};
  if (g.bool(0.8)) ctx.userId = g.pick(USER_IDS);
  if (g.bool(0.05)) (ctx as Record<string, unknown>).userId = 42;
  if (g.bool(0.5)) ctx.sessionId = g.pick(SESSION_IDS);
  if (g.bool(0.5)) ctx.remoteAddress = g.pick(IPS);
  if (g.bool(0.3)) ctx.environment = g.pick(['production', 'development']);
  if (g.bool(0.3)) ctx.appName = g.pick(['app-a', 'app-b']);
  const t = g.int(0, 3);
  if (t === 1) ctx.currentTime = new Date(g.pick(['2019-05-01T00:00:00Z', '2024-06-15T12:00:00Z', '2027-01-01T00:00:00Z']));
  if (t === 2) ctx.currentTime = g.pick(['2019-05-01T00:00:00Z', '2024-06-15T12:00:00Z', '2031-01-01T00:00:00Z', 'garbage']);
  if (g.bool(0.05)) (ctx as Record<string, unknown>).featureToggle = 'ctx-group';
  const props: Record<string, string | number | boolean> = {};
  if (g.bool(0.6)) props.email = g.pick(EMAILS);
  if (g.bool(0.5)) props.age = g.bool(0.8) ? g.pick(NUMBERS) : g.int(-5, 100);
  if (g.bool(0.5)) props.appVersion = g.pick(VERSIONS);
  if (g.bool(0.4)) props.country = g.pick(COUNTRIES);
  if (g.bool(0.4)) props.plan = g.pick(PLANS);
  if (g.bool(0.4)) props.tenant = g.pick(['t1', 't2', '10.0.0.1', 'NO', '']);
  if (g.bool(0.05)) props.userId = g.pick(USER_IDS);
  if (useHostProperty) props.hostname = HOST;
  if (Object.keys(props).length || g.bool(0.5)) ctx.properties = props;
  return ctx;
}

interface AnyVariant {
  name: string;
  enabled: boolean;
  payload?: { type: string; value: string };
  feature_enabled?: boolean;
  featureEnabled?: boolean;
}
function sameVariant(a: AnyVariant, b: AnyVariant): boolean {
  return (
    a.name === b.name &&
    a.enabled === b.enabled &&
    a.feature_enabled === b.feature_enabled &&
    a.featureEnabled === b.featureEnabled &&
    a.payload?.type === b.payload?.type &&
    a.payload?.value === b.payload?.value &&
    (a.payload === undefined) === (b.payload === undefined)
  );
}

const realRandom = Math.random;
afterAll(() => {
  Math.random = realRandom;
});

describe(`differential vs unleash-client (SEED=${SEED})`, () => {
  it('agrees with unleash-client on ≥ 100 000 random flag/context pairs', () => {
    const g = new Gen(mulberry32(SEED));
    let pairs = 0;
    const stats: Record<string, number> = { enabled: 0, variant: 0 };
    const failures: string[] = [];
    let rngState = 0;
    const seeded = () => {
      rngState = (rngState + 0x6d2b79f5) | 0;
      let t = Math.imul(rngState ^ (rngState >>> 15), 1 | rngState);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    Math.random = seeded;
    try {
      for (let w = 0; w < WORLDS; w++) {
        const payload = genWorld(g);
        const useHostProperty = w % 2 === 1;
        const ours = compile(payload, useHostProperty ? {} : { hostname: HOST });
        const data: Record<string, FeatureConfig> = {};
        for (const f of payload.features) data[f.name] = f;
        const segments = new Map((payload.segments ?? []).map((s) => [s.id, s]));
        const theirs = new UnleashClient({ getToggle: (n: string) => data[n], getSegment: (id: number) => segments.get(id) }, defaultStrategies);
        theirs.on('error', () => {});
        theirs.on('warn', () => {});
        const names = [...payload.features.map((f) => f.name), 'unknown-flag'];
        for (let c = 0; c < CONTEXTS_PER_WORLD; c++) {
          const ctx = genContext(g, useHostProperty);
          for (const name of names) {
            pairs++;
            const s = (g.r() * 2 ** 32) | 0;
            rngState = s;
            const e1 = theirs.isEnabled(name, ctx, () => false);
            rngState = s;
            const e2 = ours.isEnabled(name, ctx);
            rngState = s;
            const v1 = theirs.getVariant(name, ctx);
            rngState = s;
            const v2 = ours.getVariant(name, ctx);
            rngState = s;
            const d = ours.evaluate(name, ctx);
            const ok =
              e1 === e2 &&
              sameVariant(v1, v2) &&
              d.value === e2 &&
              d.variant === v2;
            stats.enabled += e1 ? 1 : 0;
            stats.variant += v1.enabled ? 1 : 0;
            stats[d.reason] = (stats[d.reason] ?? 0) + 1;
            if (!ok && failures.length < 5) {
              failures.push(
                JSON.stringify({ world: w, flag: payload.features.find((f) => f.name === name), context: ctx, unleash: { enabled: e1, variant: v1 }, switchyard: { enabled: e2, variant: v2, detail: d } }, null, 1),
              );
            }
          }
        }
      }
    } finally {
      Math.random = realRandom;
    }
    if (failures.length) console.error(`SEED=${SEED}\n` + failures.join('\n---\n'));
    expect(failures, `SEED=${SEED}`).toEqual([]);
    expect(pairs).toBeGreaterThanOrEqual(100_000);
    // The generator must exercise both outcomes and every reason, or the comparison is hollow.
    expect(stats.enabled / pairs).toBeGreaterThan(0.2);
    expect(stats.variant / pairs).toBeGreaterThan(0.05);
    for (const r of ['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'DEFAULT', 'ERROR']) expect(stats[r]).toBeGreaterThan(100);
    if (process.env.DIFF_STATS) console.log(pairs, stats);
  });
});

describe('operator matrix vs unleash-client', () => {
  it('agrees on every operator × constant × context value × inverted × caseInsensitive, and on remoteAddress', () => {
    const values = [...new Set([...USER_IDS, ...IPS, ...RANGES, ...EMAILS, ...NUMBERS, ...VERSIONS, ...COUNTRIES, ...DATES, 'user-5', 'xx-alice-yy', '2001:db8::/40'])];
    const constants: Record<string, string[]> = {
      REGEX: REGEXES,
      NUM: NUMBERS,
      DATE: DATES,
      SEMVER: VERSIONS,
      IN_CIDR: RANGES,
      STR: [...EMAILS, 'ali', 'ALI', 'com', '.COM', 'ü', '例', '😀', 'N', ' '],
      IN: [...USER_IDS, ...COUNTRIES, ' NO '],
    };
    const features: FeatureConfig[] = [];
    for (const operator of OPERATORS.filter((o, i) => OPERATORS.indexOf(o) === i)) {
      const key = Object.keys(constants).find((k) => operator.startsWith(k) || (k === 'IN' && operator === 'NOT_IN')) ?? 'IN';
      for (const k of constants[key]) {
        for (const flags of [0, 1, 2, 3]) {
          const c: Constraint = { contextName: 'v', operator, inverted: (flags & 1) === 1, caseInsensitive: (flags & 2) === 2 };
          if (['IN', 'NOT_IN', 'IN_CIDR'].includes(operator) || operator.startsWith('STR')) c.values = [k];
          else c.value = k;
          features.push({ name: `f${features.length}`, enabled: true, strategies: [{ name: 'default', constraints: [c] }] });
        }
      }
    }
    for (const ip of [...RANGES, ...IPS.filter((x) => x), '10.0.0.1, 192.168.0.0/16', '::1,10.0.0.0/8']) {
      features.push({ name: `f${features.length}`, enabled: true, strategies: [{ name: 'remoteAddress', parameters: { IPs: ip } }] });
    }
    const payload: ClientFeaturesPayload = { version: 2, features };
    const ours = compile(payload);
    const data = Object.fromEntries(features.map((f) => [f.name, f]));
    const theirs = new UnleashClient({ getToggle: (n: string) => data[n], getSegment: () => undefined }, defaultStrategies);
    const failures: string[] = [];
    let n = 0;
    for (const v of [...values, undefined]) {
      for (const currentTime of [undefined, new Date('2024-06-15T12:00:00Z')]) {
        const ctx: Context = { properties: { v }, currentTime, remoteAddress: v };
        for (const f of features) {
          n++;
          const a = theirs.isEnabled(f.name, ctx, () => false);
          const b = ours.isEnabled(f.name, ctx);
          if (a !== b && failures.length < 10) failures.push(JSON.stringify({ strategy: f.strategies?.[0], v, currentTime, unleash: a }));
        }
      }
    }
    expect(failures).toEqual([]);
    expect(n).toBeGreaterThan(100_000);
  });
});
