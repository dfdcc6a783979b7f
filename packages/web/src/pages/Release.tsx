import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { api, ApiError, seg } from '../api';
import '../components/release.css';
import { LineChart, Toggle, type ChartMarker, type ChartPoint, type ChartRule, type ChartSeries } from '../components/Chart';
import { Badge, ConfirmButton, Dialog, Field, Loading, ProblemMessage, Time, useFlash, useTitle } from '../components/ui';
import { useAction, useApi } from '../hooks';
import { Link, navigate } from '../router';
import {
  ACTIVE_STATES,
  STATE_TONE,
  canaryShare,
  describeStrategy,
  fmtClock,
  fmtCount,
  fmtDuration,
  fmtAlpha,
  fmtE,
  fmtPct,
  minTraffic,
  planAction,
  rollbackWords,
  sourceWords,
  stateLabel,
  useNow,
  usePlanStream,
  type CohortStats,
  type Decision,
  type Plan,
  type Series,
  type SeriesCohorts,
  type SeriesPoint,
  type StreamStatus,
} from '../components/releases';

const CANARY = '#d9480f';
const CONTROL = '#1f5fbf';
const THRESHOLD = '#b42318';
const METRIC_COLORS = ['#6b7a8f', '#9c6ade', '#2b8a3e', '#a07800'];

export function LiveBadge({ status }: { status: StreamStatus }) {
  if (status === 'off') return null;
  const words = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' }[status];
  return (
    <span className={`live live-${status}`} role="status" title={status === 'live' ? 'This page updates by itself from the server’s stream' : 'The live stream is reconnecting'}>
      <span className="live-dot" aria-hidden="true" />
      {words}
    </span>
  );
}

/** One release plan, live: state, milestones, traffic, charts, the guardian's evidence, history. */
export function ReleasePage({ id }: { id: string }) {
  const base = `/api/admin/releases/${seg(id)}`;
  const initial = useApi<Plan>(base);
  const [plan, setPlan] = useState<Plan>();
  const accept = useCallback((p: Plan) => setPlan((cur) => (!cur || cur.id !== p.id || p.version > cur.version ? p : cur)), []);
  useEffect(() => {
    if (initial.data) accept(initial.data);
  }, [initial.data, accept]);
  useTitle(plan ? `${plan.flag} in ${plan.environment} · Releases` : 'Release plan');

  // Streamed while the plan can still change (a finished plan has nothing more to say).
  const streaming = !!plan && plan.id === id && ACTIVE_STATES.includes(plan.state);
  const status = usePlanStream(streaming ? `${base}/stream` : null, accept, () => api.get(base));

  // The checks as a time series: fetched once, then only the newer points on each new plan version.
  const [points, setPoints] = useState<SeriesPoint[]>([]);
  const [seriesError, setSeriesError] = useState<ApiError>();
  const next = useRef(0);
  const busy = useRef(false);
  const again = useRef(false);
  const currentBase = useRef(base);
  currentBase.current = base;
  const fetchSeries = useCallback(async () => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    try {
      do {
        again.current = false;
        for (let more = true; more; ) {
          const s = await api.get<Series>(`${base}/series?after=${next.current}`);
          if (currentBase.current !== base) return; // another plan's page by now
          if (s.points.length) setPoints((p) => [...p, ...s.points.filter((x) => x.id > (p.length ? p[p.length - 1].id : 0))]);
          next.current = s.next;
          more = s.more;
        }
      } while (again.current);
      setSeriesError(undefined);
    } catch (err) {
      setSeriesError(err instanceof ApiError ? err : new ApiError(0, 'Error', String(err)));
    } finally {
      busy.current = false;
    }
  }, [base]);
  useEffect(() => {
    // Another plan: start over (a fetch still in flight for the previous one is dropped above).
    next.current = 0;
    busy.current = false;
    again.current = false;
    setPoints([]);
  }, [base]);
  useEffect(() => {
    if (plan) void fetchSeries();
  }, [plan?.version, fetchSeries]);

  // Decisions that changed the plan (history; the rollback's evidence).
  const acted = useApi<{ decisions: Decision[] }>(plan ? `${base}/decisions?acted=true&limit=100` : null);
  const reloadActed = acted.reload;
  const lastStep = useRef<number | null>(null);
  useEffect(() => {
    if (!plan) return;
    if (lastStep.current !== null && lastStep.current !== plan.step) void reloadActed();
    lastStep.current = plan.step;
  }, [plan?.step, reloadActed]);

  if (initial.error && !plan) {
    return (
      <div className="page">
        <p className="breadcrumbs">
          <Link to="/releases">Releases</Link>
        </p>
        <ProblemMessage error={initial.error} />
      </div>
    );
  }
  if (!plan) return <Loading />;

  return (
    <div className="page release-page">
      <p className="breadcrumbs">
        <Link to="/releases">Releases</Link> / <Link to={`/flags/${encodeURIComponent(plan.flag)}`}>{plan.flag}</Link>
      </p>
      <div className="page-header">
        <div>
          <h1>
            <span className="mono">{plan.flag}</span> <span className="muted h1-sub">in {plan.environment}</span>
          </h1>
          <div className="meta">
            <Badge tone={STATE_TONE[plan.state]}>{stateLabel(plan.state)}</Badge>
            <span className="muted small">
              {plan.template ? (
                <>
                  template <strong>{plan.template}</strong> ·{' '}
                </>
              ) : null}
              project {plan.project} · on a regression: {rollbackWords(plan.rollback)} · cohorts {plan.cohorts.canary} vs {plan.cohorts.control}
              {plan.startedAt ? (
                <>
                  {' '}
                  · started <Time iso={plan.startedAt} />
                </>
              ) : (
                <>
                  {' '}
                  · created <Time iso={plan.createdAt} /> by {plan.createdBy}
                </>
              )}
            </span>
          </div>
        </div>
        <div className="header-actions">
          <LiveBadge status={status} />
          <PlanActions plan={plan} onPlan={accept} />
        </div>
      </div>

      <Outcome plan={plan} decisions={acted.data?.decisions ?? []} points={points} />

      <section aria-labelledby="milestones-h" className="panel">
        <h2 id="milestones-h">Milestones</h2>
        <Timeline plan={plan} points={points} />
      </section>

      <TrafficPanel plan={plan} />

      <section aria-labelledby="health-h">
        <h2 id="health-h">Cohort health</h2>
        <ProblemMessage error={seriesError} />
        <HealthCharts plan={plan} points={points} />
      </section>

      <section aria-labelledby="history-h">
        <h2 id="history-h">History</h2>
        <History plan={plan} decisions={acted.data?.decisions ?? []} />
      </section>
    </div>
  );
}

// ---------------------------------------------------------------- actions

function PlanActions({ plan, onPlan }: { plan: Plan; onPlan: (p: Plan) => void }) {
  const [flash, say] = useFlash();
  const [rollingBack, setRollingBack] = useState(false);
  const act = useAction(async (action: 'start' | 'pause' | 'resume' | 'advance', words: string) => {
    onPlan(await planAction(plan, action));
    say(words);
  });
  const remove = useAction(async () => {
    await api.del(`/api/admin/releases/${seg(plan.id)}`);
    navigate('/releases');
  });
  const next = plan.milestones[plan.milestone + 1];
  const canMove = plan.state === 'running' || plan.state === 'paused';
  return (
    <div className="plan-actions">
      <div className="plan-buttons">
        {plan.state === 'draft' ? (
          <>
            <button type="button" disabled={act.pending} onClick={() => void act.run('start', 'Started.')}>
              Start
            </button>
            <ConfirmButton className="button-secondary" confirmLabel="Delete draft" onConfirm={() => void remove.run()}>
              Delete…
            </ConfirmButton>
          </>
        ) : null}
        {plan.state === 'running' ? (
          <button type="button" className="button-secondary" disabled={act.pending} onClick={() => void act.run('pause', 'Paused: the guardian stops acting; the flag stays as it is.')}>
            Pause
          </button>
        ) : null}
        {plan.state === 'paused' ? (
          <button type="button" disabled={act.pending} onClick={() => void act.run('resume', 'Resumed: the milestone’s gate and bake time start over.')}>
            Resume
          </button>
        ) : null}
        {canMove && next ? (
          <ConfirmButton className="button-secondary" confirmLabel={`Advance to ${next.name}`} onConfirm={() => void act.run('advance', `Advanced to ${next.name}.`)} disabled={act.pending}>
            Advance…
          </ConfirmButton>
        ) : null}
        {canMove ? (
          <button type="button" className="button-danger" onClick={() => setRollingBack(true)}>
            Roll back…
          </button>
        ) : null}
      </div>
      {flash}
      <ProblemMessage error={act.error ?? remove.error} onDismiss={() => (act.setError(undefined), remove.setError(undefined))} />
      <Dialog title="Roll back this release?" open={rollingBack} onClose={() => setRollingBack(false)}>
        {rollingBack ? <RollbackForm plan={plan} onDone={(p) => (setRollingBack(false), onPlan(p))} onCancel={() => setRollingBack(false)} /> : null}
      </Dialog>
    </div>
  );
}

function RollbackForm({ plan, onDone, onCancel }: { plan: Plan; onDone: (p: Plan) => void; onCancel: () => void }) {
  const [reason, setReason] = useState('');
  const rollback = useAction(async () => onDone(await planAction(plan, 'rollback', reason.trim() || undefined)));
  const target =
    plan.rollback === 'off'
      ? `turns ${plan.flag} off in ${plan.environment}`
      : plan.milestone > 0
        ? `puts ${plan.flag} back at “${plan.milestones[plan.milestone - 1].name}” in ${plan.environment}`
        : `restores ${plan.flag} in ${plan.environment} as it was before the plan`;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void rollback.run();
      }}
    >
      <p>
        This <strong>{target}</strong> at once; connected SDKs get the change in milliseconds. The plan ends and cannot be resumed — start a new plan to try again.
      </p>
      <Field label="Reason" help="Kept with the plan and in the audit log, e.g. “checkout errors on the dashboard”.">
        {(p) => <textarea {...p} rows={2} maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)} autoFocus />}
      </Field>
      <ProblemMessage error={rollback.error} />
      <div className="actions">
        <button type="submit" className="button-danger" disabled={rollback.pending}>
          {rollback.pending ? 'Rolling back…' : 'Roll back now'}
        </button>
        <button type="button" className="button-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// ---------------------------------------------------------------- outcome (rolled back / completed / paused)

function Outcome({ plan, decisions, points }: { plan: Plan; decisions: Decision[]; points: SeriesPoint[] }) {
  if (plan.state === 'rolled-back') {
    const d = decisions.find((x) => x.action === 'rollback');
    const g = d?.evidence.guardian ?? null;
    const lastCheck = [...points].reverse().find((p) => p.e !== null);
    return (
      <section className="outcome outcome-danger" aria-labelledby="outcome-h">
        <h2 id="outcome-h">Rolled back{d ? ` by ${sourceWords[d.source]}` : ''}</h2>
        <p className="outcome-reason" data-testid="rollback-reason">
          {plan.reason}
        </p>
        <p className="muted small">
          {plan.endedAt ? (
            <>
              <Time iso={plan.endedAt} /> ({new Date(plan.endedAt).toLocaleTimeString()})
            </>
          ) : null}
          {plan.milestoneStartedAt && plan.endedAt ? `, ${fmtDuration(Date.parse(plan.endedAt) - Date.parse(plan.milestoneStartedAt))} into “${plan.milestoneName}”` : ''}
          {d && d.source !== 'guardian' ? ` · decided by ${d.actor}` : ''}
        </p>
        {g ? (
          <EvidenceTable evidence={g} plan={plan} />
        ) : lastCheck || plan.traffic ? (
          <ManualNumbers plan={plan} point={lastCheck} />
        ) : null}
      </section>
    );
  }
  if (plan.state === 'completed') {
    return (
      <section className="outcome outcome-ok" aria-labelledby="outcome-h">
        <h2 id="outcome-h">Completed</h2>
        <p className="outcome-reason">{plan.reason}</p>
      </section>
    );
  }
  if (plan.state === 'paused') {
    return (
      <section className="outcome outcome-warn" aria-labelledby="outcome-h">
        <h2 id="outcome-h">Paused</h2>
        <p className="outcome-reason">{plan.reason}</p>
        <p className="muted small">The flag stays as it is and the guardian does not act until someone resumes, advances or rolls back the plan.</p>
      </section>
    );
  }
  return null;
}

const metricName = (id: string) => (id === 'errors' ? 'Errors' : id.startsWith('latency>') ? `Slower than ${id.slice(8)}` : id);

/** The numbers behind a guardian rollback: per metric, the canary's and the control's counts over the rollout, and the e-values. */
function EvidenceTable({ evidence: g, plan }: { evidence: NonNullable<Decision['evidence']['guardian']>; plan: Plan }) {
  const rate = (t: { requests: number; events: number }) => (t.requests ? t.events / t.requests : null);
  return (
    <div className="table-wrap">
      <table className="table evidence-table">
        <caption>
          The evidence: combined e = <strong>{fmtE(g.e, g.log10E)}</strong> {g.log10E >= Math.log10(g.threshold) ? '≥' : '<'} {fmtE(g.threshold)} = 1/α (α = {fmtAlpha(g.alpha)})
        </caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col" className="num">
              Canary ({plan.cohorts.canary})
            </th>
            <th scope="col" className="num">
              Control ({plan.cohorts.control})
            </th>
            <th scope="col" className="num">
              e-value
            </th>
            <th scope="col" className="num">
              Weight
            </th>
          </tr>
        </thead>
        <tbody>
          {g.metrics.map((m) => (
            <tr key={m.id}>
              <th scope="row">
                {metricName(m.id)}
                {m.thresholdMs !== null ? <div className="muted small">threshold {m.thresholdMs} ms ({m.thresholdSource})</div> : null}
              </th>
              {m.kind === 'latency' && m.thresholdMs === null ? (
                <td className="muted warming" colSpan={2}>
                  warming up: the threshold comes from the control’s latency once it has enough requests
                </td>
              ) : (
                <>
                  <td className="num">
                    {fmtCount(m.total.canary.events)} / {fmtCount(m.total.canary.requests)} = <strong>{fmtPct(rate(m.total.canary))}</strong>
                  </td>
                  <td className="num">
                    {fmtCount(m.total.control.events)} / {fmtCount(m.total.control.requests)} = <strong>{fmtPct(rate(m.total.control))}</strong>
                  </td>
                </>
              )}
              <td className="num">{fmtE(m.e, m.log10E)}</td>
              <td className="num">{Math.round(m.weight * 100)} %</td>
            </tr>
          ))}
          {g.slo
            .filter((s) => s.tripped)
            .map((s, i) => (
              <tr key={`slo${i}`}>
                <th scope="row">SLO guard ({s.kind})</th>
                <td className="num" colSpan={4}>
                  {fmtPct(s.value)} &gt; {fmtPct(s.limit)} over the last {fmtDuration(s.windowMs)} ({fmtCount(s.requests)} requests)
                </td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}

/** A person's or an alert's rollback: the numbers the guardian had seen by then. */
function ManualNumbers({ plan, point }: { plan: Plan; point: SeriesPoint | undefined }) {
  const t = plan.traffic;
  return (
    <p className="small">
      At the time{t ? `, this milestone: canary error rate ${fmtPct(t.canary.errorRate)} vs control ${fmtPct(t.control.errorRate)} over ${fmtCount(t.canary.requests)} vs ${fmtCount(t.control.requests)} requests` : ''}
      {point && point.e !== null && point.threshold !== null ? `; the guardian’s evidence e = ${fmtE(point.e, point.log10E)} (rolls back at ${fmtE(point.threshold)})` : ''}.
    </p>
  );
}

// ---------------------------------------------------------------- milestone timeline

function Timeline({ plan, points }: { plan: Plan; points: SeriesPoint[] }) {
  const running = plan.state === 'running';
  const now = useNow(1000, running);
  const began = useMemo(() => {
    const m = new Map<number, string>();
    for (const p of points) if (p.action === 'start' || p.action === 'advance' || p.action === 'complete' || p.action === 'resume') m.set(p.milestone, p.at);
    return m;
  }, [points]);
  const n = plan.milestones.length;
  return (
    <ol className="timeline">
      {plan.milestones.map((m, i) => {
        let status: 'done' | 'current' | 'upcoming' | 'failed';
        if (plan.state === 'completed') status = 'done';
        else if (plan.state === 'draft' || i > plan.milestone) status = 'upcoming';
        else if (i < plan.milestone) status = 'done';
        else status = plan.state === 'rolled-back' ? 'failed' : 'current';
        const last = i === n - 1;
        const words = { done: 'done', current: plan.state === 'paused' ? 'current, paused' : 'current', upcoming: 'upcoming', failed: 'rolled back here' }[status];
        return (
          <li key={i} className={`tl tl-${status}`} aria-current={status === 'current' ? 'step' : undefined}>
            <span className="tl-dot" aria-hidden="true">
              {status === 'done' ? '✓' : status === 'failed' ? '✕' : i + 1}
            </span>
            <div className="tl-body">
              <div className="tl-name">
                {m.name} <span className="visually-hidden">({words})</span>
              </div>
              {m.strategies.map((s) => describeStrategy(s)).join(' + ') !== m.name ? <div className="muted small">{m.strategies.map((s) => describeStrategy(s)).join(' + ')}</div> : null}
              <div className="muted small">
                {last ? 'destination: applying it completes the plan' : `bake ${fmtDuration(m.bakeMs)}${m.autoAdvance ? '' : ' · waits for a person'}`}
              </div>
              {began.get(i) && status !== 'upcoming' ? (
                <div className="muted small">began {new Date(began.get(i)!).toLocaleTimeString()}</div>
              ) : null}
              {status === 'current' && !last ? <BakeProgress plan={plan} now={now} /> : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

function BakeProgress({ plan, now }: { plan: Plan; now: number }) {
  const m = plan.milestones[plan.milestone];
  if (!m || !plan.milestoneStartedAt) return null;
  const elapsed = plan.state === 'running' ? now - Date.parse(plan.milestoneStartedAt) : (plan.lastDecision?.traffic?.elapsedMs ?? 0);
  const frac = m.bakeMs > 0 ? Math.min(1, Math.max(0, elapsed / m.bakeMs)) : 1;
  const t = plan.lastDecision?.traffic;
  const min = minTraffic(m.gate);
  const canary = plan.traffic?.canary.requests ?? 0;
  const control = plan.traffic?.control.requests ?? 0;
  return (
    <div className="bake">
      <div
        className="bake-bar"
        role="progressbar"
        aria-label={`Bake time of ${m.name}`}
        aria-valuemin={0}
        aria-valuemax={Math.round(m.bakeMs / 1000)}
        aria-valuenow={Math.round(Math.min(elapsed, m.bakeMs) / 1000)}
        aria-valuetext={`${fmtClock(Math.min(elapsed, m.bakeMs))} of ${fmtClock(m.bakeMs)}`}
      >
        <span style={{ width: `${frac * 100}%` }} />
      </div>
      <div className="small">
        baked {fmtClock(Math.min(elapsed, m.bakeMs))} / {fmtClock(m.bakeMs)}
        {plan.state === 'paused' ? ' · paused' : frac >= 1 ? ' · bake time over' : ''}
      </div>
      <div className="small muted">
        gate: canary {fmtCount(canary)}/{fmtCount(t?.minCanaryRequests ?? min.canary)} · control {fmtCount(control)}/{fmtCount(t?.minControlRequests ?? min.control)} requests
      </div>
    </div>
  );
}

// ---------------------------------------------------------------- traffic per cohort

function TrafficPanel({ plan }: { plan: Plan }) {
  const t = plan.traffic;
  const m = plan.milestones[plan.milestone];
  const total = t ? t.canary.requests + t.control.requests : 0;
  const share = t ? canaryShare(t) : null;
  const d = plan.lastDecision;
  return (
    <section aria-labelledby="traffic-h" className="panel">
      <div className="panel-header">
        <h2 id="traffic-h">
          Traffic per cohort{' '}
          {plan.milestoneName && plan.state !== 'completed' ? (
            <span className="muted h2-sub">
              {plan.state === 'rolled-back' ? 'when it was rolled back, in' : 'in'} “{plan.milestoneName}”
            </span>
          ) : null}
        </h2>
        {t && plan.state !== 'completed' ? <span className="muted small">{fmtCount(t.batches)} SDK report rows</span> : null}
      </div>
      {plan.state === 'completed' ? (
        <p className="muted">Complete: everyone gets the new behaviour, so there is no control cohort left to compare with. The charts below show each milestone’s traffic.</p>
      ) : !t || plan.state === 'draft' ? (
        <p className="muted">No traffic yet: SDKs report each cohort’s requests, errors and latency once the plan runs.</p>
      ) : (
        <>
          <div className="share-bar" role="img" aria-label={`Canary ${fmtPct(share)} of ${fmtCount(total)} requests${m?.canaryShare != null ? `, expected ${fmtPct(m.canaryShare)}` : ''}`}>
            <span className="share-canary" style={{ width: `${(share ?? 0) * 100}%` }} />
            {m?.canaryShare != null ? <span className="share-expected" style={{ left: `${m.canaryShare * 100}%` }} title={`expected ${fmtPct(m.canaryShare)}`} /> : null}
          </div>
          <div className="cohorts">
            <CohortCard label="Canary" color={CANARY} stats={t.canary} share={share} />
            <CohortCard label="Control (baseline)" color={CONTROL} stats={t.control} share={share === null ? null : 1 - share} />
          </div>
          {m?.canaryShare != null ? (
            <p className="muted small">
              Expected canary share {fmtPct(m.canaryShare)}
              {d?.srm ? ` · sample-ratio check: observed ${fmtPct(d.srm.observedShare)}, SRM e = ${fmtE(d.srm.e, d.srm.log10E)} (pauses at ${fmtE(d.srm.threshold)})` : ''}
            </p>
          ) : null}
          {d && plan.state === 'running' ? (
            <p className="small last-check">
              <strong>Last check</strong> <Time iso={d.at} />: {d.summary}
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

function CohortCard({ label, color, stats, share }: { label: string; color: string; stats: CohortStats; share: number | null }) {
  return (
    <div className="cohort" style={{ borderTopColor: color }}>
      <div className="cohort-name">
        <span className="swatch" style={{ background: color }} aria-hidden="true" /> {label} <code>{stats.cohort}</code>
      </div>
      <dl className="cohort-stats">
        <div>
          <dt>Requests</dt>
          <dd>
            {fmtCount(stats.requests)} <span className="muted">({fmtPct(share)})</span>
          </dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd>
            {fmtCount(stats.errors)} <span className="muted">({fmtPct(stats.errorRate)})</span>
          </dd>
        </div>
        <div>
          <dt>Latency p50 / p95 / p99</dt>
          <dd>{stats.latency ? `≤ ${stats.latency.p50 ?? '–'} / ${stats.latency.p95 ?? '–'} / ${stats.latency.p99 ?? '–'} ms` : '–'}</dd>
        </div>
      </dl>
    </div>
  );
}

// ---------------------------------------------------------------- charts

type Window = 'check' | 'cumulative';
type Quantile = 'p50' | 'p95' | 'p99';

/** Counts of a guardian transition belong to the milestone (and step) that just ended. */
const countsStep = (p: SeriesPoint) => (p.source === 'guardian' && p.action !== 'none' && p.action !== 'wait' ? p.step - 1 : p.step);

const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const pctTick = (v: number) => `${Number((v * 100).toPrecision(3))} %`;
const pow10 = (v: number) => {
  const k = Math.round(v);
  if (k >= 0 && k <= 3) return (10 ** k).toLocaleString('en-US');
  if (k < 0 && k >= -2) return String(10 ** k);
  return `10${String(k).replace(/-/g, '⁻').replace(/\d/g, (d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[Number(d)])}`;
};

function HealthCharts({ plan, points }: { plan: Plan; points: SeriesPoint[] }) {
  const [win, setWin] = useState<Window>('cumulative');
  const [q, setQ] = useState<Quantile>('p95');
  const live = plan.state === 'running' || plan.state === 'paused';
  const now = useNow(5000, live);
  const first = points.length ? Date.parse(points[0].at) : Date.now();
  const start = plan.startedAt ? Math.min(Date.parse(plan.startedAt), first) : first;
  const lastAt = points.length ? Date.parse(points[points.length - 1].at) : start;
  const end = live ? Math.max(now, lastAt) : plan.endedAt ? Math.max(Date.parse(plan.endedAt), lastAt) : lastAt;
  const xDomain: [number, number] = [start, Math.max(end, start + 10_000)];

  const markers = useMemo(
    () =>
      points
        .filter((p) => p.action !== 'none' && p.action !== 'wait')
        .map((p): ChartMarker => {
          const name = plan.milestones[p.milestone]?.name ?? '';
          const x = Date.parse(p.at);
          if (p.action === 'rollback') return { x, label: 'rolled back', tone: 'danger' };
          if (p.action === 'pause') return { x, label: 'paused', tone: 'warn' };
          if (p.action === 'resume') return { x, label: `resumed`, tone: 'neutral' };
          if (p.action === 'complete') return { x, label: `${name} ✓`, tone: 'ok' };
          return { x, label: name, tone: 'neutral' };
        }),
    [points, plan.milestones],
  );

  const withCounts = points.filter((p) => (win === 'check' ? p.check : p.cumulative));
  const cohorts = (p: SeriesPoint): SeriesCohorts => (win === 'check' ? p.check! : p.cumulative!);
  const line = (pick: (c: SeriesCohorts) => number | null): ChartPoint[] => withCounts.map((p) => ({ x: Date.parse(p.at), y: pick(cohorts(p)), segment: win === 'cumulative' ? countsStep(p) : 0 }));
  const winLabel = win === 'check' ? 'each check' : 'the milestone so far';

  const errorSeries: ChartSeries[] = [
    { key: 'canary', label: `Canary (${plan.cohorts.canary})`, color: CANARY, points: line((c) => c.canary.errorRate) },
    { key: 'control', label: `Control (${plan.cohorts.control})`, color: CONTROL, points: line((c) => c.control.errorRate) },
  ];
  const latencySeries: ChartSeries[] = [
    { key: 'canary', label: `Canary ${q}`, color: CANARY, points: line((c) => c.canary.latency?.[q] ?? null) },
    { key: 'control', label: `Control ${q}`, color: CONTROL, points: line((c) => c.control.latency?.[q] ?? null) },
  ];
  const lastMetrics = [...points].reverse().find((p) => p.metrics.length)?.metrics ?? [];
  const latencyRules: ChartRule[] = lastMetrics
    .filter((m) => m.thresholdMs !== null && (m.id === `latency>${q}` || /^latency>\d/.test(m.id)))
    .map((m) => ({ y: m.thresholdMs!, label: `guardian threshold ${m.thresholdMs} ms (${m.id.slice(8)})`, color: '#8a5a00' }));

  const shareSeries: ChartSeries[] = [
    {
      key: 'share',
      label: 'Canary share of requests',
      color: CANARY,
      points: line(canaryShare),
    },
    {
      key: 'expected',
      label: 'Expected (the milestone’s percentage)',
      color: '#6b7a8f',
      dash: '5 3',
      step: true,
      // The milestone's percentage from each transition on (a step: it holds until the next one).
      points: points
        .filter((p) => p.action !== 'complete')
        .map((p) => ({ x: Date.parse(p.at), y: plan.milestones[p.milestone]?.canaryShare ?? null }))
        .concat(points.length && live ? [{ x: xDomain[1], y: plan.milestones[plan.milestone]?.canaryShare ?? null }] : []),
    },
  ];
  const reqSeries = [
    { key: 'canaryReq', label: 'Canary requests', color: CANARY, points: line((c) => c.canary.requests) },
    { key: 'controlReq', label: 'Control requests', color: CONTROL, points: line((c) => c.control.requests) },
  ];

  // Evidence: log10 of the combined e-value, with the per-metric e-values and the threshold 1/α.
  const evPoints = points.filter((p) => p.log10E !== null);
  const threshold = evPoints.length ? evPoints[evPoints.length - 1].threshold! : 1 / (plan.milestones[0]?.gate.alpha ?? 0.01);
  const metricIds = [...new Set(evPoints.flatMap((p) => p.metrics.map((m) => m.id)))];
  const evSeries: ChartSeries[] = [
    { key: 'e', label: 'Combined e (the guardian’s evidence)', color: '#111827', width: 2.5, points: evPoints.map((p) => ({ x: Date.parse(p.at), y: p.log10E })) },
    ...metricIds.map((id, i) => ({
      key: id,
      label: `e ${metricName(id).toLowerCase()}`,
      color: METRIC_COLORS[i % METRIC_COLORS.length],
      width: 1.25,
      dash: '2 2',
      points: evPoints.map((p) => ({ x: Date.parse(p.at), y: p.metrics.find((m) => m.id === id)?.log10E ?? null })),
    })),
  ];
  const allLog = evSeries.flatMap((s) => s.points.map((p) => p.y)).filter((v): v is number => v !== null && Number.isFinite(v));
  const thrLog = Math.log10(threshold);
  const lo = Math.max(-6, Math.min(-1, Math.floor(Math.min(0, ...allLog))));
  const hi = Math.max(Math.ceil(thrLog) + 1, Math.ceil(Math.max(0, ...allLog)));
  const stepK = Math.max(1, Math.ceil((hi - lo) / 6));
  const evTicks: number[] = [];
  for (let k = Math.ceil(lo / stepK) * stepK; k <= hi; k += stepK) evTicks.push(k);

  const windowToggle = (
    <Toggle
      label="Counts over"
      value={win}
      onChange={setWin}
      options={[
        { key: 'cumulative', label: 'Milestone so far' },
        { key: 'check', label: 'Each check' },
      ]}
    />
  );
  const noData: ReactNode = plan.state === 'draft' ? 'Starts when the plan starts.' : 'Waiting for the first SDK reports…';

  return (
    <>
      <div className="chart-controls">
        <span className="muted small">Counts over</span> {windowToggle}
        <span className="muted small">Times are this browser’s clock; one point per guardian check with new reports.</span>
      </div>
      <div className="charts">
        <LineChart
          title="Error rate"
          description={`Share of requests that failed, canary vs control, over ${winLabel}; dashed lines mark milestone changes.`}
          xLabel="time"
          yLabel="error rate"
          series={errorSeries}
          markers={markers}
          xDomain={xDomain}
          yFormat={pctTick}
          tableFormat={(v) => fmtPct(v)}
          xFormat={clock}
          empty={noData}
        />
        <LineChart
          title="Latency"
          description={`The ${q} latency of each cohort over ${winLabel} (upper bound of its histogram bucket), with the guardian’s thresholds.`}
          xLabel="time"
          yLabel={`${q} latency (ms)`}
          series={latencySeries}
          rules={latencyRules}
          markers={markers}
          xDomain={xDomain}
          yFormat={(v) => `${Number(v.toPrecision(3))}`}
          tableFormat={(v) => `≤ ${v} ms`}
          xFormat={clock}
          empty={noData}
          controls={
            <Toggle
              label="Quantile"
              value={q}
              onChange={setQ}
              options={[
                { key: 'p50', label: 'p50' },
                { key: 'p95', label: 'p95' },
                { key: 'p99', label: 'p99' },
              ]}
            />
          }
        />
        <LineChart
          wide
          title="Evidence against the canary"
          description={`The guardian’s combined e-value on a log scale; it rolls back when it reaches the threshold 1/α = ${fmtE(threshold)}. Values near or below 1 mean no evidence of a regression.`}
          xLabel="time"
          yLabel="e-value (log scale)"
          series={evSeries}
          rules={[{ y: thrLog, label: `roll back at 1/α = ${fmtE(threshold)}`, color: THRESHOLD }]}
          markers={markers}
          xDomain={xDomain}
          yDomain={[lo, hi]}
          yTicks={evTicks}
          yFormat={pow10}
          tableFormat={(v) => fmtE(10 ** v, v)}
          xFormat={clock}
          empty={noData}
        />
        <LineChart
          title="Traffic"
          description={`Requests per cohort over ${winLabel}.`}
          xLabel="time"
          yLabel="requests"
          series={reqSeries}
          markers={markers}
          xDomain={xDomain}
          yFormat={(v) => fmtCount(v)}
          xFormat={clock}
          empty={noData}
        />
        <LineChart
          title="Canary share"
          description={`The canary’s share of requests over ${winLabel} against the milestone’s percentage (a big gap is a sample-ratio mismatch).`}
          xLabel="time"
          yLabel="share of requests"
          series={shareSeries}
          markers={markers}
          xDomain={xDomain}
          yMin={0}
          yFormat={pctTick}
          tableFormat={(v) => fmtPct(v)}
          xFormat={clock}
          empty={noData}
        />
      </div>
    </>
  );
}

// ---------------------------------------------------------------- history

function History({ plan, decisions }: { plan: Plan; decisions: Decision[] }) {
  if (!decisions.length) return <p className="muted">{plan.state === 'draft' ? 'Nothing yet: the plan is a draft.' : 'Loading…'}</p>;
  const tone = (a: string) => (a === 'rollback' ? 'danger' : a === 'pause' ? 'warn' : a === 'complete' ? 'on' : 'info');
  return (
    <ol className="history">
      {decisions.map((d) => (
        <li key={d.id}>
          <span className="history-time">
            <Time iso={d.createdAt} />
          </span>
          <Badge tone={tone(d.action)}>{d.action}</Badge>
          <span className="muted small">{d.source === 'manual' ? d.actor : sourceWords[d.source]}</span>
          <span className="history-summary">{d.summary}</span>
        </li>
      ))}
    </ol>
  );
}
