import type { ReactNode } from 'react';
import { Dialog, ProblemMessage } from './ui';
import type { ResourceList } from './useResourceList';

/** The frame of a list page: title, what the list is for, a "New …" button, the flash, and the list's or a delete's problem. */
export function ResourcePage<T>({
  title,
  description,
  newLabel,
  state,
  children,
}: {
  title: string;
  description: ReactNode;
  newLabel: string;
  state: ResourceList<T>;
  children: ReactNode;
}) {
  const { remove } = state;
  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{title}</h1>
          <p className="muted">{description}</p>
        </div>
        <button type="button" onClick={() => state.setEditing('new')}>
          {newLabel}
        </button>
      </div>
      {state.flash}
      <ProblemMessage error={state.loadError ?? remove.error} onDismiss={remove.error ? () => remove.setError(undefined) : undefined} />
      {children}
    </div>
  );
}

/** One dialog for "New …" and "Edit …": open while the list edits an item, or 'new' (the form gets undefined). */
export function EditDialog<T>({
  state,
  newTitle,
  editTitle,
  wide,
  children,
}: {
  state: ResourceList<T>;
  newTitle: string;
  /** Omitted where items are only created. */
  editTitle?: string;
  wide?: boolean;
  children: (item: T | undefined) => ReactNode;
}) {
  const { editing } = state;
  return (
    <Dialog title={editing === 'new' || !editTitle ? newTitle : editTitle} open={editing !== null} onClose={() => state.setEditing(null)} wide={wide}>
      {editing !== null ? children(editing === 'new' ? undefined : editing) : null}
    </Dialog>
  );
}
