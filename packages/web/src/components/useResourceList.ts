import { useState } from 'react';
import { api } from '../api';
import { useAction, useApi } from '../hooks';
import { useFlash } from './ui';

/**
 * The state of a page that lists one kind of resource and edits it in a dialog: the list (GET
 * `path`, items under `key`), which item the dialog edits ('new' for a new one, null: closed),
 * a flash message, and deleting an item (DELETE `deletePath(item)`, then reload).
 */
export function useResourceList<T, K extends string>({
  path,
  key,
  deletePath,
  deleted,
}: {
  path: string;
  key: K;
  deletePath: (item: T) => string;
  /** The flash message after a delete. */
  deleted: (item: T) => string;
}) {
  const list = useApi<Record<K, T[]>>(path);
  const [editing, setEditing] = useState<T | 'new' | null>(null);
  const [flash, say] = useFlash();
  const remove = useAction(async (item: T) => {
    await api.del(deletePath(item));
    await list.reload();
    say(deleted(item));
  });
  /** The dialog saved: close it, reload the list, and say so (when there is something to say). */
  const saved = (message?: string) => {
    setEditing(null);
    void list.reload();
    if (message) say(message);
  };
  return { rows: list.data?.[key], loadError: list.error, editing, setEditing, flash, remove, saved };
}

export type ResourceList<T> = ReturnType<typeof useResourceList<T, string>>;
