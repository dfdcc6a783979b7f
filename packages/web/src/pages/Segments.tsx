import { useState } from 'react';
import { api, type Project, type Segment } from '../api';
import { ConstraintsEditor, constraintsValid, fromDraft, toDraft, type ConstraintDraft } from '../components/ConstraintsEditor';
import { ConstraintList } from '../components/ConstraintList';
import { FormFooter } from '../components/FormFooter';
import { EditDialog, ResourcePage } from '../components/ResourcePage';
import { ResourceTable, RowActions } from '../components/ResourceTable';
import { SelectField, projectChoices } from '../components/SelectField';
import { Field, Time, useTitle } from '../components/ui';
import { focusFirstInvalid, useCheckedSubmit } from '../components/useCheckedSubmit';
import { useResourceList } from '../components/useResourceList';
import { useAction, useApi } from '../hooks';

export function SegmentsPage() {
  useTitle('Segments');
  const segments = useResourceList<Segment, 'segments'>({
    path: '/api/admin/segments',
    key: 'segments',
    deletePath: (s) => `/api/admin/segments/${s.id}`,
    deleted: (s) => `Segment "${s.name}" deleted.`,
  });
  const projects = useApi<{ projects: Project[] }>('/api/admin/projects');
  return (
    <ResourcePage
      title="Segments"
      description="Reusable sets of constraints (beta customers, internal staff…) that strategies can include."
      newLabel="New segment"
      state={segments}
    >
      <ResourceTable
        rows={segments.rows}
        failed={!!segments.loadError}
        empty="No segments yet."
        rowKey={(s) => s.id}
        columns={[
          {
            header: 'Name',
            cell: (s) => (
              <>
                <strong>{s.name}</strong>
                {s.description ? <div className="muted small">{s.description}</div> : null}
              </>
            ),
          },
          { header: 'Project', cell: (s) => s.project ?? <span className="muted">all projects</span> },
          {
            header: 'Constraints',
            cell: (s) => <ConstraintList constraints={s.constraints} />,
          },
          { header: 'Created', cell: (s) => <Time iso={s.createdAt} /> },
        ]}
        actions={(s) => <RowActions onEdit={() => segments.setEditing(s)} editLabel={`Edit segment ${s.name}`} onDelete={() => void segments.remove.run(s)} />}
      />
      <EditDialog state={segments} newTitle="New segment" editTitle="Edit segment" wide>
        {(segment) => (
          <SegmentForm
            segment={segment}
            projects={projects.data?.projects ?? []}
            onSaved={(s) => segments.saved(`Segment "${s.name}" saved.`)}
            onCancel={() => segments.setEditing(null)}
          />
        )}
      </EditDialog>
    </ResourcePage>
  );
}

function SegmentForm({ segment, projects, onSaved, onCancel }: { segment?: Segment; projects: Project[]; onSaved: (s: Segment) => void; onCancel: () => void }) {
  const [name, setName] = useState(segment?.name ?? '');
  const [description, setDescription] = useState(segment?.description ?? '');
  const [project, setProject] = useState(segment?.project ?? '');
  const [constraints, setConstraints] = useState<ConstraintDraft[]>(() => (segment?.constraints ?? []).map(toDraft));
  const save = useAction(async () => {
    const body = { name: name.trim(), description, project: project || null, constraints: constraints.map(fromDraft) };
    const saved = segment ? await api.put<Segment>(`/api/admin/segments/${segment.id}`, body) : await api.post<Segment>('/api/admin/segments', body);
    onSaved(saved);
  });
  const { tried, submit } = useCheckedSubmit(() => !!name.trim() && constraintsValid(constraints), save.run, focusFirstInvalid);
  const nameError = name.trim() === '' && tried ? 'A name is required.' : null;
  return (
    <form onSubmit={submit} noValidate>
      <div className="grid-2">
        <Field label="Name" error={nameError}>
          {(p) => <input {...p} value={name} maxLength={255} onChange={(e) => setName(e.target.value)} autoFocus />}
        </Field>
        <SelectField
          label="Project"
          help="A project segment can only be used by that project's flags."
          value={project}
          onChange={setProject}
          anyLabel="All projects (global)"
          choices={projectChoices(projects)}
        />
      </div>
      <Field label="Description">{(p) => <input {...p} value={description} maxLength={2000} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <h3>Constraints</h3>
      <ConstraintsEditor value={constraints} onChange={setConstraints} showErrors={tried} />
      <FormFooter action={save} submitLabel="Save segment" onCancel={onCancel} />
    </form>
  );
}
