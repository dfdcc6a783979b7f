import type { Flag } from './api';

/**
 * "Stale" for now is a simple heuristic: a flag older than its type's expected lifetime (the
 * design's toggle-debt table: release and experiment 40 days, operational 7 days; kill switches
 * and permission flags are permanent and never stale). The lifecycle stages driven by usage
 * will replace this when they exist.
 */
export const EXPECTED_LIFETIME_DAYS: Record<string, number | null> = {
  release: 40,
  experiment: 40,
  operational: 7,
  'kill-switch': null,
  permission: null,
};

export function staleDays(flag: Pick<Flag, 'type' | 'createdAt'>, now = Date.now()): number | null {
  const limit = EXPECTED_LIFETIME_DAYS[flag.type];
  if (limit === null || limit === undefined) return null;
  const age = (now - Date.parse(flag.createdAt)) / 86_400_000;
  return age > limit ? Math.floor(age) : null;
}

export const isStale = (flag: Pick<Flag, 'type' | 'createdAt'>, now = Date.now()) => staleDays(flag, now) !== null;

export const STALE_HELP = 'Older than its type’s expected lifetime: release and experiment 40 days, operational 7 days (kill switches and permissions never go stale).';
