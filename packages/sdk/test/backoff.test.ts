import { describe, expect, it } from 'vitest';
import { backoffDelay } from '@switchyard/sdk';

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the maximum', () => {
    const o = { initialMs: 100, maxMs: 1000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 50].map((a) => backoffDelay(a, o))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('spreads delays by the jitter fraction, never above the exponential value', () => {
    const o = { initialMs: 1000, maxMs: 30_000, jitter: 0.5 };
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, o);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
    expect(backoffDelay(3, { ...o, random: () => 0 })).toBe(8000);
    expect(backoffDelay(3, { ...o, random: () => 1 })).toBe(4000);
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(2, o)));
    expect(seen.size).toBeGreaterThan(10);
  });
});
