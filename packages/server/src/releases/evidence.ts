/**
 * Decisions in words, with the numbers: the one-sentence reasons a person reads in the API, the
 * CLI, the audit log and notifications.
 *
 *   "canary error rate 9.8 % vs control 1.0 % over 1,240 vs 98,000 requests; evidence e = 143 ≥ 100 (α = 1 %)"
 */
import type { Evidence, MetricEvidence } from './guardian/index.js';
import type { PlanSpec } from './model.js';

export const fmtCount = (n: number) => Math.round(n).toLocaleString('en-US');

export function fmtPct(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '–';
  const p = x * 100;
  return `${p === 0 ? '0' : p < 0.1 ? p.toFixed(2) : p.toFixed(1)} %`;
}

/** An e-value for people: 3 significant digits, powers of ten past 10,000. */
export function fmtE(e: number, log10E?: number): string {
  const l = log10E ?? Math.log10(e);
  if (!Number.isFinite(l) || l > 4) return `10^${(log10E ?? l).toFixed(1)}`;
  if (e >= 100) return String(Math.round(e));
  return String(Number(e.toPrecision(3)));
}

export const fmtAlpha = (alpha: number) => `${Number((alpha * 100).toPrecision(3))} %`;

function metricClause(m: MetricEvidence, spec: PlanSpec): string {
  const c = m.total.canary;
  const k = m.total.control;
  const rate = (t: { requests: number; events: number }) => (t.requests > 0 ? t.events / t.requests : null);
  const what = m.kind === 'errors' ? 'error rate' : `requests slower than ${m.thresholdMs} ms`;
  const canary = spec.cohorts.canary === 'on' ? 'canary' : `canary (${spec.cohorts.canary})`;
  const control = spec.cohorts.control === 'off' ? 'control' : `control (${spec.cohorts.control})`;
  return `${canary} ${what} ${fmtPct(rate(c))} vs ${control} ${fmtPct(rate(k))} over ${fmtCount(c.requests)} vs ${fmtCount(k.requests)} requests`;
}

/** The strongest metric's counts and the combined evidence against its threshold. */
export function evidenceSentence(ev: Evidence, spec: PlanSpec, op: '≥' | '<' = ev.log10E >= Math.log10(ev.threshold) ? '≥' : '<'): string {
  // A latency metric still waiting for its threshold (warm-up) has no counts to show.
  const strongest = ev.metrics.filter((m) => m.kind === 'errors' || m.thresholdMs !== null).sort((a, b) => b.log10E - a.log10E)[0];
  const clause = strongest ? `${metricClause(strongest, spec)}; ` : '';
  return `${clause}evidence e = ${fmtE(ev.e, ev.log10E)} ${op} ${fmtE(ev.threshold)} (α = ${fmtAlpha(ev.alpha)})`;
}

/** Why the guardian rolled back, in one sentence with the numbers. */
export function rollbackSentence(ev: Evidence, spec: PlanSpec): string {
  const tripped = ev.slo.filter((g) => g.tripped);
  if (ev.log10E >= Math.log10(ev.threshold)) return evidenceSentence(ev, spec, '≥');
  if (tripped.length) {
    const g = tripped[0];
    const what = g.kind === 'error-rate' ? `canary error rate ${fmtPct(g.value)}` : `${fmtPct(g.value)} of canary requests slower than ${g.thresholdMs} ms`;
    return `SLO guard: ${what} > ${fmtPct(g.limit)} over the last ${g.windowMs / 1000} s (${fmtCount(g.requests)} requests); ${evidenceSentence(ev, spec)}`;
  }
  return ev.reasons.join('; ');
}

export function srmSentence(ev: Evidence): string {
  const s = ev.srm!;
  return `sample-ratio mismatch: canary got ${fmtPct(s.observedShare)} of ${fmtCount(s.canaryRequests + s.controlRequests)} requests, expected ${fmtPct(s.expectedShare)} (SRM e = ${fmtE(s.e, s.log10E)} ≥ ${fmtE(s.threshold)}); the comparison is not like-for-like, a person should look`;
}

export function advanceSentence(ev: Evidence, spec: PlanSpec, milestone: string): string {
  return `gate held at "${milestone}" after ${Math.round(ev.traffic.elapsedMs / 1000)} s: ${evidenceSentence(ev, spec, '<')}`;
}

export function waitSentence(ev: Evidence, spec: PlanSpec): string {
  const reasons = ev.reasons.filter((r) => !r.startsWith('waiting:') && !r.startsWith('bake time'));
  const t = ev.traffic;
  const waits: string[] = [];
  if (t.canaryRequests < t.minCanaryRequests) waits.push(`canary ${fmtCount(t.canaryRequests)}/${fmtCount(t.minCanaryRequests)} requests`);
  if (t.controlRequests < t.minControlRequests) waits.push(`control ${fmtCount(t.controlRequests)}/${fmtCount(t.minControlRequests)} requests`);
  if (t.elapsedMs < t.bakeMs) waits.push(`bake ${Math.floor(t.elapsedMs / 1000)}/${Math.ceil(t.bakeMs / 1000)} s`);
  return [waits.length ? `waiting (${waits.join(', ')})` : 'gate holds', evidenceSentence(ev, spec, '<'), ...reasons].join('; ');
}
