import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import '../components/release.css';
import { query, type Environment, type Flag, type Project, type Segment } from '../api';
import { Badge, Dialog, Empty, Field, Loading, ProblemMessage, Time, useTitle } from '../components/ui';
import { useApi, useHotkey } from '../hooks';
import { Link, navigate, setQuery, useLocation } from '../router';
import { PLAN_STATES, STATE_TONE, fmtE, stateLabel, usePlanStream, type Plan, type Template } from '../components/releases';
import { SearchFilter } from '../components/SearchFilter';
import { SelectField, environmentChoices, projectChoices } from '../components/SelectField';
import { CreatePlanForm } from './ReleaseCreate';
import { LiveBadge } from './Release';

/** Release plans per project and environment, live: rows follow the plans stream. */
export function ReleasesPage() {
  useTitle('Releases');
  const { query: q } = useLocation();
  const project = q.get('project') ?? '';
  const environment = q.get('env') ?? '';
  const state = q.get('state') ?? 'all';
  const text = q.get('q') ?? '';
  const listPath = `/api/admin/releases${query({ project, environment, state: state === 'all' ? undefined : state, limit: 200 })}`;
  const list = useApi<{ plans: Plan[]; total: number }>(listPath);
  const projects = useApi<{ projects: Project[] }>('/api/admin/projects');
  const envs = useApi<{ environments: Environment[] }>('/api/admin/environments');
  const [creating, setCreating] = useState(false);
  useHotkey('n', (e) => {
    e.preventDefault();
    setCreating(true);
  });

  // Live: the stream sends every change of a plan in scope; rows update in place, a new plan reloads the list.
  const [live, setLive] = useState<Record<string, Plan>>({});
  useEffect(() => setLive({}), [listPath]);
  const reloadSoon = useRef<ReturnType<typeof setTimeout> | null>(null);
  const known = useRef(new Set<string>());
  known.current = new Set((list.data?.plans ?? []).map((p) => p.id));
  const reload = list.reload;
  const onPlan = useCallback(
    (p: Plan) => {
      if (known.current.has(p.id)) setLive((m) => (m[p.id] && m[p.id].version >= p.version ? m : { ...m, [p.id]: p }));
      else if (!reloadSoon.current) reloadSoon.current = setTimeout(() => ((reloadSoon.current = null), void reload()), 300);
    },
    [reload],
  );
  useEffect(() => () => void (reloadSoon.current && clearTimeout(reloadSoon.current)), []);
  const status = usePlanStream(`/api/admin/releases/stream${query({ project, environment })}`, onPlan);

  const plans = useMemo(() => {
    const needle = text.trim().toLowerCase();
    return (list.data?.plans ?? [])
      .map((p) => (live[p.id] && live[p.id].version > p.version ? live[p.id] : p))
      .filter((p) => (!needle || p.flag.toLowerCase().includes(needle)) && (state === 'all' || (state === 'active' ? ['draft', 'running', 'paused'].includes(p.state) : p.state === state)));
  }, [list.data, live, text, state]);
  const filtered = !!(project || environment || state !== 'all' || text);

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Releases</h1>
          <p className="muted">Release plans take a flag from off to everyone in milestones; the guardian advances them, or rolls them back when the new cohort is worse.</p>
        </div>
        <div className="header-actions header-actions-row">
          <LiveBadge status={status} />
          <button type="button" onClick={() => setCreating(true)} aria-keyshortcuts="n">
            New release plan
          </button>
        </div>
      </div>

      <form className="filters" role="search" aria-label="Filter release plans" onSubmit={(e) => e.preventDefault()}>
        <SelectField label="Project" value={project} onChange={(v) => setQuery({ project: v })} anyLabel="All projects" choices={projectChoices(projects.data?.projects)} />
        <SelectField label="Environment" value={environment} onChange={(v) => setQuery({ env: v })} anyLabel="All environments" choices={environmentChoices(envs.data?.environments)} />
        <Field label="State">
          {(p) => (
            <select {...p} value={state} onChange={(e) => setQuery({ state: e.target.value === 'all' ? '' : e.target.value })}>
              <option value="all">Any state</option>
              <option value="active">Active (draft, running, paused)</option>
              {PLAN_STATES.map((s) => (
                <option key={s} value={s}>
                  {stateLabel(s)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <SearchFilter label="Flag contains" value={text} />
      </form>

      <ProblemMessage error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data ? (
        plans.length === 0 ? (
          <Empty>
            {filtered ? (
              <>No release plan matches these filters.</>
            ) : (
              <>
                No release plans yet.{' '}
                <button type="button" className="link" onClick={() => setCreating(true)}>
                  Release a flag
                </button>{' '}
                from a template: canary percentages or rings.
              </>
            )}
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="table releases-table">
              <caption className="visually-hidden">Release plans</caption>
              <thead>
                <tr>
                  <th scope="col">Flag</th>
                  <th scope="col">Environment{!project ? ' · project' : ''}</th>
                  <th scope="col">State</th>
                  <th scope="col">Milestone</th>
                  <th scope="col">Evidence</th>
                  <th scope="col">Last decision</th>
                </tr>
              </thead>
              <tbody>
                {plans.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <Link to={`/releases/${encodeURIComponent(p.id)}`} className="mono strong nowrap" aria-label={`Release plan of ${p.flag} in ${p.environment}`}>
                        {p.flag}
                      </Link>
                      <div className="muted small nowrap">{p.template ? `template ${p.template}` : 'own milestones'}</div>
                    </td>
                    <td>
                      {p.environment}
                      {!project ? <div className="muted small">{p.project}</div> : null}
                    </td>
                    <td>
                      <Badge tone={STATE_TONE[p.state]}>{stateLabel(p.state)}</Badge>
                      <div className="muted small nowrap">
                        {p.startedAt ? (
                          <>
                            started <Time iso={p.startedAt} />
                          </>
                        ) : (
                          'not started'
                        )}
                      </div>
                    </td>
                    <td>
                      <MilestoneMini plan={p} />
                    </td>
                    <td className="nowrap">
                      {p.lastDecision?.e != null && p.lastDecision.threshold != null ? (
                        <span title="The guardian’s combined evidence against its rollback threshold 1/α">
                          e = {fmtE(p.lastDecision.e)} <span className="muted">/ {fmtE(p.lastDecision.threshold)}</span>
                        </span>
                      ) : (
                        <span className="muted">–</span>
                      )}
                    </td>
                    <td className="last-decision">
                      <LastDecision plan={p} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="muted small">
              {plans.length} of {list.data.total} plan{list.data.total === 1 ? '' : 's'}
            </p>
          </div>
        )
      ) : null}

      <Dialog title="New release plan" open={creating} onClose={() => setCreating(false)} wide>
        {creating ? <CreateDialogBody project={project} environment={environment} onClose={() => setCreating(false)} /> : null}
      </Dialog>
    </div>
  );
}

function CreateDialogBody({ project, environment, onClose }: { project: string; environment: string; onClose: () => void }) {
  const flags = useApi<{ flags: Flag[] }>(`/api/admin/flags${query({ project })}`);
  const envs = useApi<{ environments: Environment[] }>('/api/admin/environments');
  const templates = useApi<{ templates: Template[] }>('/api/admin/release-templates');
  const segments = useApi<{ segments: Segment[] }>('/api/admin/segments');
  const error = flags.error ?? envs.error ?? templates.error ?? segments.error;
  if (error) return <ProblemMessage error={error} />;
  if (!flags.data || !envs.data || !templates.data || !segments.data) return <Loading />;
  return (
    <CreatePlanForm
      flags={flags.data.flags}
      environments={envs.data.environments}
      templates={templates.data.templates}
      segments={segments.data.segments}
      initialEnvironment={environment}
      onCreated={(p) => {
        onClose();
        navigate(`/releases/${encodeURIComponent(p.id)}`);
      }}
      onCancel={onClose}
    />
  );
}

/** "2/5 · 5 %" with a segmented bar: done, current, upcoming. */
export function MilestoneMini({ plan }: { plan: Plan }) {
  const n = plan.milestones.length;
  const i = plan.milestone;
  const done = plan.state === 'completed' ? n : Math.max(0, i);
  return (
    <div className="milestone-mini">
      <span className="small nowrap">
        {i < 0 ? `0/${n}` : `${i + 1}/${n}`} {plan.milestoneName ? `· ${plan.milestoneName}` : plan.state === 'draft' ? '· not started' : ''}
      </span>
      <span className="mini-bar" aria-hidden="true">
        {plan.milestones.map((m, k) => (
          <span
            key={k}
            title={m.name}
            className={`mini-seg${k < done ? ' mini-done' : ''}${k === i && plan.state !== 'completed' ? (plan.state === 'rolled-back' ? ' mini-failed' : ' mini-current') : ''}`}
          />
        ))}
      </span>
    </div>
  );
}

/** The plan's reason once it stopped, else the guardian's latest words; clamped to three lines (the whole text on hover and for screen readers). */
function LastDecision({ plan }: { plan: Plan }) {
  const text = plan.state === 'rolled-back' || plan.state === 'completed' || plan.state === 'paused' ? plan.reason : (plan.lastDecision?.summary ?? null);
  if (!text) return <span className="muted">–</span>;
  return (
    <span className="small clamp" title={text}>
      {text}
    </span>
  );
}
