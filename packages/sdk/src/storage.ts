/**
 * Where a client keeps its last good flag set between runs (the backup) and how a bootstrap is
 * read. The file format is an Unleash client-API payload (local mode) or a frontend-API answer
 * (remote mode), with a `meta` object, so a backup file also works as a bootstrap file.
 */
import type { ClientFeaturesPayload } from '@switchyard/engine';
import { applyDelta } from '@switchyard/engine';
import { checkDeltaEvents, checkPayload, checkToggles, type FrontendToggle } from './flagset.js';
import { MalformedDataError } from './http.js';

export interface StoredFlagSet {
  /** Local mode: the client-API payload. */
  payload?: ClientFeaturesPayload;
  /** Remote mode: the frontend API's toggles for the context. */
  toggles?: FrontendToggle[];
  etag?: string;
  revision?: number;
  savedAt?: string;
}

export interface BackupStorage {
  load(): Promise<StoredFlagSet | undefined>;
  save(set: StoredFlagSet): Promise<void>;
}

/** File access, injected by the Node build (`@switchyard/sdk/node`) so the core has no Node-only imports. */
export interface FileIO {
  /** The file's text, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>;
  /** Writes the file atomically (a temporary file renamed over it). */
  writeTextAtomic(path: string, text: string): Promise<void>;
}

export function serializeFlagSet(set: StoredFlagSet): string {
  const meta = { revisionId: set.revision, etag: set.etag, savedAt: set.savedAt ?? new Date().toISOString(), source: 'switchyard-sdk' };
  if (set.toggles) return JSON.stringify({ toggles: set.toggles, meta });
  const p = set.payload ?? { version: 2, features: [] };
  return JSON.stringify({ version: p.version ?? 2, features: p.features, segments: p.segments ?? [], meta });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A flag set from bootstrap or backup data: a client-API payload `{version, features, segments}`,
 * delta events `{events: [{type: 'hydration', …}]}`, or frontend toggles `{toggles}`.
 */
export function parseFlagSet(data: unknown, where = 'flag set'): StoredFlagSet {
  if (!isObject(data)) throw new MalformedDataError(`${where}: not a JSON object`);
  const meta = isObject(data.meta) ? data.meta : {};
  const out: StoredFlagSet = {};
  if (typeof meta.etag === 'string') out.etag = meta.etag;
  if (typeof meta.revisionId === 'number') out.revision = meta.revisionId;
  if (typeof meta.savedAt === 'string') out.savedAt = meta.savedAt;
  if (Array.isArray(data.toggles)) {
    out.toggles = checkToggles(data, where);
  } else if (Array.isArray(data.events)) {
    out.payload = applyDelta(undefined, checkDeltaEvents(data, where));
  } else {
    out.payload = checkPayload(data, where);
  }
  return out;
}

export function parseFlagSetText(text: string, where: string): StoredFlagSet {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new MalformedDataError(`${where}: not valid JSON (${(err as Error).message})`);
  }
  return parseFlagSet(data, where);
}

/** A backup file (needs a FileIO: use `@switchyard/sdk/node`). */
export function fileStorage(path: string, io: FileIO): BackupStorage {
  return {
    async load() {
      const text = await io.readText(path);
      return text === undefined ? undefined : parseFlagSetText(text, `backup file ${path}`);
    },
    save: (set) => io.writeTextAtomic(path, serializeFlagSet(set)),
  };
}

/** A backup in the browser's `localStorage` (a no-op where there is none). */
export function localStorageBackup(key = 'switchyard:flags'): BackupStorage {
  const ls = (globalThis as { localStorage?: { getItem(k: string): string | null; setItem(k: string, v: string): void } }).localStorage;
  return {
    async load() {
      const text = ls?.getItem(key);
      return text ? parseFlagSetText(text, `localStorage ${key}`) : undefined;
    },
    async save(set) {
      ls?.setItem(key, serializeFlagSet(set));
    },
  };
}

/** An in-memory backup (tests, or sharing one set between clients in a process). */
export function memoryStorage(initial?: StoredFlagSet): BackupStorage & { current?: StoredFlagSet } {
  const s: BackupStorage & { current?: StoredFlagSet } = {
    current: initial,
    async load() {
      return s.current;
    },
    async save(set) {
      s.current = set;
    },
  };
  return s;
}
