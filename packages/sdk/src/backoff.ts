export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
  /** Fraction of the delay that is random (0 … 1): the delay lies in [d·(1−jitter), d]. Default 0.5. */
  jitter?: number;
  random?: () => number;
}

/**
 * Exponential backoff with jitter: attempt 0 waits about `initialMs`, each further attempt twice
 * as long, never more than `maxMs`; a random part spreads reconnecting clients out so that a
 * restarted server is not hit by all of them at the same instant.
 */
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const a = Math.max(0, Math.min(attempt, 40));
  const exp = Math.min(o.maxMs, o.initialMs * 2 ** a);
  const jitter = Math.min(1, Math.max(0, o.jitter ?? 0.5));
  const r = (o.random ?? Math.random)();
  return Math.max(0, Math.round(exp * (1 - jitter * r)));
}
