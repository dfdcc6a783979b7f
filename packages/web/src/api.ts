/**
 * The UI's only way to the server: the public admin API (docs/admin-api.md) plus the session
 * endpoints. Signed-in requests carry the HttpOnly session cookie (the browser adds it; this code
 * never sees it) and, for writes, the CSRF header the server requires.
 */

export const CSRF_HEADER = 'x-switchyard-csrf';

/** One field-level error from a 400 problem (`errors[]`). */
export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem (or a network failure dressed as one), with words a person can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
/** Called when the server says the session is gone (401 on an admin call). */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

const changeListeners = new Set<Listener>();
/** Called after every successful write, so lists elsewhere (search, nav counts) can refresh. */
export function onChange(fn: Listener): () => void {
  changeListeners.add(fn);
  return () => changeListeners.delete(fn);
}

async function toError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object' && (body.detail || body.title)) {
    const errors = Array.isArray(body.errors) ? body.errors.filter((e: any) => e && typeof e.message === 'string') : [];
    return new ApiError(res.status, String(body.title ?? res.statusText), String(body.detail ?? body.title), errors);
  }
  // Not a problem document (a proxy's error page, say): say what happened without dumping it.
  return new ApiError(res.status, res.statusText || 'Error', `The server answered ${res.status} ${res.statusText || ''}`.trim() + ' without an explanation.');
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers[CSRF_HEADER] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'Network error', 'Could not reach the Switchyard server. Check that it is running, then try again.');
  }
  if (!res.ok) {
    const error = await toError(res);
    if (res.status === 401 && !path.startsWith('/api/auth/')) for (const fn of unauthorizedListeners) fn();
    throw error;
  }
  if (method !== 'GET') for (const fn of changeListeners) fn();
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, body),
  del: (path: string) => request<void>('DELETE', path),
};

/** `encodeURIComponent` for path segments. */
export const seg = (s: string) => encodeURIComponent(s);

export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---- shapes of the admin API (docs/admin-api.md) ----

export const FLAG_TYPES = ['release', 'experiment', 'operational', 'kill-switch', 'permission'] as const;
export type FlagType = (typeof FLAG_TYPES)[number];
export const ENVIRONMENT_TYPES = ['development', 'test', 'staging', 'production'] as const;
export type EnvironmentType = (typeof ENVIRONMENT_TYPES)[number];

export interface Session {
  name: string;
  createdAt: string;
  expiresAt: string;
}

export interface Project {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
}

export interface Environment {
  name: string;
  type: EnvironmentType;
  sortOrder: number;
  revision: number;
  createdAt: string;
}

export interface Constraint {
  contextName: string;
  operator: string;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}

export interface Payload {
  type: 'string' | 'json' | 'csv' | 'number';
  value: string;
}

export interface Variant {
  name: string;
  weight?: number;
  weightType?: 'variable' | 'fix';
  stickiness?: string;
  payload?: Payload;
  overrides?: { contextName: string; values: string[] }[];
}

export interface Strategy {
  id: string;
  name: string;
  title?: string;
  disabled: boolean;
  parameters: Record<string, string>;
  constraints: Constraint[];
  segments: number[];
  variants: Variant[];
  sortOrder: number;
}

export interface Dependency {
  feature: string;
  enabled: boolean;
  variants: string[];
}

export interface FlagEnvironment {
  name: string;
  type: EnvironmentType;
  enabled: boolean;
  strategies: Strategy[];
  variants: Variant[];
}

export interface Flag {
  name: string;
  project: string;
  type: string;
  description: string;
  owner: string | null;
  tags: string[];
  impressionData: boolean;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
  dependencies: Dependency[];
  environments: FlagEnvironment[];
}

export interface Segment {
  id: number;
  name: string;
  description: string | null;
  project: string | null;
  constraints: Constraint[];
  createdAt: string;
}

export interface AuditEvent {
  id: number;
  type: string;
  actor: string;
  project: string | null;
  environment: string | null;
  flag: string | null;
  before: unknown;
  after: unknown;
  createdAt: string;
}

export interface ApiToken {
  id: string;
  name: string;
  type: 'admin' | 'backend' | 'frontend';
  environment: string;
  projects: string[];
  createdAt: string;
  expiresAt: string | null;
  lastSeenAt: string | null;
}

export type Reason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

export interface PlaygroundFlag {
  name: string;
  project: string;
  type: string;
  enabled: boolean;
  variant: { name: string; enabled: boolean; payload?: Payload; feature_enabled: boolean };
  reason: Reason;
  strategy?: { index: number; id?: string; name: string; title?: string };
  environmentEnabled: boolean;
  dependencies?: string[];
}

export interface PlaygroundResult {
  context: Record<string, unknown>;
  environments: { name: string; type: EnvironmentType; revision: number; flags: PlaygroundFlag[] }[];
}
