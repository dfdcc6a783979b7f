/**
 * The release tables (migration 004-releases) and their rows as the API shows them.
 */
import type { Generated, Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { Trx } from '../events/changes.js';
import { parseJson } from '../flags/store.js';
import { histogramTotal, quantileBoundIndex, DEFAULT_BUCKETS_MS } from './guardian/index.js';
import type { Evidence, GuardianState } from './guardian/index.js';
import type { CohortTotals, FlagEnvConfig, MilestoneTotals, PlanSpec, PlanState } from './model.js';

export interface ReleaseTemplatesTable {
  id: string;
  name: string;
  description: string | null;
  spec: string; // JSON TemplateSpec
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface ReleasePlansTable {
  id: string;
  flag: string;
  environment: string;
  project: string;
  template: string | null;
  spec: string; // JSON PlanSpec
  state: PlanState;
  milestone: number;
  step: number;
  version: number;
  active_key: string | null;
  reason: string | null;
  before_config: string | null; // JSON FlagEnvConfig
  guardian: string | null; // JSON GuardianState
  cohort_totals: string | null; // JSON MilestoneTotals
  baseline: string | null; // JSON number[] (control latency of the previous milestone)
  cursor: string | null;
  last_decision: string | null; // JSON DecisionSummary
  milestone_started_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface ReleaseDecisionsTable {
  id: Generated<number>;
  plan_id: string;
  version: number;
  step: number;
  milestone: number;
  source: DecisionSource;
  decision: string;
  action: DecisionAction;
  e: number | null;
  threshold: number | null;
  summary: string;
  evidence: string; // JSON DecisionEvidence
  actor: string;
  created_at: string;
}

export interface ReleaseTables {
  release_templates: ReleaseTemplatesTable;
  release_plans: ReleasePlansTable;
  release_decisions: ReleaseDecisionsTable;
}

export type ReleaseDatabase = Database & ReleaseTables;
export type ReleaseDb = Kysely<ReleaseDatabase>;
export type ReleaseTrx = Transaction<ReleaseDatabase>;
export type PlanRow = Selectable<ReleasePlansTable>;
export type DecisionRow = Selectable<ReleaseDecisionsTable>;

export function releaseDb(db: Trx): ReleaseTrx;
export function releaseDb(db: Kysely<Database>): ReleaseDb;
export function releaseDb(db: Kysely<Database> | Trx): ReleaseDb | ReleaseTrx {
  return db as unknown as ReleaseDb;
}

/** Who decided: the guardian (a check), a person (API/CLI), or an inbound alert. */
export type DecisionSource = 'guardian' | 'manual' | 'alert';
/** What the plan did about it. */
export type DecisionAction = 'none' | 'wait' | 'advance' | 'complete' | 'rollback' | 'pause' | 'resume' | 'start';

/** What a decision row keeps: the guardian's evidence plus this check's cohort counts. */
export interface DecisionEvidence {
  /** This check's counts per cohort (summed over `batches` SDK reports). */
  batch: { canary: CohortTotals; control: CohortTotals; batches: number; at: number } | null;
  /** The milestone so far. */
  milestone: MilestoneTotals | null;
  guardian: Evidence | null;
  alert?: unknown;
  reasons: string[];
}

/** The latest decision as the plan view shows it. */
export interface DecisionSummary {
  id: number;
  at: string;
  source: DecisionSource;
  decision: string;
  action: DecisionAction;
  summary: string;
  e: number | null;
  threshold: number | null;
  metrics: Array<{ id: string; e: number; log10E: number; thresholdMs: number | null }>;
  traffic: Evidence['traffic'] | null;
  srm: Evidence['srm'];
}

export interface DecisionView {
  id: number;
  planId: string;
  version: number;
  step: number;
  milestone: number;
  source: DecisionSource;
  decision: string;
  action: DecisionAction;
  e: number | null;
  threshold: number | null;
  summary: string;
  evidence: DecisionEvidence;
  actor: string;
  createdAt: string;
}

export const decisionView = (r: DecisionRow): DecisionView => ({
  id: Number(r.id),
  planId: r.plan_id,
  version: Number(r.version),
  step: Number(r.step),
  milestone: Number(r.milestone),
  source: r.source,
  decision: r.decision,
  action: r.action,
  e: r.e === null ? null : Number(r.e),
  threshold: r.threshold === null ? null : Number(r.threshold),
  summary: r.summary,
  evidence: parseJson<DecisionEvidence>(r.evidence, { batch: null, milestone: null, guardian: null, reasons: [] }),
  actor: r.actor,
  createdAt: r.created_at,
});

export interface CohortStats {
  cohort: string;
  requests: number;
  errors: number;
  errorRate: number | null;
  /** Upper bounds of the histogram buckets holding the quantiles (ms); null without latency data. */
  latency: { p50: number | null; p95: number | null; p99: number | null; requests: number } | null;
}

export interface PlanView {
  id: string;
  flag: string;
  environment: string;
  project: string;
  template: string | null;
  state: PlanState;
  /** Index of the current milestone (−1 before the start). */
  milestone: number;
  milestoneName: string | null;
  milestones: PlanSpec['milestones'];
  rollback: PlanSpec['rollback'];
  onAlert: PlanSpec['onAlert'];
  cohorts: PlanSpec['cohorts'];
  /** Transitions so far (start, advances, pause, resume, rollback): the idempotency key with the id. */
  step: number;
  /** Bumped on every write to the plan (compare-and-set). */
  version: number;
  reason: string | null;
  milestoneStartedAt: string | null;
  /** When the current milestone's bake time is over (running plans). */
  bakeUntil: string | null;
  startedAt: string | null;
  endedAt: string | null;
  /** The current milestone's traffic, error rates and latency per cohort. */
  traffic: { canary: CohortStats; control: CohortStats; batches: number } | null;
  lastDecision: DecisionSummary | null;
  before: FlagEnvConfig | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export function cohortStats(name: string, t: CohortTotals, bounds: readonly number[]): CohortStats {
  let latency: CohortStats['latency'] = null;
  if (t.latency && histogramTotal(t.latency) > 0 && t.latency.length === bounds.length + 1) {
    const q = (p: number) => {
      const i = quantileBoundIndex(t.latency!, bounds, p);
      return i === null ? null : bounds[i];
    };
    latency = { p50: q(0.5), p95: q(0.95), p99: q(0.99), requests: histogramTotal(t.latency) };
  }
  return { cohort: name, requests: t.requests, errors: t.errors, errorRate: t.requests > 0 ? t.errors / t.requests : null, latency };
}

export function planView(row: PlanRow): PlanView {
  const spec = JSON.parse(row.spec) as PlanSpec;
  const m = Number(row.milestone);
  const milestone = m >= 0 ? spec.milestones[m] : undefined;
  const totals = parseJson<MilestoneTotals | null>(row.cohort_totals, null);
  const guardian = parseJson<Pick<GuardianState, 'config'> | null>(row.guardian, null);
  const bounds = guardian?.config?.buckets ?? milestone?.gate.buckets ?? DEFAULT_BUCKETS_MS;
  const started = row.milestone_started_at;
  return {
    id: row.id,
    flag: row.flag,
    environment: row.environment,
    project: row.project,
    template: row.template,
    state: row.state,
    milestone: m,
    milestoneName: milestone?.name ?? null,
    milestones: spec.milestones,
    rollback: spec.rollback,
    onAlert: spec.onAlert,
    cohorts: spec.cohorts,
    step: Number(row.step),
    version: Number(row.version),
    reason: row.reason,
    milestoneStartedAt: started,
    bakeUntil: row.state === 'running' && started && milestone ? new Date(Date.parse(started) + milestone.bakeMs).toISOString() : null,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    traffic: totals
      ? { canary: cohortStats(spec.cohorts.canary, totals.canary, bounds), control: cohortStats(spec.cohorts.control, totals.control, bounds), batches: totals.batches }
      : null,
    lastDecision: parseJson<DecisionSummary | null>(row.last_decision, null),
    before: parseJson<FlagEnvConfig | null>(row.before_config, null),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
