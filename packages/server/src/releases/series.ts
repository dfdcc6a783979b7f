/**
 * A plan's checks as a time series, for charts (the web UI's plan page): one point per stored
 * decision, oldest first — each cohort's requests, errors, error rate and latency quantiles in
 * that check and over the milestone so far, and the guardian's combined e-value against 1/α.
 * Read from `release_decisions` (the evidence every check keeps), so it needs no extra storage.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import { DEFAULT_BUCKETS_MS } from './guardian/index.js';
import type { CohortTotals } from './model.js';
import { cohortStats, decisionView, releaseDb, type CohortStats, type DecisionSource, type DecisionAction, type PlanView } from './store.js';

export interface SeriesCohorts {
  canary: CohortStats;
  control: CohortStats;
  /** SDK reports summed. */
  batches: number;
}

export interface SeriesPoint {
  /** The decision's id (pass the last one as `after` to get only newer points). */
  id: number;
  at: string;
  step: number;
  /** Index of the milestone the check (or transition) belongs to. */
  milestone: number;
  source: DecisionSource;
  decision: string;
  action: DecisionAction;
  summary: string;
  /** This check's counts (null: a transition, or a check without new reports). */
  check: SeriesCohorts | null;
  /** The milestone's counts up to and including this check. */
  cumulative: SeriesCohorts | null;
  /** The guardian's combined e-value and its threshold 1/α (null for a person's transitions). */
  e: number | null;
  log10E: number | null;
  threshold: number | null;
  metrics: Array<{ id: string; log10E: number; thresholdMs: number | null }>;
}

export interface PlanSeries {
  planId: string;
  points: SeriesPoint[];
  /** The last point's id (or `after`): ask again with `after=next` for newer points. */
  next: number;
  /** More points than `limit` were stored after `after`. */
  more: boolean;
}

export async function planSeries(db: Kysely<Database>, plan: PlanView, q: { after?: number; limit?: number } = {}): Promise<PlanSeries> {
  const limit = q.limit ?? 2000;
  const after = q.after ?? 0;
  const rows = await releaseDb(db)
    .selectFrom('release_decisions')
    .selectAll()
    .where('plan_id', '=', plan.id)
    .where('id', '>', after)
    .orderBy('id')
    .limit(limit + 1)
    .execute();
  const more = rows.length > limit;
  const points = rows.slice(0, limit).map((row): SeriesPoint => {
    const d = decisionView(row);
    const bounds = plan.milestones[d.milestone]?.gate.buckets ?? DEFAULT_BUCKETS_MS;
    const cohorts = (t: { canary: CohortTotals; control: CohortTotals; batches: number } | null): SeriesCohorts | null =>
      t ? { canary: cohortStats(plan.cohorts.canary, t.canary, bounds), control: cohortStats(plan.cohorts.control, t.control, bounds), batches: t.batches } : null;
    const g = d.evidence.guardian;
    return {
      id: d.id,
      at: d.createdAt,
      step: d.step,
      milestone: d.milestone,
      source: d.source,
      decision: d.decision,
      action: d.action,
      summary: d.summary,
      check: cohorts(d.evidence.batch),
      cumulative: cohorts(d.evidence.milestone),
      e: g ? g.e : null,
      log10E: g ? g.log10E : null,
      threshold: g ? g.threshold : null,
      metrics: g ? g.metrics.map((m) => ({ id: m.id, log10E: m.log10E, thresholdMs: m.thresholdMs })) : [],
    };
  });
  return { planId: plan.id, points, next: points.length ? points[points.length - 1].id : after, more };
}
