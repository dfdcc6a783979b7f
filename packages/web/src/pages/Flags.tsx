import { useMemo, useState } from 'react';
import { api, FLAG_TYPES, query, type Environment, type Flag, type Project } from '../api';
import { FormFooter } from '../components/FormFooter';
import { SearchFilter } from '../components/SearchFilter';
import { SelectField, projectChoices } from '../components/SelectField';
import { Badge, Dialog, Empty, Field, Loading, ProblemMessage, Time, useTitle } from '../components/ui';
import { useCheckedSubmit } from '../components/useCheckedSubmit';
import { useAction, useApi, useHotkey } from '../hooks';
import { Link, navigate, setQuery, useLocation } from '../router';
import { STALE_HELP, isStale, staleDays } from '../stale';
import { flagNameError, splitList } from '../validation';

export function FlagsPage() {
  useTitle('Flags');
  const { query: q } = useLocation();
  const project = q.get('project') ?? '';
  const archived = q.get('archived') === 'true';
  const flags = useApi<{ flags: Flag[] }>(`/api/admin/flags${query({ project, archived: archived || undefined })}`);
  const envs = useApi<{ environments: Environment[] }>('/api/admin/environments');
  const projects = useApi<{ projects: Project[] }>('/api/admin/projects');
  const [creating, setCreating] = useState(false);
  useHotkey('n', (e) => {
    e.preventDefault();
    setCreating(true);
  });

  const text = q.get('q') ?? '';
  const type = q.get('type') ?? '';
  const tag = q.get('tag') ?? '';
  const env = q.get('env') ?? '';
  const state = q.get('state') ?? '';
  const stale = q.get('stale') === '1';

  const allTags = useMemo(() => [...new Set((flags.data?.flags ?? []).flatMap((f) => f.tags))].sort(), [flags.data]);
  const environments = envs.data?.environments ?? [];
  const shown = useMemo(() => {
    const needle = text.trim().toLowerCase();
    return (flags.data?.flags ?? []).filter((f) => {
      if (needle && !f.name.toLowerCase().includes(needle) && !(f.description ?? '').toLowerCase().includes(needle)) return false;
      if (type && f.type !== type) return false;
      if (tag && !f.tags.includes(tag)) return false;
      if (env && state) {
        const e = f.environments.find((x) => x.name === env);
        if ((state === 'on') !== !!e?.enabled) return false;
      }
      if (stale && !isStale(f)) return false;
      return true;
    });
  }, [flags.data, text, type, tag, env, state, stale]);

  const filtered = !!(text || type || tag || (env && state) || stale);

  return (
    <div className="page">
      <div className="page-header">
        <h1>Flags</h1>
        <button type="button" onClick={() => setCreating(true)} aria-keyshortcuts="n">
          New flag
        </button>
      </div>

      <form className="filters" role="search" aria-label="Filter flags" onSubmit={(e) => e.preventDefault()}>
        <SelectField label="Project" value={project} onChange={(v) => setQuery({ project: v })} anyLabel="All projects" choices={projectChoices(projects.data?.projects)} />
        <SearchFilter label="Name contains" value={text} />
        <SelectField label="Type" value={type} onChange={(v) => setQuery({ type: v })} anyLabel="Any type" choices={FLAG_TYPES} />
        <SelectField label="Tag" value={tag} onChange={(v) => setQuery({ tag: v })} anyLabel="Any tag" choices={allTags} />
        <Field label="State in">
          {(p) => (
            <div className="inline">
              <select {...p} value={env} onChange={(e) => setQuery({ env: e.target.value, state: state || (e.target.value ? 'on' : '') })}>
                <option value="">Any environment</option>
                {environments.map((x) => (
                  <option key={x.name} value={x.name}>
                    {x.name}
                  </option>
                ))}
              </select>
              <select aria-label="State" value={state} disabled={!env} onChange={(e) => setQuery({ state: e.target.value })}>
                <option value="">on or off</option>
                <option value="on">on</option>
                <option value="off">off</option>
              </select>
            </div>
          )}
        </Field>
        <div className="filter-checks">
          <label className="checkbox" title={STALE_HELP}>
            <input type="checkbox" checked={stale} onChange={(e) => setQuery({ stale: e.target.checked ? '1' : '' })} /> Stale only
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={archived} onChange={(e) => setQuery({ archived: e.target.checked ? 'true' : '' })} /> Archived
          </label>
        </div>
      </form>

      <ProblemMessage error={flags.error} />
      {flags.loading && !flags.data ? <Loading /> : null}
      {flags.data ? (
        shown.length === 0 ? (
          <Empty>
            {filtered ? (
              <>No flag matches these filters.</>
            ) : archived ? (
              <>No archived flags.</>
            ) : (
              <>
                No flags yet.{' '}
                <button type="button" className="link" onClick={() => setCreating(true)}>
                  Create the first one
                </button>
                .
              </>
            )}
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Flags{project ? ` in project ${project}` : ''}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  {!project ? <th scope="col">Project</th> : null}
                  <th scope="col">Tags</th>
                  {environments.map((e) => (
                    <th scope="col" key={e.name} className="center">
                      {e.name}
                    </th>
                  ))}
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((f) => {
                  const days = staleDays(f);
                  return (
                    <tr key={f.name}>
                      <td>
                        <Link to={`/flags/${encodeURIComponent(f.name)}`} className="mono strong">
                          {f.name}
                        </Link>
                        {days !== null ? (
                          <>
                            {' '}
                            <Badge tone="warn" title={STALE_HELP}>
                              stale · {days} d
                            </Badge>
                          </>
                        ) : null}
                        {f.description ? <div className="muted small truncate">{f.description}</div> : null}
                      </td>
                      <td>{f.type}</td>
                      {!project ? <td>{f.project}</td> : null}
                      <td>
                        {f.tags.map((t) => (
                          <Badge key={t} tone="info">
                            {t}
                          </Badge>
                        ))}
                      </td>
                      {environments.map((e) => {
                        const on = !!f.environments.find((x) => x.name === e.name)?.enabled;
                        return (
                          <td key={e.name} className="center">
                            <Badge tone={on ? 'on' : 'off'} title={`${f.name} is ${on ? 'on' : 'off'} in ${e.name}`}>
                              {on ? 'on' : 'off'}
                            </Badge>
                          </td>
                        );
                      })}
                      <td>
                        <Time iso={f.createdAt} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <p className="muted small">
              {shown.length} of {flags.data.flags.length} flag{flags.data.flags.length === 1 ? '' : 's'}
            </p>
          </div>
        )
      ) : null}

      <Dialog title="New flag" open={creating} onClose={() => setCreating(false)}>
        <CreateFlagForm
          projects={projects.data?.projects ?? []}
          defaultProject={project || 'default'}
          existing={flags.data?.flags.map((f) => f.name) ?? []}
          onCreated={(f) => {
            setCreating(false);
            navigate(`/flags/${encodeURIComponent(f.name)}`);
          }}
          onCancel={() => setCreating(false)}
        />
      </Dialog>
    </div>
  );
}

function CreateFlagForm({
  projects,
  defaultProject,
  existing,
  onCreated,
  onCancel,
}: {
  projects: Project[];
  defaultProject: string;
  existing: string[];
  onCreated: (f: Flag) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState('');
  const [project, setProject] = useState(defaultProject);
  const [type, setType] = useState<string>('release');
  const [description, setDescription] = useState('');
  const [owner, setOwner] = useState('');
  const [tags, setTags] = useState('');
  const [impressionData, setImpressionData] = useState(false);
  const badTag = splitList(tags).find((t) => t.length > 100);
  const create = useAction(async () =>
    onCreated(
      await api.post<Flag>('/api/admin/flags', {
        name,
        project,
        type,
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(owner.trim() ? { owner: owner.trim() } : {}),
        tags: splitList(tags),
        impressionData,
      }),
    ),
  );
  const { tried, submit } = useCheckedSubmit(
    () => !flagNameError(name) && !badTag,
    create.run,
    () => (document.querySelector('dialog [aria-invalid="true"]') as HTMLElement | null)?.focus(),
  );
  const nameError = name === '' && !tried ? null : flagNameError(name) ?? (existing.includes(name) ? `A flag named "${name}" already exists.` : null);
  return (
    <form onSubmit={submit} noValidate>
      <Field label="Name" error={nameError} help="Used in code, e.g. checkout.new-flow. No spaces or slashes.">
        {(p) => <input {...p} name="name" value={name} onChange={(e) => setName(e.target.value)} autoFocus autoComplete="off" spellCheck={false} />}
      </Field>
      <div className="grid-2">
        <SelectField label="Project" value={project} onChange={setProject} choices={projectChoices(projects.length ? projects : [{ id: 'default', name: 'Default' } as Project])} />
        <SelectField label="Type" name="type" value={type} onChange={setType} choices={FLAG_TYPES} />
      </div>
      <Field label="Description">{(p) => <textarea {...p} rows={2} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <div className="grid-2">
        <Field label="Owner">{(p) => <input {...p} value={owner} maxLength={255} onChange={(e) => setOwner(e.target.value)} />}</Field>
        <Field label="Tags" help="Comma-separated." error={badTag ? 'A tag has at most 100 characters.' : null}>
          {(p) => <input {...p} value={tags} onChange={(e) => setTags(e.target.value)} />}
        </Field>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={impressionData} onChange={(e) => setImpressionData(e.target.checked)} /> Impression data (SDKs emit an event on
        every evaluation)
      </label>
      <FormFooter action={create} submitLabel="Create flag" pendingLabel="Creating…" onCancel={onCancel} />
    </form>
  );
}
