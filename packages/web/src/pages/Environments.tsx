import { useState, type FormEvent } from 'react';
import { api, ENVIRONMENT_TYPES, type Environment, type EnvironmentType } from '../api';
import { Badge, ConfirmButton, Dialog, Field, Loading, ProblemMessage, Time, useFlash, useTitle } from '../components/ui';
import { useAction, useApi } from '../hooks';
import { environmentNameError } from '../validation';

export function EnvironmentsPage() {
  useTitle('Environments');
  const envs = useApi<{ environments: Environment[] }>('/api/admin/environments');
  const [editing, setEditing] = useState<Environment | 'new' | null>(null);
  const [flash, say] = useFlash();
  const remove = useAction(async (e: Environment) => {
    await api.del(`/api/admin/environments/${encodeURIComponent(e.name)}`);
    await envs.reload();
    say(`Environment "${e.name}" deleted.`);
  });
  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Environments</h1>
          <p className="muted">Each flag has its own on/off state and strategies per environment; SDK tokens read one environment.</p>
        </div>
        <button type="button" onClick={() => setEditing('new')}>
          New environment
        </button>
      </div>
      {flash}
      <ProblemMessage error={envs.error ?? remove.error} onDismiss={remove.error ? () => remove.setError(undefined) : undefined} />
      {!envs.data ? (
        envs.error ? null : <Loading />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col" className="num">
                Order
              </th>
              <th scope="col" className="num">
                Revision
              </th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {envs.data.environments.map((e) => (
              <tr key={e.name}>
                <td className="mono strong">{e.name}</td>
                <td>
                  <Badge tone={e.type === 'production' ? 'warn' : 'neutral'}>{e.type}</Badge>
                </td>
                <td className="num">{e.sortOrder}</td>
                <td className="num" title="Bumped by every change SDKs in this environment see">
                  {e.revision}
                </td>
                <td>
                  <Time iso={e.createdAt} />
                </td>
                <td className="row-actions">
                  <button type="button" className="button-secondary small" onClick={() => setEditing(e)} aria-label={`Edit environment ${e.name}`}>
                    Edit
                  </button>
                  <ConfirmButton className="button-secondary small" confirmLabel={`Delete ${e.name} and its flag configuration`} onConfirm={() => void remove.run(e)}>
                    Delete…
                  </ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog title={editing === 'new' ? 'New environment' : 'Edit environment'} open={editing !== null} onClose={() => setEditing(null)}>
        {editing !== null ? (
          <EnvironmentForm
            env={editing === 'new' ? undefined : editing}
            onSaved={(e) => {
              setEditing(null);
              void envs.reload();
              say(`Environment "${e.name}" saved.`);
            }}
            onCancel={() => setEditing(null)}
          />
        ) : null}
      </Dialog>
    </div>
  );
}

function EnvironmentForm({ env, onSaved, onCancel }: { env?: Environment; onSaved: (e: Environment) => void; onCancel: () => void }) {
  const [name, setName] = useState(env?.name ?? '');
  const [type, setType] = useState<EnvironmentType>(env?.type ?? 'development');
  const [sortOrder, setSortOrder] = useState(env ? String(env.sortOrder) : '');
  const [tried, setTried] = useState(false);
  const nameError = env ? null : name === '' && !tried ? null : environmentNameError(name);
  const orderError = sortOrder !== '' && !/^-?\d{1,7}$/.test(sortOrder.trim()) ? 'A whole number.' : null;
  const save = useAction(async () => {
    const order = sortOrder.trim() === '' ? {} : { sortOrder: Number(sortOrder) };
    const saved = env
      ? await api.put<Environment>(`/api/admin/environments/${encodeURIComponent(env.name)}`, { type, ...order })
      : await api.post<Environment>('/api/admin/environments', { name, type, ...order });
    onSaved(saved);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if ((!env && environmentNameError(name)) || orderError) return;
    void save.run();
  };
  return (
    <form onSubmit={submit} noValidate>
      <Field label="Name" error={nameError} help={env ? 'The name cannot change.' : 'e.g. staging or eu-production'}>
        {(p) => <input {...p} value={name} disabled={!!env} onChange={(e) => setName(e.target.value)} autoFocus={!env} autoComplete="off" />}
      </Field>
      <div className="grid-2">
        <Field label="Type">
          {(p) => (
            <select {...p} value={type} onChange={(e) => setType(e.target.value as EnvironmentType)}>
              {ENVIRONMENT_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Order" error={orderError} help="Position in lists (optional).">
          {(p) => <input {...p} inputMode="numeric" value={sortOrder} onChange={(e) => setSortOrder(e.target.value)} />}
        </Field>
      </div>
      <ProblemMessage error={save.error} />
      <div className="actions">
        <button type="submit" disabled={save.pending}>
          {save.pending ? 'Saving…' : 'Save environment'}
        </button>
        <button type="button" className="button-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
