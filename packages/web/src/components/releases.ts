/**
 * Release plans as the admin API shows them (docs/releases.md#api), the words and numbers the
 * release pages print, and the live plan stream (Server-Sent Events over the session cookie).
 */
import { useEffect, useRef, useState } from 'react';
import { api, type Constraint, type Variant } from '../api';

export const PLAN_STATES = ['draft', 'running', 'paused', 'completed', 'rolled-back'] as const;
export type PlanState = (typeof PLAN_STATES)[number];
export const ACTIVE_STATES: PlanState[] = ['draft', 'running', 'paused'];

export interface LatencyStats {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  requests: number;
}

export interface CohortStats {
  cohort: string;
  requests: number;
  errors: number;
  errorRate: number | null;
  latency: LatencyStats | null;
}

export interface HealthGate {
  alpha?: number;
  errors?: boolean;
  latency?: false | { thresholds?: Array<{ quantile: number } | { ms: number }>; minBaselineRequests?: number };
  minCanaryRequests?: number;
  minControlRequests?: number;
  srm?: false | 'auto' | { expectedShare?: number; alpha?: number; tolerance?: number };
  sloGuards?: unknown[];
  buckets?: number[];
}

export interface PlanStrategy {
  name: string;
  title?: string;
  disabled?: boolean;
  parameters?: Record<string, string | number>;
  constraints?: Constraint[];
  /** Ids in a plan; ids or names in a template. */
  segments?: Array<number | string>;
  variants?: Variant[];
}

export interface Milestone {
  name: string;
  strategies: PlanStrategy[];
  bakeMs: number;
  gate: HealthGate;
  autoAdvance: boolean;
  canaryShare: number | null;
}

export interface Traffic {
  canaryRequests: number;
  controlRequests: number;
  minCanaryRequests: number;
  minControlRequests: number;
  elapsedMs: number;
  bakeMs: number;
  met: boolean;
}

export interface Srm {
  e: number;
  log10E: number;
  threshold: number;
  expectedShare: number;
  observedShare: number | null;
  canaryRequests: number;
  controlRequests: number;
  flagged: boolean;
}

export type DecisionSource = 'guardian' | 'manual' | 'alert';
export type DecisionAction = 'none' | 'wait' | 'advance' | 'complete' | 'rollback' | 'pause' | 'resume' | 'start';

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
  traffic: Traffic | null;
  srm: Srm | null;
}

export interface Plan {
  id: string;
  flag: string;
  environment: string;
  project: string;
  template: string | null;
  state: PlanState;
  milestone: number;
  milestoneName: string | null;
  milestones: Milestone[];
  rollback: 'previous' | 'off';
  onAlert: 'rollback' | 'pause';
  cohorts: { canary: string; control: string };
  step: number;
  version: number;
  reason: string | null;
  milestoneStartedAt: string | null;
  bakeUntil: string | null;
  startedAt: string | null;
  endedAt: string | null;
  /** The current milestone's counts per cohort, as the server computes them. */
  traffic: SeriesCohorts | null;
  lastDecision: DecisionSummary | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface TemplateMilestone {
  name: string;
  strategies: PlanStrategy[];
  bakeMs?: number;
  gate?: HealthGate;
  autoAdvance?: boolean;
}

export interface Template {
  id: string;
  name: string;
  description: string;
  builtin: boolean;
  rollback: 'previous' | 'off';
  bakeMs?: number;
  gate?: HealthGate;
  onAlert?: 'rollback' | 'pause';
  milestones: TemplateMilestone[];
}

export interface Tally {
  requests: number;
  events: number;
}

export interface MetricEvidence {
  id: string;
  kind: 'errors' | 'latency';
  weight: number;
  thresholdMs: number | null;
  thresholdSource: 'baseline' | 'warm-up' | 'slo' | null;
  e: number;
  log10E: number;
  total: { canary: Tally; control: Tally };
}

export interface Evidence {
  alpha: number;
  threshold: number;
  e: number;
  log10E: number;
  metrics: MetricEvidence[];
  srm: Srm | null;
  traffic: Traffic;
  slo: Array<{ kind: string; thresholdMs: number | null; limit: number; windowMs: number; requests: number; bad: number; value: number | null; tripped: boolean }>;
  reasons: string[];
}

export interface Decision {
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
  evidence: { guardian: Evidence | null; alert?: { name?: string; labels?: Record<string, string> }; reasons: string[] };
  actor: string;
  createdAt: string;
}

export interface SeriesCohorts {
  canary: CohortStats;
  control: CohortStats;
  batches: number;
}

export interface SeriesPoint {
  id: number;
  at: string;
  step: number;
  milestone: number;
  source: DecisionSource;
  decision: string;
  action: DecisionAction;
  summary: string;
  check: SeriesCohorts | null;
  cumulative: SeriesCohorts | null;
  e: number | null;
  log10E: number | null;
  threshold: number | null;
  metrics: Array<{ id: string; log10E: number; thresholdMs: number | null }>;
}

export interface Series {
  planId: string;
  points: SeriesPoint[];
  next: number;
  more: boolean;
}

// ---------------------------------------------------------------- words and numbers

export const fmtCount = (n: number) => Math.round(n).toLocaleString('en-US');

export function fmtPct(x: number | null | undefined, digits?: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const p = x * 100;
  if (digits !== undefined) return `${p.toFixed(digits)} %`;
  return `${p === 0 ? '0' : p < 0.1 ? p.toFixed(2) : p < 10 ? p.toFixed(1) : Math.round(p)} %`;
}

/** α as the server writes it: "1 %", "0.1 %". */
export const fmtAlpha = (alpha: number) => `${Number((alpha * 100).toPrecision(3))} %`;

/** An e-value for people, as the server writes it: 3 significant digits, powers of ten past 10,000. */
export function fmtE(e: number | null | undefined, log10E?: number | null): string {
  if (e === null || e === undefined) return '–';
  const l = log10E ?? Math.log10(e);
  if (!Number.isFinite(l) || l > 4) return `10^${l.toFixed(1)}`;
  if (l < -3) return `10^${l.toFixed(1)}`;
  if (e >= 100) return String(Math.round(e));
  return String(Number(e.toPrecision(3)));
}

/** "5 min", "30 s", "1 h 30 min", "2 d". */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  const rs = s % 60;
  if (m < 60) return rs ? `${m} min ${rs} s` : `${m} min`;
  const h = Math.floor(m / 60);
  const rm = m % 60;
  if (h < 48) return rm ? `${h} h ${rm} min` : `${h} h`;
  const d = Math.floor(h / 24);
  const rh = h % 24;
  return rh ? `${d} d ${rh} h` : `${d} d`;
}

/** A clock for elapsed time: "1:05", "12:30", "1:02:03". */
export function fmtClock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };
export const MAX_BAKE_MS = 30 * 24 * 3600 * 1000;

/** "90s", "5m", "1h 30m", "2.5 min" → ms; a bare number is seconds. null when it does not parse. */
export function parseDuration(text: string): number | null {
  const t = text.trim().toLowerCase().replace(/\s+/g, '');
  if (!t) return null;
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  if (!/^(?:\d+(?:\.\d+)?(?:ms|min|s|m|h|d))+$/.test(t)) return null;
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|min|s|m|h|d)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return Math.round(total);
}

export function durationError(text: string): string | null {
  if (!text.trim()) return null;
  const ms = parseDuration(text);
  if (ms === null) return 'Write a duration such as 90s, 5m or 1h 30m.';
  if (ms > MAX_BAKE_MS) return 'At most 30 days.';
  return null;
}

export const STATE_TONE: Record<PlanState, 'neutral' | 'on' | 'off' | 'warn' | 'info' | 'danger'> = {
  draft: 'neutral',
  running: 'info',
  paused: 'warn',
  completed: 'on',
  'rolled-back': 'danger',
};

export const stateLabel = (s: PlanState) => (s === 'rolled-back' ? 'rolled back' : s);

/** What a rollback does, in words. */
export const rollbackWords = (r: 'previous' | 'off') => (r === 'off' ? 'turn the flag off' : 'go back to the previous milestone');

export const sourceWords: Record<DecisionSource, string> = { guardian: 'the guardian', manual: 'a person', alert: 'an alert' };

/** A strategy in a few words: "100 % of beta", "25 %", "userWithId". */
export function describeStrategy(s: PlanStrategy, segmentName?: (id: number | string) => string): string {
  const segs = (s.segments ?? []).map((x) => (segmentName ? segmentName(x) : String(x)));
  const pct = s.parameters?.rollout;
  const base = s.name === 'flexibleRollout' ? `${pct ?? 100} %` : s.name === 'default' ? 'everyone' : s.name;
  const parts = [segs.length ? `${base} of ${segs.join(', ')}` : base];
  if (s.constraints?.length) parts.push(`${s.constraints.length} constraint${s.constraints.length === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

/** The canary's share of both cohorts' requests (null before any). */
export function canaryShare(c: SeriesCohorts): number | null {
  const total = c.canary.requests + c.control.requests;
  return total ? c.canary.requests / total : null;
}

/** The gate's minimum traffic, as the guardian applies it (default 300). */
export const minTraffic = (gate: HealthGate | undefined) => ({ canary: gate?.minCanaryRequests ?? 300, control: gate?.minControlRequests ?? 300 });

// ---------------------------------------------------------------- live updates

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'off';

/**
 * Follows an SSE stream of `plan` events (the browser sends the session cookie: same origin).
 * EventSource reconnects by itself after a dropped connection; when the server refuses the stream
 * (the session ended, the plan is gone) it gives up, and this retries after a pause — checking the
 * session with a plain GET first, so an ended session goes back to sign-in.
 */
export function usePlanStream(path: string | null, onPlan: (p: Plan) => void, check?: () => Promise<unknown>): StreamStatus {
  const [status, setStatus] = useState<StreamStatus>(path ? 'connecting' : 'off');
  const handler = useRef(onPlan);
  handler.current = onPlan;
  const checker = useRef(check);
  checker.current = check;
  useEffect(() => {
    if (!path || typeof EventSource === 'undefined') {
      setStatus('off');
      return;
    }
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let closed = false;
    let delay = 2000;
    const open = () => {
      source = new EventSource(path);
      setStatus((s) => (s === 'live' ? 'reconnecting' : s));
      source.onopen = () => {
        delay = 2000;
        setStatus('live');
      };
      source.addEventListener('plan', (ev) => {
        try {
          handler.current(JSON.parse((ev as MessageEvent<string>).data) as Plan);
        } catch {
          // a malformed frame: the next one brings the plan up to date
        }
      });
      source.onerror = () => {
        if (closed || !source) return;
        if (source.readyState === EventSource.CLOSED) {
          source = null;
          setStatus('reconnecting');
          retry = setTimeout(async () => {
            try {
              await checker.current?.();
            } catch {
              // an ended session is handled by the api client (back to sign-in)
            }
            if (!closed) open();
          }, delay);
          delay = Math.min(delay * 2, 30_000);
        } else setStatus('reconnecting');
      };
    };
    open();
    return () => {
      closed = true;
      if (retry) clearTimeout(retry);
      source?.close();
    };
  }, [path]);
  return status;
}

/** The current time, updated every `ms` while `active`. */
export function useNow(ms: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return now;
}

/** A plan action with a safe retry: it only lands if the plan is still at the step we saw. */
export function planAction(plan: Plan, action: 'start' | 'pause' | 'resume' | 'advance' | 'rollback', reason?: string): Promise<Plan> {
  return api.post<Plan>(`/api/admin/releases/${encodeURIComponent(plan.id)}/${action}`, { expectedStep: plan.step, ...(reason ? { reason } : {}) });
}
