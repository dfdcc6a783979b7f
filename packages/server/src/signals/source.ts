/**
 * Adapters for the releases runner (releases/runner.ts): its `CohortSource` over the stored
 * cohort outcomes and its `AlertSource` over the stored alerts. Typed structurally, so signals/
 * does not depend on releases/.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import { readAlerts, type StoredAlert } from './alerts.js';
import type { FlagAlert } from './service.js';
import { aggregateCohorts, readCohortBatches, type CohortTotals } from './store.js';

export interface CohortSourceOptions {
  /**
   * Reports received in the last `settleMs` are left for the next read (default 2000): a report's
   * rows commit in one short transaction, so by then every report received before the window's
   * end is visible and none is read twice or skipped.
   */
  settleMs?: number;
}

/**
 * The runner's `CohortSource`: `read({flag, environment, cursor, since, now})` sums the reports
 * received in [cursor, now − settleMs) about traffic after `since` (the milestone's start; see
 * readCohortBatches' `startedAfter`) per cohort. The cursor is the window's end (ISO); a null
 * cursor starts at `since`.
 */
export function cohortSource(db: Kysely<Database>, opts: CohortSourceOptions = {}) {
  const settleMs = opts.settleMs ?? 2000;
  return {
    async read(q: { flag: string; environment: string; cursor: string | null; since: string; now: number }): Promise<{ cohorts: Record<string, CohortTotals>; batches: number; cursor: string | null }> {
      const until = new Date(q.now - settleMs).toISOString();
      const sinceIso = new Date(q.since).toISOString();
      const from = q.cursor && q.cursor > sinceIso ? q.cursor : sinceIso;
      if (from >= until) return { cohorts: {}, batches: 0, cursor: q.cursor };
      const rows = await readCohortBatches(db, { flag: q.flag, environment: q.environment, since: from, until, startedAfter: q.since });
      return { cohorts: aggregateCohorts(rows), batches: rows.length, cursor: until };
    },
  };
}

/** The runner's `PlanAlert` for a flag alert. */
export function toPlanAlert(a: FlagAlert): { name: string; flag: string; environment?: string; summary?: string; labels: Record<string, string>; receivedAt: string } {
  const out: { name: string; flag: string; environment?: string; summary?: string; labels: Record<string, string>; receivedAt: string } = {
    name: a.alertname ?? a.labels.alertname ?? 'alert',
    flag: a.flag,
    labels: a.labels,
    receivedAt: a.receivedAt,
  };
  if (a.environment) out.environment = a.environment;
  const summary = a.annotations.summary ?? a.annotations.description;
  if (summary) out.summary = summary;
  return out;
}

/**
 * The runner's `AlertSource`: `firing()` lists the flag alerts firing now — per alert (its
 * fingerprint, else name + flag + environment), the latest notification received within
 * `maxAgeMs` (default 1 h; Alertmanager repeats firing alerts every `repeat_interval`, 4 h by
 * default: set it lower, or raise this) is a firing one.
 */
export function alertSource(db: Kysely<Database>, opts: { maxAgeMs?: number } = {}) {
  const maxAgeMs = opts.maxAgeMs ?? 3_600_000;
  return {
    async firing() {
      const rows = await readAlerts(db, { since: new Date(Date.now() - maxAgeMs), limit: 10_000 });
      const latest = new Map<string, StoredAlert>();
      for (const r of rows) {
        if (r.outcome !== 'emitted' && r.outcome !== 'resolved') continue;
        latest.set(r.fingerprint ?? `${r.alertname}\0${r.flag}\0${r.environment ?? ''}`, r);
      }
      return [...latest.values()].filter((r) => r.status === 'firing' && r.outcome === 'emitted').map(toPlanAlert);
    },
  };
}
