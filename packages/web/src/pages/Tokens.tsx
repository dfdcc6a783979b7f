import { useRef, useState, type FormEvent } from 'react';
import { api, type ApiToken, type Environment, type Project } from '../api';
import { Badge, ConfirmButton, Dialog, Field, Loading, ProblemMessage, Time, useFlash, useTitle } from '../components/ui';
import { useAction, useApi } from '../hooks';

export function TokensPage() {
  useTitle('API tokens');
  const tokens = useApi<{ tokens: ApiToken[] }>('/api/admin/tokens');
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ secret: string; token: ApiToken } | null>(null);
  const [flash, say] = useFlash();
  const remove = useAction(async (t: ApiToken) => {
    await api.del(`/api/admin/tokens/${encodeURIComponent(t.id)}`);
    await tokens.reload();
    say(`Token "${t.name}" revoked.`);
  });
  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>API tokens</h1>
          <p className="muted">
            Backend tokens for server SDKs, frontend tokens for browser and mobile apps (frontend API), admin tokens for the CLI, scripts and this UI. Secrets are shown once, when created.
          </p>
        </div>
        <button type="button" onClick={() => setCreating(true)}>
          New token
        </button>
      </div>
      {flash}
      <ProblemMessage error={tokens.error ?? remove.error} onDismiss={remove.error ? () => remove.setError(undefined) : undefined} />
      {!tokens.data ? (
        tokens.error ? null : <Loading />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Environment</th>
              <th scope="col">Projects</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.tokens.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>
                  <Badge tone={t.type === 'admin' ? 'warn' : 'neutral'}>{t.type}</Badge>
                </td>
                <td className="mono">{t.environment === '*' ? 'all' : t.environment}</td>
                <td>{t.projects.includes('*') ? <span className="muted">all</span> : t.projects.join(', ')}</td>
                <td>
                  <Time iso={t.createdAt} />
                </td>
                <td>{t.expiresAt ? <Time iso={t.expiresAt} /> : <span className="muted">never</span>}</td>
                <td className="row-actions">
                  <ConfirmButton className="button-secondary small" confirmLabel="Revoke" onConfirm={() => void remove.run(t)}>
                    Revoke…
                  </ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog title="New API token" open={creating} onClose={() => setCreating(false)}>
        {creating ? (
          <TokenForm
            onCreated={(created) => {
              setCreating(false);
              setSecret(created);
              void tokens.reload();
            }}
            onCancel={() => setCreating(false)}
          />
        ) : null}
      </Dialog>
      <Dialog title="Copy the secret now" open={secret !== null} onClose={() => setSecret(null)}>
        {secret ? <SecretOnce secret={secret.secret} token={secret.token} onDone={() => setSecret(null)} /> : null}
      </Dialog>
    </div>
  );
}

function SecretOnce({ secret, token, onDone }: { secret: string; token: ApiToken; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const ref = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      ref.current?.select();
    }
  };
  return (
    <div>
      <p>
        This is the only time the secret of <strong>{token.name}</strong> ({token.type}) is shown. Store it where your app reads its configuration.
      </p>
      <Field label="Secret">{(p) => <input {...p} ref={ref} className="mono secret" readOnly value={secret} onFocus={(e) => e.target.select()} />}</Field>
      <div className="actions">
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="button-secondary" onClick={onDone}>
          I have stored it
        </button>
      </div>
    </div>
  );
}

function TokenForm({ onCreated, onCancel }: { onCreated: (r: { secret: string; token: ApiToken }) => void; onCancel: () => void }) {
  const envs = useApi<{ environments: Environment[] }>('/api/admin/environments');
  const projects = useApi<{ projects: Project[] }>('/api/admin/projects');
  const [name, setName] = useState('');
  const [type, setType] = useState<'backend' | 'frontend' | 'admin'>('backend');
  const [environment, setEnvironment] = useState('');
  const [picked, setPicked] = useState<string[]>([]);
  const [expires, setExpires] = useState('');
  const [tried, setTried] = useState(false);
  const envError = type !== 'admin' && tried && !environment ? 'Pick the environment this token reads.' : null;
  const expiresError = expires && Date.parse(expires) <= Date.now() ? 'Pick a time in the future (or leave empty for a token that never expires).' : null;
  const create = useAction(async () =>
    onCreated(
      await api.post<{ secret: string; token: ApiToken }>('/api/admin/tokens', {
        ...(name.trim() ? { name: name.trim() } : {}),
        type,
        ...(type !== 'admin' ? { environment } : {}),
        ...(type !== 'admin' && picked.length ? { projects: picked } : {}),
        ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}),
      }),
    ),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if ((type !== 'admin' && !environment) || expiresError) return;
    void create.run();
  };
  return (
    <form onSubmit={submit} noValidate>
      <Field label="Name" help="Who uses it, e.g. checkout-service.">
        {(p) => <input {...p} value={name} maxLength={100} onChange={(e) => setName(e.target.value)} autoFocus />}
      </Field>
      <div className="grid-2">
        <Field label="Type">
          {(p) => (
            <select {...p} value={type} onChange={(e) => setType(e.target.value as typeof type)}>
              <option value="backend">backend (server SDKs)</option>
              <option value="frontend">frontend (browser, mobile)</option>
              <option value="admin">admin (everything)</option>
            </select>
          )}
        </Field>
        <Field label="Environment" error={envError}>
          {(p) => (
            <select {...p} value={type === 'admin' ? '' : environment} disabled={type === 'admin'} onChange={(e) => setEnvironment(e.target.value)}>
              <option value="">{type === 'admin' ? 'all (admin)' : 'Pick one…'}</option>
              {(envs.data?.environments ?? []).map((x) => (
                <option key={x.name} value={x.name}>
                  {x.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {type !== 'admin' ? (
        <fieldset className="checks">
          <legend>Projects (none checked: all projects)</legend>
          {(projects.data?.projects ?? []).map((x) => (
            <label key={x.id} className="checkbox">
              <input type="checkbox" checked={picked.includes(x.id)} onChange={(e) => setPicked(e.target.checked ? [...picked, x.id] : picked.filter((p) => p !== x.id))} />
              {x.name || x.id}
            </label>
          ))}
        </fieldset>
      ) : null}
      <Field label="Expires (optional)" error={expiresError}>
        {(p) => <input {...p} type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />}
      </Field>
      <ProblemMessage error={create.error} />
      <div className="actions">
        <button type="submit" disabled={create.pending}>
          {create.pending ? 'Creating…' : 'Create token'}
        </button>
        <button type="button" className="button-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
