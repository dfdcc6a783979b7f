import { useState, type FormEvent } from 'react';
import { query, type AuditEvent, type Environment } from '../api';
import { EventList, KNOWN_EVENT_TYPES, describeType } from '../components/EventList';
import { SelectField, environmentChoices } from '../components/SelectField';
import { Empty, Field, Loading, ProblemMessage, useTitle } from '../components/ui';
import { useApi } from '../hooks';
import { setQuery, useLocation } from '../router';

const PAGE = 50;

/** `datetime-local` value ⇄ ISO. */
const toIso = (local: string) => (local && !Number.isNaN(Date.parse(local)) ? new Date(local).toISOString() : '');
function toLocal(iso: string | null): string {
  if (!iso || Number.isNaN(Date.parse(iso))) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function AuditPage() {
  useTitle('Audit log');
  const { query: q } = useLocation();
  const filters = {
    flag: q.get('flag') ?? '',
    actor: q.get('actor') ?? '',
    type: q.get('type') ?? '',
    environment: q.get('environment') ?? '',
    since: q.get('since') ?? '',
    until: q.get('until') ?? '',
  };
  const offset = Number(q.get('offset') ?? 0) || 0;
  const events = useApi<{ events: AuditEvent[]; total: number }>(`/api/admin/events${query({ ...filters, limit: PAGE, offset })}`);
  const envs = useApi<{ environments: Environment[] }>('/api/admin/environments');
  const [draft, setDraft] = useState(filters);
  const [sinceLocal, setSinceLocal] = useState(toLocal(filters.since));
  const [untilLocal, setUntilLocal] = useState(toLocal(filters.until));
  const rangeError = sinceLocal && untilLocal && Date.parse(sinceLocal) > Date.parse(untilLocal) ? '"From" is after "to".' : null;

  const apply = (e: FormEvent) => {
    e.preventDefault();
    if (rangeError) return;
    setQuery({ ...draft, since: toIso(sinceLocal), until: toIso(untilLocal), offset: '' });
  };
  const clear = () => {
    const empty = { flag: '', actor: '', type: '', environment: '', since: '', until: '' };
    setDraft(empty);
    setSinceLocal('');
    setUntilLocal('');
    setQuery({ ...empty, offset: '' });
  };

  const total = events.data?.total ?? 0;
  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Audit log</h1>
          <p className="muted">Every change, who made it and what it changed, newest first.</p>
        </div>
      </div>
      <form className="filters audit-filters" onSubmit={apply} aria-label="Filter the audit log">
        <Field label="Flag">{(p) => <input {...p} value={draft.flag} onChange={(e) => setDraft({ ...draft, flag: e.target.value })} placeholder="exact name" />}</Field>
        <Field label="User">
          {(p) => <input {...p} value={draft.actor} placeholder="token name, as shown after “by”" onChange={(e) => setDraft({ ...draft, actor: e.target.value })} />}
        </Field>
        <SelectField
          label="Type"
          value={draft.type}
          onChange={(type) => setDraft({ ...draft, type })}
          anyLabel="Any change"
          choices={KNOWN_EVENT_TYPES.map((t) => ({ value: t, label: describeType(t) }))}
        />
        <SelectField
          label="Environment"
          value={draft.environment}
          onChange={(environment) => setDraft({ ...draft, environment })}
          anyLabel="Any"
          choices={environmentChoices(envs.data?.environments)}
        />
        <Field label="From">{(p) => <input {...p} type="datetime-local" value={sinceLocal} onChange={(e) => setSinceLocal(e.target.value)} />}</Field>
        <Field label="To" error={rangeError}>
          {(p) => <input {...p} type="datetime-local" value={untilLocal} onChange={(e) => setUntilLocal(e.target.value)} />}
        </Field>
        <div className="filter-buttons">
          <button type="submit">Apply</button>
          <button type="button" className="button-secondary" onClick={clear}>
            Clear
          </button>
        </div>
      </form>
      <ProblemMessage error={events.error} />
      {!events.data ? (
        events.error ? null : <Loading />
      ) : events.data.events.length === 0 ? (
        <Empty>No changes match.</Empty>
      ) : (
        <>
          <p className="muted small" role="status">
            {offset + 1}–{offset + events.data.events.length} of {total}
          </p>
          <EventList events={events.data.events} />
          <nav className="pager" aria-label="Pages">
            <button type="button" className="button-secondary" disabled={offset === 0} onClick={() => setQuery({ offset: String(Math.max(0, offset - PAGE)) || '' })}>
              ← Newer
            </button>
            <button type="button" className="button-secondary" disabled={offset + PAGE >= total} onClick={() => setQuery({ offset: String(offset + PAGE) })}>
              Older →
            </button>
          </nav>
        </>
      )}
    </div>
  );
}
