/**
 * Sub-percent rollouts (DESIGN §4): a 1..10 000 bucket that refines Unleash's 1..100 bucket, so
 * whole percentages keep exactly Unleash's users while 0.01 % steps are monotone and
 * proportional.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { bucket100, bucket10000, compile, murmur3, rolloutThreshold, type FeatureConfig } from '@switchyard/engine';

const require = createRequire(import.meta.url);
const UnleashClient = require('unleash-client/lib/client').default;
const { defaultStrategies } = require('unleash-client/lib/strategy');
const { normalizedStrategyValue } = require('unleash-client/lib/strategy/util');

const USERS = Array.from({ length: 20_000 }, (_, i) => (i % 7 === 0 ? `użytkownik-${i}-😀` : `user-${i}`));

function rolloutFlag(name: string, rollout: string | number, strategy = 'flexibleRollout'): FeatureConfig {
  const parameters =
    strategy === 'flexibleRollout'
      ? { rollout: String(rollout), stickiness: 'userId', groupId: 'exp' }
      : { percentage: String(rollout), groupId: 'exp' };
  return { name, enabled: true, strategies: [{ name: strategy, parameters }] };
}

describe('bucket arithmetic', () => {
  it('the fine bucket refines Unleash bucket: ceil(fine / 100) = b100', () => {
    for (const u of USERS) {
      const h = murmur3(`exp:${u}`);
      expect(bucket100(h)).toBe(normalizedStrategyValue(u, 'exp'));
      const fine = bucket10000(h);
      expect(fine).toBeGreaterThanOrEqual(1);
      expect(fine).toBeLessThanOrEqual(10_000);
      expect(Math.ceil(fine / 100)).toBe(bucket100(h));
    }
    expect(bucket10000(0)).toBe(1);
    expect(bucket10000(2 ** 32 - 1)).toBe((((2 ** 32 - 1) % 100) * 100) + (Math.floor((2 ** 32 - 1) / 100) % 100) + 1);
  });

  it('thresholds are whole 0.01 % steps, robust to binary floating point', () => {
    expect(rolloutThreshold('12.34')).toBe(1234);
    expect(rolloutThreshold('0.29')).toBe(29);
    expect(rolloutThreshold('0.05')).toBe(5);
    expect(rolloutThreshold('0.005')).toBe(0);
    expect(rolloutThreshold(50)).toBe(5000);
    expect(rolloutThreshold('100')).toBe(10_000);
    expect(rolloutThreshold('0')).toBe(-1);
    expect(rolloutThreshold('-5')).toBe(-1);
    expect(rolloutThreshold('abc')).toBe(-1);
    expect(rolloutThreshold(undefined)).toBe(-1);
  });
});

describe('whole percentages select exactly Unleash users', () => {
  for (const strategy of ['flexibleRollout', 'gradualRolloutUserId']) {
    it(strategy, () => {
      const features = Array.from({ length: 101 }, (_, p) => rolloutFlag(`p${p}`, p, strategy));
      features.push(rolloutFlag('p50.0', '50.0', strategy), rolloutFlag('num33', 33, strategy));
      const ours = compile({ version: 2, features });
      const data = Object.fromEntries(features.map((f) => [f.name, f]));
      const theirs = new UnleashClient({ getToggle: (n: string) => data[n], getSegment: () => undefined }, defaultStrategies);
      let disagreements = 0;
      for (const f of features) {
        for (let i = 0; i < USERS.length; i += 4) {
          const ctx = { userId: USERS[i] };
          if (ours.isEnabled(f.name, ctx) !== theirs.isEnabled(f.name, ctx, () => false)) disagreements++;
        }
      }
      expect(disagreements).toBe(0);
    });
  }
});

describe('0.01 % steps', () => {
  const steps = ['0.01', '0.05', '0.06', '0.5', '1', '1.25', '12.34', '12.35', '33.33', '50', '99.99', '100'];
  const features = steps.map((r) => rolloutFlag(`r${r}`, r));
  const ours = compile({ version: 2, features });
  const USERS_BIG = Array.from({ length: 200_000 }, (_, i) => `u${i}`);
  const on = new Map(steps.map((r) => [r, USERS_BIG.map((u) => ours.isEnabled(`r${r}`, { userId: u }))]));

  it('enabled iff fine bucket ≤ r × 100', () => {
    for (const r of steps) {
      const got = on.get(r)!;
      let wrong = 0;
      for (let i = 0; i < USERS_BIG.length; i += 7) {
        if (got[i] !== bucket10000(murmur3(`exp:${USERS_BIG[i]}`)) <= Math.round(Number(r) * 100)) wrong++;
      }
      expect(wrong, r).toBe(0);
    }
  });

  it('is monotone: a user in at r stays in at every larger r', () => {
    for (let s = 1; s < steps.length; s++) {
      const lo = on.get(steps[s - 1])!;
      const hi = on.get(steps[s])!;
      let violations = 0;
      for (let i = 0; i < lo.length; i++) if (lo[i] && !hi[i]) violations++;
      expect(violations, `${steps[s - 1]} → ${steps[s]}`).toBe(0);
    }
  });

  it('a user in at 0.05 % stays in at 0.06 %, and 0.06 % adds users', () => {
    const a = on.get('0.05')!;
    const b = on.get('0.06')!;
    const added = b.filter((x, i) => x && !a[i]).length;
    expect(a.every((x, i) => !x || b[i])).toBe(true);
    expect(added).toBeGreaterThan(0);
  });

  it('is approximately proportional', () => {
    const n = USERS_BIG.length;
    for (const r of steps) {
      const p = Number(r) / 100;
      const count = on.get(r)!.filter(Boolean).length;
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(count - n * p)).toBeLessThanOrEqual(5 * sd + 1);
    }
  });

  it('sub-percent rollouts differ from Unleash only by design (Unleash truncates to whole %)', () => {
    // Unleash enables "12.34" for buckets 1..12; we add ~34 % of bucket 13.
    const r1234 = on.get('12.34')!;
    let extra = 0;
    let wrong = 0;
    for (let i = 0; i < USERS_BIG.length; i++) {
      const b = normalizedStrategyValue(USERS_BIG[i], 'exp');
      if (b <= 12) wrong += r1234[i] ? 0 : 1;
      else if (b > 13) wrong += r1234[i] ? 1 : 0;
      else if (r1234[i]) extra++;
    }
    expect(wrong).toBe(0);
    expect(extra / USERS_BIG.length).toBeCloseTo(0.0034, 3);
  });
});
