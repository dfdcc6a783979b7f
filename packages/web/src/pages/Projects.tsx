import { useState } from 'react';
import { api, type Project } from '../api';
import { FormFooter } from '../components/FormFooter';
import { EditDialog, ResourcePage } from '../components/ResourcePage';
import { ResourceTable, RowActions } from '../components/ResourceTable';
import { Field, Time, useTitle } from '../components/ui';
import { useCheckedSubmit } from '../components/useCheckedSubmit';
import { useResourceList } from '../components/useResourceList';
import { useAction } from '../hooks';
import { Link } from '../router';
import { projectIdError } from '../validation';

export function ProjectsPage() {
  useTitle('Projects');
  const projects = useResourceList<Project, 'projects'>({
    path: '/api/admin/projects',
    key: 'projects',
    deletePath: (p) => `/api/admin/projects/${encodeURIComponent(p.id)}`,
    deleted: (p) => `Project "${p.id}" deleted.`,
  });
  return (
    <ResourcePage title="Projects" description="Projects group flags; tokens can be limited to some projects." newLabel="New project" state={projects}>
      <ResourceTable
        rows={projects.rows}
        failed={!!projects.loadError}
        rowKey={(p) => p.id}
        columns={[
          {
            header: 'Id',
            cell: (p) => (
              <Link to={`/flags?project=${encodeURIComponent(p.id)}`} className="mono">
                {p.id}
              </Link>
            ),
          },
          { header: 'Name', cell: (p) => p.name },
          { header: 'Description', className: 'muted', cell: (p) => p.description },
          { header: 'Created', cell: (p) => <Time iso={p.createdAt} /> },
        ]}
        actions={(p) => <RowActions onEdit={() => projects.setEditing(p)} editLabel={`Edit project ${p.id}`} onDelete={() => void projects.remove.run(p)} />}
      />
      <EditDialog state={projects} newTitle="New project" editTitle="Edit project">
        {(project) => <ProjectForm project={project} onSaved={(p) => projects.saved(`Project "${p.id}" saved.`)} onCancel={() => projects.setEditing(null)} />}
      </EditDialog>
    </ResourcePage>
  );
}

function ProjectForm({ project, onSaved, onCancel }: { project?: Project; onSaved: (p: Project) => void; onCancel: () => void }) {
  const [id, setId] = useState(project?.id ?? '');
  const [name, setName] = useState(project?.name ?? '');
  const [description, setDescription] = useState(project?.description ?? '');
  const save = useAction(async () => {
    const saved = project
      ? await api.put<Project>(`/api/admin/projects/${encodeURIComponent(project.id)}`, { name, description })
      : await api.post<Project>('/api/admin/projects', { id, ...(name ? { name } : {}), ...(description ? { description } : {}) });
    onSaved(saved);
  });
  const { tried, submit } = useCheckedSubmit(() => !!project || !projectIdError(id), save.run);
  const idError = project ? null : id === '' && !tried ? null : projectIdError(id);
  return (
    <form onSubmit={submit} noValidate>
      <Field label="Id" error={idError} help={project ? 'The id cannot change.' : 'Lowercase, e.g. payments or web-shop.'}>
        {(p) => <input {...p} value={id} disabled={!!project} onChange={(e) => setId(e.target.value)} autoFocus={!project} autoComplete="off" />}
      </Field>
      <Field label="Name">{(p) => <input {...p} value={name} maxLength={255} onChange={(e) => setName(e.target.value)} />}</Field>
      <Field label="Description">{(p) => <textarea {...p} rows={2} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <FormFooter action={save} submitLabel="Save project" onCancel={onCancel} />
    </form>
  );
}
