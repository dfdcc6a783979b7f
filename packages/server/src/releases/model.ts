/**
 * The vocabulary of release plans: templates (ordered milestones with a bake time and a health
 * gate each, and what a rollback means), plans (a template applied to one flag in one
 * environment) and their states. Shapes only; the state machine is in service.ts.
 */
import type { StrategyView } from '../flags/store.js';
import type { ConstraintInput, VariantInput } from '../http/schemas.js';
import type { CohortCounts, GuardianConfig, LatencyThreshold, SloGuard } from './guardian/index.js';

/** draft → running ⇄ paused → completed | rolled-back (see docs/releases.md). */
export const PLAN_STATES = ['draft', 'running', 'paused', 'completed', 'rolled-back'] as const;
export type PlanState = (typeof PLAN_STATES)[number];
export const ACTIVE_STATES: readonly PlanState[] = ['draft', 'running', 'paused'];

/** Where a rollback goes: the previous milestone (before the first: the flag as it was before the plan) or off. */
export type RollbackTo = 'previous' | 'off';
/** What an inbound alert does to a running plan. */
export type AlertAction = 'rollback' | 'pause';

/**
 * The health gate of a milestone: the guardian's configuration without the bake time (a
 * milestone has its own). `srm: 'auto'` (the default) checks the sample ratio when the
 * milestone's canary share is known — a single flexibleRollout without constraints or segments.
 */
export interface HealthGate {
  alpha?: number;
  errors?: boolean;
  latency?: false | { thresholds?: LatencyThreshold[]; minBaselineRequests?: number };
  minCanaryRequests?: number;
  minControlRequests?: number;
  srm?: false | 'auto' | { expectedShare?: number; alpha?: number; tolerance?: number };
  sloGuards?: SloGuard[];
  metricWeights?: Record<string, number>;
  psiGrid?: number[];
  psiWeights?: number[];
  buckets?: number[];
}

/** A strategy as written in a template: like the admin API's, but segments may be named. */
export interface TemplateStrategy {
  name: string;
  title?: string;
  disabled?: boolean;
  parameters?: Record<string, string | number>;
  constraints?: ConstraintInput[];
  segments?: Array<number | string>;
  variants?: VariantInput[];
}

export interface MilestoneSpec {
  name: string;
  strategies: TemplateStrategy[];
  /** How long the milestone must run (and its gate hold) before the guardian advances. */
  bakeMs?: number;
  /** Overrides of the template's gate for this milestone. */
  gate?: HealthGate;
  /** false: when the gate holds, wait for a person to advance (default true). */
  autoAdvance?: boolean;
}

export interface TemplateSpec {
  milestones: MilestoneSpec[];
  rollback?: RollbackTo;
  /** Default bake time of every milestone (ms). */
  bakeMs?: number;
  /** Default gate of every milestone. */
  gate?: HealthGate;
  onAlert?: AlertAction;
}

export interface TemplateView extends TemplateSpec {
  id: string;
  name: string;
  description: string;
  builtin: boolean;
  rollback: RollbackTo;
  createdBy?: string;
  createdAt?: string;
  updatedAt?: string;
}

/** A strategy ready for the strategies table (validated, parameters normalised, segment ids): a stored strategy before it has an id and a place. */
export type ResolvedStrategy = Omit<StrategyView, 'id' | 'sortOrder'>;

export interface ResolvedMilestone {
  name: string;
  strategies: ResolvedStrategy[];
  bakeMs: number;
  gate: HealthGate;
  autoAdvance: boolean;
  /** The share of requests the canary should get here, when the strategies say (one plain flexibleRollout); else null. */
  canaryShare: number | null;
}

/** What a plan keeps of its template: resolved, so later template edits never change a running plan. */
export interface PlanSpec {
  milestones: ResolvedMilestone[];
  rollback: RollbackTo;
  onAlert: AlertAction;
  /** Cohort names compared: the SDK's variant name, or on/off for a boolean flag. */
  cohorts: { canary: string; control: string };
}

/** A flag's configuration in one environment (what a transition writes). */
export interface FlagEnvConfig {
  enabled: boolean;
  strategies: ResolvedStrategy[];
}

/** Counts of one cohort, accumulated over the current milestone. */
export interface CohortTotals {
  requests: number;
  errors: number;
  latency: number[] | null;
}

export interface MilestoneTotals {
  canary: CohortTotals;
  control: CohortTotals;
  /** SDK batches (rows) read. */
  batches: number;
}

/** The guardian configuration of one milestone of a plan. */
export function guardianConfig(m: ResolvedMilestone): GuardianConfig {
  const { srm, ...gate } = m.gate;
  let srmConfig: GuardianConfig['srm'] = false;
  if (srm !== false) {
    const explicit = srm && srm !== 'auto' ? srm : {};
    const share = explicit.expectedShare ?? m.canaryShare;
    if (share !== null && share !== undefined && share > 0 && share < 1) srmConfig = { expectedShare: share, alpha: explicit.alpha, tolerance: explicit.tolerance };
  }
  return { ...gate, bakeMs: m.bakeMs, srm: srmConfig };
}

/** A milestone is a canary of known share when it is exactly one flexibleRollout without targeting. */
export function canaryShareOf(strategies: ResolvedStrategy[]): number | null {
  if (strategies.length !== 1) return null;
  const s = strategies[0];
  if (s.name !== 'flexibleRollout' || s.disabled || s.constraints.length || s.segments.length || s.variants.length) return null;
  const pct = Number(s.parameters.rollout ?? '100');
  return Number.isFinite(pct) ? pct / 100 : null;
}

export const emptyTotals = (): MilestoneTotals => ({
  canary: { requests: 0, errors: 0, latency: null },
  control: { requests: 0, errors: 0, latency: null },
  batches: 0,
});

export function addCounts(into: CohortTotals, c: CohortCounts | undefined): void {
  if (!c) return;
  into.requests += c.requests;
  into.errors += c.errors;
  if (c.latency && c.latency.length) {
    if (!into.latency || into.latency.length !== c.latency.length) into.latency = c.latency.map(() => 0);
    for (let i = 0; i < c.latency.length; i++) into.latency[i] += c.latency[i] ?? 0;
  }
}
