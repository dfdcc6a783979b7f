import { useState } from 'react';
import { api, ENVIRONMENT_TYPES, type Environment, type EnvironmentType } from '../api';
import { FormFooter } from '../components/FormFooter';
import { EditDialog, ResourcePage } from '../components/ResourcePage';
import { ResourceTable, RowActions } from '../components/ResourceTable';
import { SelectField } from '../components/SelectField';
import { Badge, Field, Time, useTitle } from '../components/ui';
import { useCheckedSubmit } from '../components/useCheckedSubmit';
import { useResourceList } from '../components/useResourceList';
import { useAction } from '../hooks';
import { environmentNameError } from '../validation';

export function EnvironmentsPage() {
  useTitle('Environments');
  const envs = useResourceList<Environment, 'environments'>({
    path: '/api/admin/environments',
    key: 'environments',
    deletePath: (e) => `/api/admin/environments/${encodeURIComponent(e.name)}`,
    deleted: (e) => `Environment "${e.name}" deleted.`,
  });
  return (
    <ResourcePage
      title="Environments"
      description="Each flag has its own on/off state and strategies per environment; SDK tokens read one environment."
      newLabel="New environment"
      state={envs}
    >
      <ResourceTable
        rows={envs.rows}
        failed={!!envs.loadError}
        rowKey={(e) => e.name}
        columns={[
          { header: 'Name', className: 'mono strong', cell: (e) => e.name },
          { header: 'Type', cell: (e) => <Badge tone={e.type === 'production' ? 'warn' : 'neutral'}>{e.type}</Badge> },
          { header: 'Order', numeric: true, cell: (e) => e.sortOrder },
          { header: 'Revision', numeric: true, title: 'Bumped by every change SDKs in this environment see', cell: (e) => e.revision },
          { header: 'Created', cell: (e) => <Time iso={e.createdAt} /> },
        ]}
        actions={(e) => (
          <RowActions
            onEdit={() => envs.setEditing(e)}
            editLabel={`Edit environment ${e.name}`}
            onDelete={() => void envs.remove.run(e)}
            confirmLabel={`Delete ${e.name} and its flag configuration`}
          />
        )}
      />
      <EditDialog state={envs} newTitle="New environment" editTitle="Edit environment">
        {(env) => <EnvironmentForm env={env} onSaved={(e) => envs.saved(`Environment "${e.name}" saved.`)} onCancel={() => envs.setEditing(null)} />}
      </EditDialog>
    </ResourcePage>
  );
}

function EnvironmentForm({ env, onSaved, onCancel }: { env?: Environment; onSaved: (e: Environment) => void; onCancel: () => void }) {
  const [name, setName] = useState(env?.name ?? '');
  const [type, setType] = useState<EnvironmentType>(env?.type ?? 'development');
  const [sortOrder, setSortOrder] = useState(env ? String(env.sortOrder) : '');
  const orderError = sortOrder !== '' && !/^-?\d{1,7}$/.test(sortOrder.trim()) ? 'A whole number.' : null;
  const save = useAction(async () => {
    const order = sortOrder.trim() === '' ? {} : { sortOrder: Number(sortOrder) };
    const saved = env
      ? await api.put<Environment>(`/api/admin/environments/${encodeURIComponent(env.name)}`, { type, ...order })
      : await api.post<Environment>('/api/admin/environments', { name, type, ...order });
    onSaved(saved);
  });
  const { tried, submit } = useCheckedSubmit(() => (!!env || !environmentNameError(name)) && !orderError, save.run);
  const nameError = env ? null : name === '' && !tried ? null : environmentNameError(name);
  return (
    <form onSubmit={submit} noValidate>
      <Field label="Name" error={nameError} help={env ? 'The name cannot change.' : 'e.g. staging or eu-production'}>
        {(p) => <input {...p} value={name} disabled={!!env} onChange={(e) => setName(e.target.value)} autoFocus={!env} autoComplete="off" />}
      </Field>
      <div className="grid-2">
        <SelectField label="Type" value={type} onChange={(v) => setType(v as EnvironmentType)} choices={ENVIRONMENT_TYPES} />
        <Field label="Order" error={orderError} help="Position in lists (optional).">
          {(p) => <input {...p} inputMode="numeric" value={sortOrder} onChange={(e) => setSortOrder(e.target.value)} />}
        </Field>
      </div>
      <FormFooter action={save} submitLabel="Save environment" onCancel={onCancel} />
    </form>
  );
}
