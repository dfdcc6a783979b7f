/** Seeded sampling and batch builders shared by the guardian's statistical tests. */
import { DEFAULT_BUCKETS_MS, type GuardianBatch } from '../src/releases/guardian/index.js';

// ---------------------------------------------------------------- seeded sampling
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Binomial(n, p) by inversion (fine for the small means used here), normal approximation for big ones. */
export function binomial(r: () => number, n: number, p: number): number {
  if (n === 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const mean = n * p;
  if (mean > 200 && n * (1 - p) > 200) {
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.min(n, Math.max(0, Math.round(mean + z * Math.sqrt(mean * (1 - p)))));
  }
  if (p > 0.5) return n - binomial(r, n, 1 - p);
  let k = 0;
  let pk = Math.pow(1 - p, n);
  let cdf = pk;
  const u = r();
  while (u > cdf && k < n) {
    pk *= ((n - k) / (k + 1)) * (p / (1 - p));
    k++;
    cdf += pk;
  }
  return k;
}

export const SIZE = DEFAULT_BUCKETS_MS.length + 1;
export const i300 = DEFAULT_BUCKETS_MS.indexOf(300);
export const i1000 = DEFAULT_BUCKETS_MS.indexOf(1000);
/** A histogram with `total` requests, `slow` of them in the 1000 ms bucket and the rest in the 100 ms one. */
export const hist = (total: number, slow = 0) => {
  const h = new Array<number>(SIZE).fill(0);
  h[DEFAULT_BUCKETS_MS.indexOf(100)] = total - slow;
  h[i1000] = slow;
  return h;
};
export const batch = (at: number, canary: [number, number], control: [number, number], extra: Partial<GuardianBatch> = {}): GuardianBatch => ({
  at,
  canary: { requests: canary[0], errors: canary[1] },
  control: { requests: control[0], errors: control[1] },
  ...extra,
});
