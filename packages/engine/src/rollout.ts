/**
 * Rollout buckets.
 *
 * Unleash puts a user in bucket `b100 = murmur3("groupId:stickiness", 0) % 100 + 1` (1..100) and
 * enables a rollout of r % when `r > 0 && b100 <= r`.
 *
 * Switchyard additionally supports rollouts in 0.01 % steps (DESIGN §4) with a bucket of 10 000
 * that refines Unleash's bucket instead of replacing it:
 *
 *     fine = (b100 - 1) * 100 + (floor(h / 100) % 100) + 1        (1..10 000)
 *
 * i.e. Unleash's bucket b100 is split into 100 sub-buckets using the next decimal digits of the
 * same hash. A rollout of r % enables `fine <= threshold(r)` where threshold(r) = r * 100,
 * truncated to a whole number of 0.01 % steps. For a whole percentage r, `fine <= 100 r` holds
 * exactly when `b100 <= r`, so every whole-percentage rollout selects precisely Unleash's users;
 * raising the percentage by 0.01 % only ever adds users (monotone), and each 0.01 % step holds
 * about 1/10 000 of the population. Non-integer percentages are where we deliberately differ from
 * Unleash (which effectively truncates "12.34" to 12 %).
 */
import { murmur3Suffix, type PrefixState } from './murmur3.js';

/** 0.01 % threshold for a percentage; NaN or ≤ 0 never enables, ≥ 100 always does. */
export function rolloutThreshold(percentage: unknown): number {
  const p = Number(percentage);
  if (Number.isNaN(p) || p <= 0) return -1;
  if (p === Infinity) return Infinity;
  const x = p * 100;
  const r = Math.round(x);
  // Guard against binary floating point: 12.34 * 100 = 1233.9999999999998.
  return Math.abs(x - r) < 1e-6 ? r : Math.floor(x);
}

/** Unleash's 1..100 bucket for an unsigned 32-bit hash. */
export function bucket100(h: number): number {
  return (h % 100) + 1;
}

/** Switchyard's 1..10 000 bucket for an unsigned 32-bit hash (refines bucket100). */
export function bucket10000(h: number): number {
  return (h % 100) * 100 + (Math.floor(h / 100) % 100) + 1;
}

/** Whether `prefix + id` falls within the rollout threshold. */
export function inRollout(prefix: PrefixState, id: string, threshold: number): boolean {
  return bucket10000(murmur3Suffix(prefix, id)) <= threshold;
}
