import { useRef, useState } from 'react';
import { api, type ApiToken, type Environment, type Project } from '../api';
import { FormFooter } from '../components/FormFooter';
import { EditDialog, ResourcePage } from '../components/ResourcePage';
import { ResourceTable, RowActions } from '../components/ResourceTable';
import { SelectField, environmentChoices } from '../components/SelectField';
import { Badge, Dialog, Field, Time, useTitle } from '../components/ui';
import { useCheckedSubmit } from '../components/useCheckedSubmit';
import { useResourceList } from '../components/useResourceList';
import { useAction, useApi } from '../hooks';

export function TokensPage() {
  useTitle('API tokens');
  const tokens = useResourceList<ApiToken, 'tokens'>({
    path: '/api/admin/tokens',
    key: 'tokens',
    deletePath: (t) => `/api/admin/tokens/${encodeURIComponent(t.id)}`,
    deleted: (t) => `Token "${t.name}" revoked.`,
  });
  const [secret, setSecret] = useState<{ secret: string; token: ApiToken } | null>(null);
  return (
    <ResourcePage
      title="API tokens"
      description="Backend tokens for server SDKs, frontend tokens for browser and mobile apps (frontend API), admin tokens for the CLI, scripts and this UI. Secrets are shown once, when created."
      newLabel="New token"
      state={tokens}
    >
      <ResourceTable
        rows={tokens.rows}
        failed={!!tokens.loadError}
        rowKey={(t) => t.id}
        columns={[
          { header: 'Name', cell: (t) => t.name },
          { header: 'Type', cell: (t) => <Badge tone={t.type === 'admin' ? 'warn' : 'neutral'}>{t.type}</Badge> },
          { header: 'Environment', className: 'mono', cell: (t) => (t.environment === '*' ? 'all' : t.environment) },
          { header: 'Projects', cell: (t) => (t.projects.includes('*') ? <span className="muted">all</span> : t.projects.join(', ')) },
          { header: 'Created', cell: (t) => <Time iso={t.createdAt} /> },
          { header: 'Expires', cell: (t) => (t.expiresAt ? <Time iso={t.expiresAt} /> : <span className="muted">never</span>) },
        ]}
        actions={(t) => <RowActions onDelete={() => void tokens.remove.run(t)} deleteText="Revoke…" confirmLabel="Revoke" />}
      />
      <EditDialog state={tokens} newTitle="New API token">
        {() => (
          <TokenForm
            onCreated={(created) => {
              tokens.saved();
              setSecret(created);
            }}
            onCancel={() => tokens.setEditing(null)}
          />
        )}
      </EditDialog>
      <Dialog title="Copy the secret now" open={secret !== null} onClose={() => setSecret(null)}>
        {secret ? <SecretOnce secret={secret.secret} token={secret.token} onDone={() => setSecret(null)} /> : null}
      </Dialog>
    </ResourcePage>
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
  const { tried, submit } = useCheckedSubmit(() => (type === 'admin' || !!environment) && !expiresError, create.run);
  const envError = type !== 'admin' && tried && !environment ? 'Pick the environment this token reads.' : null;
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
        <SelectField
          label="Environment"
          error={envError}
          value={type === 'admin' ? '' : environment}
          disabled={type === 'admin'}
          onChange={setEnvironment}
          anyLabel={type === 'admin' ? 'all (admin)' : 'Pick one…'}
          choices={environmentChoices(envs.data?.environments)}
        />
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
      <FormFooter action={create} submitLabel="Create token" pendingLabel="Creating…" onCancel={onCancel} />
    </form>
  );
}
