import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, type Environment, type PlaygroundResult, type Project, type Reason } from '../api';
import { newKey } from '../components/ConstraintsEditor';
import { SelectField, projectChoices } from '../components/SelectField';
import { Badge, Empty, Field, ProblemMessage, useTitle } from '../components/ui';
import { useAction, useApi } from '../hooks';
import { Link } from '../router';
import { isIpOrCidr, isValidDate } from '../validation';

export const REASONS: Record<Reason, string> = {
  STATIC: 'On: a strategy with no targeting matched.',
  TARGETING_MATCH: 'On: the constraints or segments of a strategy matched this context.',
  SPLIT: 'On: this context falls inside the rollout percentage or variant split.',
  DISABLED: 'Off: the flag is switched off in this environment.',
  DEFAULT: 'Off: the flag is on in this environment, but no strategy matched this context (or a parent flag is not in the required state).',
  ERROR: 'The flag could not be evaluated.',
};

/** A few words for a table cell; REASONS has the sentence. */
export const REASON_WORDS: Record<Reason, string> = {
  STATIC: 'no targeting',
  TARGETING_MATCH: 'targeting matched',
  SPLIT: 'in the rollout / split',
  DISABLED: 'switched off',
  DEFAULT: 'no strategy matched',
  ERROR: 'error',
};

interface Prop {
  key: string;
  name: string;
  value: string;
}

const STORE = 'switchyard.playground.context';

function saved(): { userId: string; sessionId: string; remoteAddress: string; appName: string; environment: string; props: Prop[] } {
  try {
    const v = JSON.parse(sessionStorage.getItem(STORE) ?? '');
    if (v && typeof v === 'object') return { userId: '', sessionId: '', remoteAddress: '', appName: '', environment: '', props: [], ...v };
  } catch {
    /* nothing saved */
  }
  return { userId: 'user-1', sessionId: '', remoteAddress: '', appName: '', environment: '', props: [] };
}

export function PlaygroundPage() {
  useTitle('Playground');
  const envs = useApi<{ environments: Environment[] }>('/api/admin/environments');
  const projects = useApi<{ projects: Project[] }>('/api/admin/projects');
  const [ctx, setCtx] = useState(saved);
  const [time, setTime] = useState('');
  const [pickedEnvs, setPickedEnvs] = useState<string[] | null>(null);
  const [project, setProject] = useState('');
  const [filter, setFilter] = useState('');
  const [result, setResult] = useState<PlaygroundResult | null>(null);
  const allEnvs = envs.data?.environments.map((e) => e.name) ?? [];
  const chosen = pickedEnvs ?? allEnvs;

  const ipError = ctx.remoteAddress && !isIpOrCidr(ctx.remoteAddress.trim()) ? 'Not an IP address (e.g. 10.1.2.3).' : null;
  const timeIso = time && !Number.isNaN(Date.parse(time)) ? new Date(time).toISOString() : '';
  const timeError = time && (!timeIso || !isValidDate(timeIso)) ? 'Not a date and time.' : null;
  const propErrors = ctx.props.map((p) => (p.name.trim() === '' && p.value !== '' ? 'Name the property.' : ctx.props.filter((q) => q.name.trim() && q.name.trim() === p.name.trim()).length > 1 ? 'Used twice.' : null));

  const run = useAction(async () => {
    sessionStorage.setItem(STORE, JSON.stringify(ctx));
    const properties = Object.fromEntries(ctx.props.filter((p) => p.name.trim()).map((p) => [p.name.trim(), p.value]));
    const context = {
      ...(ctx.userId ? { userId: ctx.userId } : {}),
      ...(ctx.sessionId ? { sessionId: ctx.sessionId } : {}),
      ...(ctx.remoteAddress ? { remoteAddress: ctx.remoteAddress.trim() } : {}),
      ...(ctx.appName ? { appName: ctx.appName } : {}),
      ...(ctx.environment ? { environment: ctx.environment } : {}),
      ...(timeIso ? { currentTime: timeIso } : {}),
      ...(Object.keys(properties).length ? { properties } : {}),
    };
    setResult(
      await api.post<PlaygroundResult>('/api/admin/playground', {
        context,
        ...(pickedEnvs ? { environments: chosen } : {}),
        ...(project ? { projects: [project] } : {}),
      }),
    );
  });

  // Show answers for the remembered (or sample) context straight away.
  useEffect(() => {
    void run.run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (ipError || timeError || propErrors.some(Boolean) || chosen.length === 0) return;
    void run.run();
  };

  const rows = useMemo(() => {
    if (!result) return [];
    const names = [...new Set(result.environments.flatMap((e) => e.flags.map((f) => f.name)))].sort();
    const needle = filter.trim().toLowerCase();
    return names.filter((n) => !needle || n.toLowerCase().includes(needle));
  }, [result, filter]);

  const setProp = (key: string, patch: Partial<Prop>) => setCtx({ ...ctx, props: ctx.props.map((p) => (p.key === key ? { ...p, ...patch } : p)) });

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Playground</h1>
          <p className="muted">Pick a context and see what every flag answers in every environment — evaluated by the same engine, over the same data, as an SDK.</p>
        </div>
      </div>
      <div className="playground">
      <form className="playground-form panel" onSubmit={submit} noValidate aria-label="Context">
        <div className="grid-2">
          <Field label="userId">{(p) => <input {...p} value={ctx.userId} onChange={(e) => setCtx({ ...ctx, userId: e.target.value })} />}</Field>
          <Field label="sessionId">{(p) => <input {...p} value={ctx.sessionId} onChange={(e) => setCtx({ ...ctx, sessionId: e.target.value })} />}</Field>
          <Field label="remoteAddress" error={ipError}>
            {(p) => <input {...p} value={ctx.remoteAddress} placeholder="10.1.2.3" onChange={(e) => setCtx({ ...ctx, remoteAddress: e.target.value })} />}
          </Field>
          <Field label="appName">{(p) => <input {...p} value={ctx.appName} onChange={(e) => setCtx({ ...ctx, appName: e.target.value })} />}</Field>
        </div>
        <Field label="environment (context field)" help="Sent as is; not filled in for you.">
          {(p) => <input {...p} value={ctx.environment} onChange={(e) => setCtx({ ...ctx, environment: e.target.value })} />}
        </Field>
        <Field label="currentTime" error={timeError} help="Empty: now.">
          {(p) => <input {...p} type="datetime-local" value={time} onChange={(e) => setTime(e.target.value)} />}
        </Field>
        <fieldset className="props">
          <legend>Properties</legend>
          {ctx.props.map((p, i) => (
            <div key={p.key} className="prop-row">
              <Field label={`Property ${i + 1} name`} error={propErrors[i]}>
                {(a) => <input {...a} value={p.name} placeholder="plan" onChange={(e) => setProp(p.key, { name: e.target.value })} />}
              </Field>
              <Field label="value">{(a) => <input {...a} value={p.value} placeholder="beta" onChange={(e) => setProp(p.key, { value: e.target.value })} />}</Field>
              <button type="button" className="button-secondary small" aria-label={`Remove property ${p.name || i + 1}`} onClick={() => setCtx({ ...ctx, props: ctx.props.filter((x) => x.key !== p.key) })}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" className="button-secondary small" onClick={() => setCtx({ ...ctx, props: [...ctx.props, { key: newKey(), name: '', value: '' }] })}>
            + Add property
          </button>
        </fieldset>
        <div>
          <fieldset className="checks">
            <legend>Environments</legend>
            {allEnvs.map((e) => (
              <label key={e} className="checkbox">
                <input type="checkbox" checked={chosen.includes(e)} onChange={(ev) => setPickedEnvs(ev.target.checked ? [...chosen, e] : chosen.filter((x) => x !== e))} /> {e}
              </label>
            ))}
            {chosen.length === 0 ? (
              <p className="field-error" role="alert">
                Pick at least one environment.
              </p>
            ) : null}
          </fieldset>
          <SelectField label="Project" value={project} onChange={setProject} anyLabel="All projects" choices={projectChoices(projects.data?.projects)} />
        </div>
        <div className="actions">
          <button type="submit" disabled={run.pending}>
            {run.pending ? 'Evaluating…' : 'Evaluate'}
          </button>
        </div>
      </form>
      <div className="playground-results">
      <ProblemMessage error={run.error ?? envs.error} />
      {!result ? (
        run.error ? null : <Empty>Pick a context and press Evaluate.</Empty>
      ) : (
        <section aria-label="Results">
          <div className="results-header">
            <h2>Results</h2>
            <Field label="Filter flags">{(p) => <input {...p} type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />}</Field>
          </div>
          {rows.length === 0 ? (
            <Empty>No flags.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="table playground-table">
                <thead>
                  <tr>
                    <th scope="col">Flag</th>
                    {result.environments.map((e) => (
                      <th scope="col" key={e.name}>
                        {e.name} <span className="rev">rev {e.revision}</span>
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((name) => (
                    <tr key={name}>
                      <th scope="row">
                        <Link to={`/flags/${encodeURIComponent(name)}`} className="mono">
                          {name}
                        </Link>
                      </th>
                      {result.environments.map((e) => {
                        const f = e.flags.find((x) => x.name === name);
                        if (!f) return <td key={e.name} className="muted">—</td>;
                        return (
                          <td key={e.name} data-flag={name} data-environment={e.name}>
                            <Badge tone={f.enabled ? 'on' : 'off'}>{f.enabled ? 'on' : 'off'}</Badge>
                            {f.variant.name !== 'disabled' ? (
                              <>
                                {' '}
                                <Badge tone="info" title={f.variant.payload ? `payload (${f.variant.payload.type}): ${f.variant.payload.value}` : undefined}>
                                  {f.variant.name}
                                </Badge>
                              </>
                            ) : null}
                            <div className="reason small" title={REASONS[f.reason]}>
                              <code>{f.reason}</code> {REASON_WORDS[f.reason]}
                              {f.strategy ? <span className="muted"> · strategy #{f.strategy.index + 1}{f.strategy.title ? ` “${f.strategy.title}”` : ''}</span> : null}
                            </div>
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <dl className="reasons">
            {(Object.keys(REASONS) as Reason[]).map((r) => (
              <div key={r}>
                <dt>
                  <code>{r}</code>
                </dt>
                <dd>{REASONS[r]}</dd>
              </div>
            ))}
          </dl>
        </section>
      )}
      </div>
      </div>
    </div>
  );
}
