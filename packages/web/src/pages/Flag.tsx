import { useState, type FormEvent } from 'react';
import { api, FLAG_TYPES, seg, type AuditEvent, type Flag, type FlagEnvironment, type Project, type Segment, type Strategy } from '../api';
import { EventList } from '../components/EventList';
import { ConstraintList } from '../components/ConstraintList';
import { FormFooter } from '../components/FormFooter';
import { SelectField, projectChoices } from '../components/SelectField';
import { StrategyEditor, STRATEGY_LABELS } from '../components/StrategyEditor';
import { VariantsEditor, fromVariantDraft, shares, toVariantDraft, variantsValid, type VariantDraft } from '../components/VariantsEditor';
import { Badge, ConfirmButton, Dialog, Empty, Field, Loading, ProblemMessage, Switch, Tabs, Time, useFlash, useTitle } from '../components/ui';
import { useCheckedSubmit } from '../components/useCheckedSubmit';
import { useFlagIndex } from '../flagIndex';
import { useAction, useApi } from '../hooks';
import { Link, navigate, setQuery, useLocation } from '../router';
import { STALE_HELP, staleDays } from '../stale';
import { splitList } from '../validation';

type Tab = 'environments' | 'dependencies' | 'settings' | 'history';

export function FlagPage({ name }: { name: string }) {
  useTitle(name);
  const { query } = useLocation();
  const tab = (query.get('tab') as Tab) || 'environments';
  const flag = useApi<Flag>(`/api/admin/flags/${seg(name)}`);
  const segments = useApi<{ segments: Segment[] }>('/api/admin/segments');
  const [flash, say] = useFlash();

  if (flag.error && !flag.data) {
    return (
      <div className="page">
        <p>
          <Link to="/flags">← Flags</Link>
        </p>
        <h1 className="mono">{name}</h1>
        <ProblemMessage error={flag.error} />
      </div>
    );
  }
  if (!flag.data) return <Loading />;
  const f = flag.data;
  const days = staleDays(f);

  return (
    <div className="page">
      <p className="breadcrumbs">
        <Link to="/flags">Flags</Link> / <Link to={`/flags?project=${encodeURIComponent(f.project)}`}>{f.project}</Link>
      </p>
      <div className="page-header">
        <div>
          <h1 className="mono">{f.name}</h1>
          <p className="meta">
            <Badge>{f.type}</Badge> <Badge tone="info">project {f.project}</Badge>
            {f.tags.map((t) => (
              <Badge key={t} tone="info">
                {t}
              </Badge>
            ))}
            {f.archived ? <Badge tone="danger">archived</Badge> : null}
            {days !== null ? (
              <Badge tone="warn" title={STALE_HELP}>
                stale · {days} days old
              </Badge>
            ) : null}
            <span className="muted small">
              created <Time iso={f.createdAt} /> · changed <Time iso={f.updatedAt} />
              {f.owner ? ` · owner ${f.owner}` : ''}
            </span>
          </p>
          {f.description ? <p>{f.description}</p> : null}
        </div>
        <FlagActions flag={f} onChanged={flag.reload} />
      </div>
      {flash}
      {f.archived ? (
        <p className="notice">This flag is archived: SDKs no longer see it. Revive it to change its configuration.</p>
      ) : null}

      <Tabs<Tab>
        label="Flag sections"
        active={tab}
        onChange={(t) => setQuery({ tab: t === 'environments' ? '' : t })}
        tabs={[
          { key: 'environments', label: 'Environments' },
          { key: 'dependencies', label: `Dependencies${f.dependencies.length ? ` (${f.dependencies.length})` : ''}` },
          { key: 'settings', label: 'Settings' },
          { key: 'history', label: 'History' },
        ]}
      />
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tabpanel">
        {tab === 'environments' ? (
          <div className="env-rows">
            {f.environments.map((e) => (
              <EnvironmentRow key={e.name} flag={f} env={e} segments={segments.data?.segments ?? []} onChanged={flag.reload} say={say} />
            ))}
          </div>
        ) : null}
        {tab === 'dependencies' ? <Dependencies flag={f} onSaved={() => (flag.reload(), say('Dependencies saved.'))} /> : null}
        {tab === 'settings' ? <Settings flag={f} onSaved={() => (flag.reload(), say('Settings saved.'))} /> : null}
        {tab === 'history' ? <History name={f.name} /> : null}
      </div>
    </div>
  );
}

function FlagActions({ flag, onChanged }: { flag: Flag; onChanged: () => void }) {
  const act = useAction(async (what: 'archive' | 'revive' | 'delete') => {
    if (what === 'delete') {
      await api.del(`/api/admin/flags/${seg(flag.name)}`);
      navigate('/flags?archived=true');
      return;
    }
    await api.post(`/api/admin/flags/${seg(flag.name)}/${what}`);
    onChanged();
  });
  return (
    <div className="header-actions">
      {flag.archived ? (
        <>
          <button type="button" className="button-secondary" onClick={() => void act.run('revive')}>
            Revive
          </button>
          <ConfirmButton confirmLabel="Delete for good" onConfirm={() => void act.run('delete')}>
            Delete…
          </ConfirmButton>
        </>
      ) : (
        <ConfirmButton confirmLabel="Archive it" className="button-secondary" onConfirm={() => void act.run('archive')}>
          Archive…
        </ConfirmButton>
      )}
      <ProblemMessage error={act.error} onDismiss={() => act.setError(undefined)} />
    </div>
  );
}

function EnvironmentRow({
  flag,
  env,
  segments,
  onChanged,
  say,
}: {
  flag: Flag;
  env: FlagEnvironment;
  segments: Segment[];
  onChanged: () => void;
  say: (m: string) => void;
}) {
  const [open, setOpen] = useState(true);
  const [editing, setEditing] = useState<Strategy | 'new' | null>(null);
  const [editingVariants, setEditingVariants] = useState(false);
  const toggle = useAction(async (on: boolean) => {
    await api.post(`/api/admin/flags/${seg(flag.name)}/environments/${seg(env.name)}/${on ? 'on' : 'off'}`);
    onChanged();
    say(`${flag.name} is now ${on ? 'on' : 'off'} in ${env.name}.`);
  });
  const remove = useAction(async (s: Strategy) => {
    await api.del(`/api/admin/flags/${seg(flag.name)}/environments/${seg(env.name)}/strategies/${seg(s.id)}`);
    onChanged();
  });
  const bodyId = `env-${env.name}-body`;
  const active = env.strategies.filter((s) => !s.disabled).length;
  return (
    <section className={`env-row${env.enabled ? ' env-on' : ''}`} aria-label={`Environment ${env.name}`} data-environment={env.name}>
      <div className="env-row-header">
        <button type="button" className="disclosure" aria-expanded={open} aria-controls={bodyId} onClick={() => setOpen(!open)}>
          <span aria-hidden="true">{open ? '▾' : '▸'}</span>
          <span className="env-name">{env.name}</span>
        </button>
        <Badge>{env.type}</Badge>
        <span className="muted small grow">
          {env.strategies.length === 0
            ? 'No strategies: when on, on for everyone'
            : active === 0
              ? `All ${env.strategies.length} strategies paused: when on, on for everyone`
            : `${env.strategies.length} strateg${env.strategies.length === 1 ? 'y' : 'ies'}${active !== env.strategies.length ? ` (${env.strategies.length - active} paused)` : ''}`}
          {env.variants.length ? ` · ${env.variants.length} variants` : ''}
        </span>
        <Switch label={`${flag.name} in ${env.name}`} checked={env.enabled} disabled={flag.archived} pending={toggle.pending} onChange={(on) => void toggle.run(on)} />
      </div>
      <ProblemMessage error={toggle.error} onDismiss={() => toggle.setError(undefined)} />
      {open ? (
        <div className="env-row-body" id={bodyId}>
          {env.strategies.length ? (
            <ol className="strategies">
              {env.strategies.map((s, i) => (
                <li key={s.id} className={`strategy${s.disabled ? ' strategy-paused' : ''}`}>
                  <StrategySummary strategy={s} segments={segments} index={i} />
                  <div className="strategy-actions">
                    <button type="button" className="button-secondary small" disabled={flag.archived} onClick={() => setEditing(s)} aria-label={`Edit strategy ${i + 1} in ${env.name}`}>
                      Edit
                    </button>
                    <ConfirmButton className="button-secondary small" confirmLabel="Remove" disabled={flag.archived} onConfirm={() => void remove.run(s)}>
                      Remove…
                    </ConfirmButton>
                  </div>
                </li>
              ))}
            </ol>
          ) : null}
          <ProblemMessage error={remove.error} onDismiss={() => remove.setError(undefined)} />
          <div className="env-row-actions">
            <button type="button" className="button-secondary" disabled={flag.archived} onClick={() => setEditing('new')}>
              + Add strategy
            </button>
            <button type="button" className="button-secondary" disabled={flag.archived} onClick={() => setEditingVariants(true)}>
              {env.variants.length ? 'Edit variants' : '+ Add variants'}
            </button>
            {env.variants.length ? <VariantSummary variants={env.variants} /> : null}
          </div>
        </div>
      ) : null}
      <Dialog title={editing === 'new' ? `Add a strategy in ${env.name}` : `Edit strategy in ${env.name}`} open={editing !== null} onClose={() => setEditing(null)} wide>
        {editing !== null ? (
          <StrategyEditor
            flagName={flag.name}
            project={flag.project}
            environment={env.name}
            strategy={editing === 'new' ? undefined : editing}
            segments={segments}
            onSaved={() => {
              setEditing(null);
              onChanged();
              say('Strategy saved.');
            }}
            onCancel={() => setEditing(null)}
          />
        ) : null}
      </Dialog>
      <Dialog title={`Variants of ${flag.name} in ${env.name}`} open={editingVariants} onClose={() => setEditingVariants(false)} wide>
        {editingVariants ? (
          <FlagVariantsForm
            flag={flag}
            env={env}
            onSaved={() => {
              setEditingVariants(false);
              onChanged();
              say('Variants saved.');
            }}
            onCancel={() => setEditingVariants(false)}
          />
        ) : null}
      </Dialog>
    </section>
  );
}

function StrategySummary({ strategy: s, segments, index }: { strategy: Strategy; segments: Segment[]; index: number }) {
  const p = s.parameters;
  let what = STRATEGY_LABELS[s.name] ?? s.name;
  if (s.name === 'flexibleRollout') what = `${p.rollout ?? '100'} % rollout`;
  else if (s.name.startsWith('gradualRollout')) what = `${p.percentage} % (${s.name})`;
  return (
    <div className="strategy-summary">
      <div>
        <span className="muted small">#{index + 1}</span> <strong>{s.title || what}</strong>
        {s.title ? <span className="muted"> · {what}</span> : null}
        {s.disabled ? (
          <>
            {' '}
            <Badge tone="warn">paused</Badge>
          </>
        ) : null}
      </div>
      {s.name === 'flexibleRollout' ? (
        <div className="muted small">
          stickiness <code>{p.stickiness}</code> · group <code>{p.groupId}</code>
        </div>
      ) : null}
      {s.name === 'userWithId' ? <div className="small">users: {p.userIds}</div> : null}
      {s.name === 'remoteAddress' ? <div className="small">IPs: {p.IPs}</div> : null}
      {s.name === 'applicationHostname' ? <div className="small">hosts: {p.hostNames}</div> : null}
      {s.constraints.length ? <ConstraintList constraints={s.constraints} /> : null}
      {s.segments.length ? (
        <div className="small">
          segments:{' '}
          {s.segments.map((id) => (
            <Badge key={id} tone="info">
              {segments.find((x) => x.id === id)?.name ?? `#${id}`}
            </Badge>
          ))}
        </div>
      ) : null}
      {s.variants.length ? (
        <div className="small">
          variants: <VariantSummary variants={s.variants} />
        </div>
      ) : null}
    </div>
  );
}

function VariantSummary({ variants }: { variants: { name: string; weight?: number }[] }) {
  return (
    <span className="variant-summary">
      {variants.map((v) => (
        <Badge key={v.name} tone="info">
          {v.name} {((v.weight ?? 0) / 10).toFixed(1).replace(/\.0$/, '')} %
        </Badge>
      ))}
    </span>
  );
}

function FlagVariantsForm({ flag, env, onSaved, onCancel }: { flag: Flag; env: FlagEnvironment; onSaved: () => void; onCancel: () => void }) {
  const [drafts, setDrafts] = useState<VariantDraft[]>(() => env.variants.map(toVariantDraft));
  const save = useAction(async () => {
    await api.put(`/api/admin/flags/${seg(flag.name)}/environments/${seg(env.name)}/variants`, { variants: drafts.map(fromVariantDraft) });
    onSaved();
  });
  const { tried, submit } = useCheckedSubmit(() => variantsValid(drafts), save.run);
  const w = shares(drafts);
  return (
    <form onSubmit={submit} noValidate>
      <p className="muted">
        Served to everyone the flag is on for, unless the matching strategy has variants of its own. Weights are out of 100 % ({w.map((x) => x / 10).join(' + ') || '0'}).
      </p>
      <VariantsEditor value={drafts} onChange={setDrafts} showErrors={tried} />
      <FormFooter action={save} submitLabel="Save variants" onCancel={onCancel} />
    </form>
  );
}

interface DepDraft {
  key: number;
  feature: string;
  enabled: boolean;
  variants: string;
}

function Dependencies({ flag, onSaved }: { flag: Flag; onSaved: () => void }) {
  const all = useFlagIndex();
  const [drafts, setDrafts] = useState<DepDraft[]>(() => flag.dependencies.map((d, i) => ({ key: i, feature: d.feature, enabled: d.enabled, variants: d.variants.join(', ') })));
  const [tried, setTried] = useState(false);
  const candidates = (all ?? []).filter((f) => f.name !== flag.name).map((f) => f.name);
  const errorOf = (d: DepDraft) => {
    if (!d.feature) return tried ? 'Pick a parent flag.' : null;
    if (d.feature === flag.name) return 'A flag cannot depend on itself.';
    if (drafts.filter((x) => x.feature === d.feature).length > 1) return `"${d.feature}" is listed twice.`;
    const parent = all?.find((f) => f.name === d.feature);
    if (all && !parent) return `No flag named "${d.feature}".`;
    if (parent && parent.dependencies.length) return `"${d.feature}" depends on other flags itself; dependencies are one level deep.`;
    return null;
  };
  const save = useAction(async () => {
    await api.put(`/api/admin/flags/${seg(flag.name)}/dependencies`, {
      dependencies: drafts.map((d) => ({ feature: d.feature, enabled: d.enabled, ...(d.enabled && splitList(d.variants).length ? { variants: splitList(d.variants) } : {}) })),
    });
    onSaved();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (drafts.some((d) => !d.feature || errorOf(d))) return;
    void save.run();
  };
  const update = (key: number, patch: Partial<DepDraft>) => setDrafts(drafts.map((d) => (d.key === key ? { ...d, ...patch } : d)));
  return (
    <form onSubmit={submit} noValidate className="dependencies">
      <p className="muted">
        This flag is only on when every parent below is in the required state (checked in each environment before this flag's own strategies).
      </p>
      <datalist id="flag-names">
        {candidates.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      {drafts.length === 0 ? <Empty>No dependencies.</Empty> : null}
      {drafts.map((d, i) => (
        <fieldset key={d.key} className="dependency">
          <legend>Parent {i + 1}</legend>
          <div className="grid-3">
            <Field label="Parent flag" error={errorOf(d)}>
              {(p) => <input {...p} list="flag-names" value={d.feature} onChange={(e) => update(d.key, { feature: e.target.value.trim() })} autoComplete="off" />}
            </Field>
            <Field label="Must be">
              {(p) => (
                <select {...p} value={d.enabled ? 'on' : 'off'} onChange={(e) => update(d.key, { enabled: e.target.value === 'on' })}>
                  <option value="on">on</option>
                  <option value="off">off</option>
                </select>
              )}
            </Field>
            <Field label="With variant (optional)" help="Comma-separated variant names of the parent.">
              {(p) => <input {...p} value={d.variants} disabled={!d.enabled} onChange={(e) => update(d.key, { variants: e.target.value })} />}
            </Field>
          </div>
          <button type="button" className="button-secondary small" onClick={() => setDrafts(drafts.filter((x) => x.key !== d.key))}>
            Remove
          </button>
        </fieldset>
      ))}
      <ProblemMessage error={save.error} />
      <div className="actions">
        <button type="button" className="button-secondary" disabled={flag.archived} onClick={() => setDrafts([...drafts, { key: Date.now(), feature: '', enabled: true, variants: '' }])}>
          + Add parent
        </button>
        <button type="submit" disabled={save.pending || flag.archived}>
          {save.pending ? 'Saving…' : 'Save dependencies'}
        </button>
      </div>
    </form>
  );
}

function Settings({ flag, onSaved }: { flag: Flag; onSaved: () => void }) {
  const projects = useApi<{ projects: Project[] }>('/api/admin/projects');
  const [d, setD] = useState({
    description: flag.description ?? '',
    type: flag.type,
    owner: flag.owner ?? '',
    tags: flag.tags.join(', '),
    impressionData: flag.impressionData,
    project: flag.project,
  });
  const badTag = splitList(d.tags).find((t) => t.length > 100);
  const save = useAction(async () => {
    await api.patch(`/api/admin/flags/${seg(flag.name)}`, {
      description: d.description,
      type: d.type,
      owner: d.owner,
      tags: splitList(d.tags),
      impressionData: d.impressionData,
      ...(d.project !== flag.project ? { project: d.project } : {}),
    });
    onSaved();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (badTag) return;
    void save.run();
  };
  return (
    <form onSubmit={submit} noValidate className="settings">
      <Field label="Description">{(p) => <textarea {...p} rows={3} maxLength={2000} value={d.description} onChange={(e) => setD({ ...d, description: e.target.value })} />}</Field>
      <div className="grid-3">
        <SelectField label="Type" value={d.type} onChange={(type) => setD({ ...d, type })} choices={FLAG_TYPES} />
        <SelectField
          label="Project"
          value={d.project}
          onChange={(project) => setD({ ...d, project })}
          choices={projectChoices(projects.data?.projects ?? [{ id: flag.project, name: flag.project } as Project])}
        />
        <Field label="Owner">{(p) => <input {...p} value={d.owner} maxLength={255} onChange={(e) => setD({ ...d, owner: e.target.value })} />}</Field>
      </div>
      <Field label="Tags" help="Comma-separated." error={badTag ? 'A tag has at most 100 characters.' : null}>
        {(p) => <input {...p} value={d.tags} onChange={(e) => setD({ ...d, tags: e.target.value })} />}
      </Field>
      <label className="checkbox">
        <input type="checkbox" checked={d.impressionData} onChange={(e) => setD({ ...d, impressionData: e.target.checked })} /> Impression data
      </label>
      <ProblemMessage error={save.error} />
      <div className="actions">
        <button type="submit" disabled={save.pending || flag.archived}>
          {save.pending ? 'Saving…' : 'Save settings'}
        </button>
      </div>
    </form>
  );
}

function History({ name }: { name: string }) {
  const events = useApi<{ events: AuditEvent[]; total: number }>(`/api/admin/events?flag=${encodeURIComponent(name)}&limit=100`);
  if (events.error) return <ProblemMessage error={events.error} />;
  if (!events.data) return <Loading />;
  if (events.data.events.length === 0) return <Empty>No changes recorded for this flag.</Empty>;
  return (
    <>
      <p className="muted small">
        {events.data.total} change{events.data.total === 1 ? '' : 's'}, newest first. Open one to see what it changed.{' '}
        <Link to={`/audit?flag=${encodeURIComponent(name)}`}>Open in the audit log</Link>
      </p>
      <EventList events={events.data.events} showFlag={false} />
    </>
  );
}

