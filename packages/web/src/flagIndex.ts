import { useEffect, useSyncExternalStore } from 'react';
import { api, onChange, type Flag } from './api';

/**
 * Every active flag (all projects), shared by the global search and pickers. Loaded once when
 * first needed and again after every write the UI makes.
 */
let flags: Flag[] | null = null;
let loading: Promise<void> | null = null;
const listeners = new Set<() => void>();

function load(): Promise<void> {
  loading ??= api
    .get<{ flags: Flag[] }>('/api/admin/flags')
    .then((r) => {
      flags = r.flags;
    })
    .catch(() => {
      flags ??= [];
    })
    .finally(() => {
      loading = null;
      for (const fn of listeners) fn();
    });
  return loading;
}

let stale = true;
onChange(() => {
  stale = true;
  if (listeners.size) void load().then(() => (stale = false));
});

export function useFlagIndex(): Flag[] | null {
  const value = useSyncExternalStore(
    (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    () => flags,
  );
  useEffect(() => {
    if (stale) {
      stale = false;
      void load();
    }
  }, []);
  return value;
}
