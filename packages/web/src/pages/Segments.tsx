import { useState, type FormEvent } from 'react';
import { api, type Project, type Segment } from '../api';
import { ConstraintsEditor, constraintsValid, fromDraft, toDraft, type ConstraintDraft } from '../components/ConstraintsEditor';
import { ConfirmButton, Dialog, Empty, Field, Loading, ProblemMessage, Time, useFlash, useTitle } from '../components/ui';
import { useAction, useApi } from '../hooks';
import { describeConstraint } from '../components/describe';

export function SegmentsPage() {
  useTitle('Segments');
  const segments = useApi<{ segments: Segment[] }>('/api/admin/segments');
  const projects = useApi<{ projects: Project[] }>('/api/admin/projects');
  const [editing, setEditing] = useState<Segment | 'new' | null>(null);
  const [flash, say] = useFlash();
  const remove = useAction(async (s: Segment) => {
    await api.del(`/api/admin/segments/${s.id}`);
    await segments.reload();
    say(`Segment "${s.name}" deleted.`);
  });
  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>Segments</h1>
          <p className="muted">Reusable sets of constraints (beta customers, internal staff…) that strategies can include.</p>
        </div>
        <button type="button" onClick={() => setEditing('new')}>
          New segment
        </button>
      </div>
      {flash}
      <ProblemMessage error={segments.error ?? remove.error} onDismiss={remove.error ? () => remove.setError(undefined) : undefined} />
      {!segments.data ? (
        segments.error ? null : <Loading />
      ) : segments.data.segments.length === 0 ? (
        <Empty>No segments yet.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Project</th>
              <th scope="col">Constraints</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {segments.data.segments.map((s) => (
              <tr key={s.id}>
                <td>
                  <strong>{s.name}</strong>
                  {s.description ? <div className="muted small">{s.description}</div> : null}
                </td>
                <td>{s.project ?? <span className="muted">all projects</span>}</td>
                <td>
                  <ul className="constraint-list">
                    {s.constraints.map((c, i) => (
                      <li key={i}>
                        <code>{describeConstraint(c)}</code>
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <Time iso={s.createdAt} />
                </td>
                <td className="row-actions">
                  <button type="button" className="button-secondary small" onClick={() => setEditing(s)} aria-label={`Edit segment ${s.name}`}>
                    Edit
                  </button>
                  <ConfirmButton className="button-secondary small" confirmLabel="Delete" onConfirm={() => void remove.run(s)}>
                    Delete…
                  </ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog title={editing === 'new' ? 'New segment' : `Edit segment`} open={editing !== null} onClose={() => setEditing(null)} wide>
        {editing !== null ? (
          <SegmentForm
            segment={editing === 'new' ? undefined : editing}
            projects={projects.data?.projects ?? []}
            onSaved={(s) => {
              setEditing(null);
              void segments.reload();
              say(`Segment "${s.name}" saved.`);
            }}
            onCancel={() => setEditing(null)}
          />
        ) : null}
      </Dialog>
    </div>
  );
}

function SegmentForm({ segment, projects, onSaved, onCancel }: { segment?: Segment; projects: Project[]; onSaved: (s: Segment) => void; onCancel: () => void }) {
  const [name, setName] = useState(segment?.name ?? '');
  const [description, setDescription] = useState(segment?.description ?? '');
  const [project, setProject] = useState(segment?.project ?? '');
  const [constraints, setConstraints] = useState<ConstraintDraft[]>(() => (segment?.constraints ?? []).map(toDraft));
  const [tried, setTried] = useState(false);
  const nameError = name.trim() === '' && tried ? 'A name is required.' : null;
  const save = useAction(async () => {
    const body = { name: name.trim(), description, project: project || null, constraints: constraints.map(fromDraft) };
    const saved = segment ? await api.put<Segment>(`/api/admin/segments/${segment.id}`, body) : await api.post<Segment>('/api/admin/segments', body);
    onSaved(saved);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!name.trim() || !constraintsValid(constraints)) {
      requestAnimationFrame(() => (document.querySelector('dialog [aria-invalid="true"]') as HTMLElement | null)?.focus());
      return;
    }
    void save.run();
  };
  return (
    <form onSubmit={submit} noValidate>
      <div className="grid-2">
        <Field label="Name" error={nameError}>
          {(p) => <input {...p} value={name} maxLength={255} onChange={(e) => setName(e.target.value)} autoFocus />}
        </Field>
        <Field label="Project" help="A project segment can only be used by that project's flags.">
          {(p) => (
            <select {...p} value={project} onChange={(e) => setProject(e.target.value)}>
              <option value="">All projects (global)</option>
              {projects.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name || x.id}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Field label="Description">{(p) => <input {...p} value={description} maxLength={2000} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <h3>Constraints</h3>
      <ConstraintsEditor value={constraints} onChange={setConstraints} showErrors={tried} />
      <ProblemMessage error={save.error} />
      <div className="actions">
        <button type="submit" disabled={save.pending}>
          {save.pending ? 'Saving…' : 'Save segment'}
        </button>
        <button type="button" className="button-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
