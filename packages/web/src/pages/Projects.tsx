import { useState, type FormEvent } from 'react';
import { api, type Project } from '../api';
import { ConfirmButton, Dialog, Field, Loading, ProblemMessage, Time, useFlash, useTitle } from '../components/ui';
import { useAction, useApi } from '../hooks';
import { Link } from '../router';
import { projectIdError } from '../validation';

export function ProjectsPage() {
  useTitle('Projects');
  const projects = useApi<{ projects: Project[] }>('/api/admin/projects');
  const [editing, setEditing] = useState<Project | 'new' | null>(null);
  const [flash, say] = useFlash();
  const remove = useAction(async (p: Project) => {
    await api.del(`/api/admin/projects/${encodeURIComponent(p.id)}`);
    await projects.reload();
    say(`Project "${p.id}" deleted.`);
  });
  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Projects</h1>
          <p className="muted">Projects group flags; tokens can be limited to some projects.</p>
        </div>
        <button type="button" onClick={() => setEditing('new')}>
          New project
        </button>
      </div>
      {flash}
      <ProblemMessage error={projects.error ?? remove.error} onDismiss={remove.error ? () => remove.setError(undefined) : undefined} />
      {!projects.data ? (
        projects.error ? null : <Loading />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {projects.data.projects.map((p) => (
              <tr key={p.id}>
                <td>
                  <Link to={`/flags?project=${encodeURIComponent(p.id)}`} className="mono">
                    {p.id}
                  </Link>
                </td>
                <td>{p.name}</td>
                <td className="muted">{p.description}</td>
                <td>
                  <Time iso={p.createdAt} />
                </td>
                <td className="row-actions">
                  <button type="button" className="button-secondary small" onClick={() => setEditing(p)} aria-label={`Edit project ${p.id}`}>
                    Edit
                  </button>
                  <ConfirmButton className="button-secondary small" confirmLabel="Delete" onConfirm={() => void remove.run(p)}>
                    Delete…
                  </ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog title={editing === 'new' ? 'New project' : 'Edit project'} open={editing !== null} onClose={() => setEditing(null)}>
        {editing !== null ? (
          <ProjectForm
            project={editing === 'new' ? undefined : editing}
            onSaved={(p) => {
              setEditing(null);
              void projects.reload();
              say(`Project "${p.id}" saved.`);
            }}
            onCancel={() => setEditing(null)}
          />
        ) : null}
      </Dialog>
    </div>
  );
}

function ProjectForm({ project, onSaved, onCancel }: { project?: Project; onSaved: (p: Project) => void; onCancel: () => void }) {
  const [id, setId] = useState(project?.id ?? '');
  const [name, setName] = useState(project?.name ?? '');
  const [description, setDescription] = useState(project?.description ?? '');
  const [tried, setTried] = useState(false);
  const idError = project ? null : id === '' && !tried ? null : projectIdError(id);
  const save = useAction(async () => {
    const saved = project
      ? await api.put<Project>(`/api/admin/projects/${encodeURIComponent(project.id)}`, { name, description })
      : await api.post<Project>('/api/admin/projects', { id, ...(name ? { name } : {}), ...(description ? { description } : {}) });
    onSaved(saved);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!project && projectIdError(id)) return;
    void save.run();
  };
  return (
    <form onSubmit={submit} noValidate>
      <Field label="Id" error={idError} help={project ? 'The id cannot change.' : 'Lowercase, e.g. payments or web-shop.'}>
        {(p) => <input {...p} value={id} disabled={!!project} onChange={(e) => setId(e.target.value)} autoFocus={!project} autoComplete="off" />}
      </Field>
      <Field label="Name">{(p) => <input {...p} value={name} maxLength={255} onChange={(e) => setName(e.target.value)} />}</Field>
      <Field label="Description">{(p) => <textarea {...p} rows={2} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <ProblemMessage error={save.error} />
      <div className="actions">
        <button type="submit" disabled={save.pending}>
          {save.pending ? 'Saving…' : 'Save project'}
        </button>
        <button type="button" className="button-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
