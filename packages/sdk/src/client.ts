/**
 * SwitchyardClient: keeps a flag set in sync with a Switchyard (or Unleash) server and answers
 * flag questions from memory.
 *
 * - local mode (backend token): the whole flag set is held and evaluated by the engine in-process.
 *   Sync is stream first (`GET /api/client/streaming`, Server-Sent Events read through fetch),
 *   ETag polling of `GET /api/client/features` while the stream is down, exponential backoff with
 *   jitter for both, `Last-Event-ID` resume.
 * - remote mode (frontend token, browsers): the server evaluates for one context
 *   (`GET /api/frontend`, ETag); `changed` events on `GET /api/frontend/streaming` trigger a
 *   refetch, polling is the fallback.
 *
 * Whatever happens on the network, the last good flag set keeps answering; bad data is refused
 * (and the stream re-hydrated), and the client recovers by itself.
 */
import { applyDelta, compile, type ClientFeaturesPayload, type Context, type EvaluationDetail, type Variant } from '@switchyard/engine';
import { backoffDelay } from './backoff.js';
import { Emitter } from './emitter.js';
import {
  changedFlags,
  checkDeltaEvents,
  checkPayload,
  checkToggles,
  fingerprintPayload,
  fingerprintToggles,
  type Fingerprints,
  type FrontendToggle,
} from './flagset.js';
import { MalformedDataError, describeError, linkedAbort, retryAfterMs, unref, type FetchLike } from './http.js';
import { MetricsCollector, type MetricsBody } from './metrics.js';
import { cohortOf, currentOutcomeScope, type Outcome, type OutcomeRecorder } from './outcomes.js';
import { SseParser, type SseMessage } from './sse.js';
import { fileStorage, parseFlagSet, parseFlagSetText, type BackupStorage, type FileIO, type StoredFlagSet } from './storage.js';
import { SDK_NAME } from './version.js';

export type Mode = 'local' | 'remote';
export type Status = 'starting' | 'ready' | 'stale' | 'error' | 'closed';
export type Source = 'stream' | 'poll' | 'bootstrap' | 'backup';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type BootstrapData = ClientFeaturesPayload | { toggles: FrontendToggle[] } | { events: unknown[] };

export interface SwitchyardOptions {
  /** Server base URL, e.g. `http://127.0.0.1:4242` (a trailing `/api` is accepted). */
  url: string;
  /** Backend token (local mode) or frontend token (remote mode). */
  token: string;
  appName: string;
  instanceId?: string;
  /** Reported with metrics and used as the flag-set id; defaults to the token's environment. */
  environment?: string;
  /** `local` (default): evaluate in-process. `remote`: the server evaluates (frontend API). */
  mode?: Mode;
  /** A flag set to answer from before (or without) the server: data, or `{file}` (Node build). */
  bootstrap?: BootstrapData | { file: string };
  /** Path of the backup file (Node build): written after each new flag set, read on start when the server is unreachable. */
  backupFile?: string;
  /** Any other backup place (e.g. `localStorageBackup()` in browsers). */
  storage?: BackupStorage;
  /** Poll interval while the stream is down, or always with `streaming: false`. Default 15 s. */
  refreshIntervalMs?: number;
  /** Use the server's event stream (default true); polling is the fallback either way. */
  streaming?: boolean;
  /**
   * How often usage metrics (and cohort outcomes) are sent. Default 60 s. While a guarded rollout
   * is active the server asks for a shorter interval (`switchyard-settings` on the stream, the
   * `x-switchyard-metrics-interval-ms` header on metrics responses); the client then reports at
   * the shorter of the two.
   */
  metricsIntervalMs?: number;
  /** Send no metrics and no registration. */
  disableMetrics?: boolean;
  /**
   * Remote mode: ask for flags that are off too (`Switchyard-Include-Disabled: true`), so an
   * unknown flag answers FLAG_NOT_FOUND instead of looking off. Default true; set false against
   * servers that do not allow the header (Unleash, in browsers: CORS).
   */
  includeDisabled?: boolean;
  /** Context merged under every evaluation's context (remote mode: the context evaluated by the server). */
  context?: Context;
  /** A fetch implementation (default: the global one). */
  fetch?: FetchLike;
  logger?: Partial<Logger>;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Time limit of one request (and of opening the stream). Default 10 s. */
  requestTimeoutMs?: number;
  /** How long `ready()` waits by default. Default 15 s. */
  readyTimeoutMs?: number;
  /** The stream is dropped and reopened when nothing (not even a heartbeat) arrives for this long. Default 60 s. */
  streamReadTimeoutMs?: number;
  /** Stream reconnect backoff. Default 500 ms doubling to 30 s, half of it random. */
  reconnect?: { initialMs?: number; maxMs?: number; jitter?: number };
  /** File access for `backupFile` and `bootstrap: {file}` (injected by `@switchyard/sdk/node`). */
  io?: FileIO;
}

/** An error reported on the `error` event. `fatal` errors (refused token) stop the client's sync. */
export class SwitchyardError extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'http' | 'malformed' | 'auth' | 'storage' | 'metrics',
    readonly fatal = false,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SwitchyardError';
  }
}

export interface ImpressionEvent {
  eventType: 'isEnabled' | 'getVariant';
  featureName: string;
  enabled: boolean;
  variant?: string;
  context: Context;
}

export interface UpdateEvent {
  source: Source;
  changed: string[];
  revision?: number;
  etag?: string;
}

export interface ClientEvents {
  [event: string]: unknown;
  ready: void;
  /** Names of the flags whose configuration (or answers, in remote mode) changed. */
  changed: string[];
  error: SwitchyardError;
  impression: ImpressionEvent;
  /** Every new flag set, whatever its source. */
  update: UpdateEvent;
  /** The stream is down and polling fails: answers come from the last good set. */
  stale: { reason: string };
  /** Fresh again after `stale`. */
  recovered: void;
  /** Settings pushed by the server (`switchyard-settings`). */
  settings: { metricsIntervalMs?: number | null; refreshIntervalMs?: number };
}

export type ErrorCode = 'FLAG_NOT_FOUND' | 'TYPE_MISMATCH' | 'PARSE_ERROR' | 'PROVIDER_NOT_READY' | 'GENERAL';

/** A typed answer with why (OpenFeature's resolution details). */
export interface Resolution<T> {
  value: T;
  variant?: string;
  reason: EvaluationDetail['reason'];
  errorCode?: ErrorCode;
  errorMessage?: string;
  flagMetadata: Record<string, string | number | boolean>;
}

const DISABLED_VARIANT: Variant = Object.freeze({ name: 'disabled', enabled: false, feature_enabled: false, featureEnabled: false }) as Variant;
const REASONS = new Set(['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'DEFAULT', 'ERROR']);
const CLIENT_SPEC = '5.2.0';
const STABLE_CONNECTION_MS = 10_000;

type Timer = ReturnType<typeof setTimeout>;

/** The environment named by an Unleash token `<project>:<environment>.<secret>`. */
export function environmentOfToken(token: string): string | undefined {
  const m = /^[^:\s]*:([^.\s]+)\./.exec(token.replace(/^Bearer\s+/i, ''));
  return m ? m[1] : undefined;
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) {
    try {
      return c.randomUUID();
    } catch {
      // not a secure context
    }
  }
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

function mergeContext(base: Context | undefined, ctx: Context | undefined): Context {
  if (!ctx) return base ?? {};
  if (!base) return ctx;
  const merged: Context = { ...base, ...ctx };
  if (base.properties || ctx.properties) merged.properties = { ...base.properties, ...ctx.properties };
  return merged;
}

/** A context as frontend-API query parameters (`properties[x]=…` for properties). */
export function contextQuery(ctx: Context): string {
  const q = new URLSearchParams();
  const put = (k: string, v: unknown) => {
    if (v === undefined || v === null) return;
    if (v instanceof Date) q.set(k, v.toISOString());
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') q.set(k, String(v));
  };
  for (const [k, v] of Object.entries(ctx)) {
    if (k === 'properties') {
      for (const [pk, pv] of Object.entries((v ?? {}) as Record<string, unknown>)) put(`properties[${pk}]`, pv);
    } else {
      put(k, v);
    }
  }
  const keys = [...q.keys()].sort();
  const sorted = new URLSearchParams();
  for (const k of keys) sorted.set(k, q.get(k) as string);
  return sorted.toString();
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
  timer: Timer;
}

interface StreamState {
  connectedAt: number;
  up: boolean;
  /** Opened with Last-Event-ID: the server may send just what changed since. */
  resumed: boolean;
}

/** Response header of `POST /api/client/metrics`: the report interval the server asks for (absent: none). */
export const METRICS_INTERVAL_HEADER = 'x-switchyard-metrics-interval-ms';

export class SwitchyardClient extends Emitter<ClientEvents> implements OutcomeRecorder {
  readonly mode: Mode;
  readonly appName: string;
  readonly instanceId: string;
  readonly environment: string | undefined;
  readonly connectionId = randomId();

  private readonly opts: SwitchyardOptions;
  private readonly base: string;
  private readonly fetchImpl: FetchLike;
  private readonly log: Logger;
  private readonly storage: BackupStorage | undefined;
  private readonly refreshIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly reconnect: { initialMs: number; maxMs: number; jitter: number };
  /** The interval the app configured. */
  private readonly appMetricsIntervalMs: number;
  /** The interval the server asks for (guarded rollouts), if any. */
  private serverMetricsIntervalMs: number | undefined;
  /** The interval in force: the shorter of the two. */
  private metricsIntervalMs: number;
  private pollIntervalMs: number;
  private defaults: Context;
  private readonly baseDefaults: Context;

  private payload: ClientFeaturesPayload | undefined;
  private evaluator: (ReturnType<typeof compile>) | undefined;
  private toggles = new Map<string, FrontendToggle>();
  private fingerprints: Fingerprints | undefined;
  private etagValue: string | undefined;
  private etagContext: string | undefined;
  private revisionValue: number | undefined;
  private resumeId: string | undefined;
  private sourceValue: Source | undefined;

  private statusValue: Status = 'starting';
  private readyFlag = false;
  private fatalError: SwitchyardError | undefined;
  private readonly waiters = new Set<Waiter>();
  private lastError: string | undefined;

  private readonly closer = new AbortController();
  private closing: Promise<void> | undefined;
  private started = false;
  private streamUp = false;
  private streamFailures = 0;
  private streamTimer: Timer | undefined;
  private streamAbort: { abort(reason?: unknown): void } | undefined;
  private serverRetryMs: number | undefined;
  private pollTimer: Timer | undefined;
  private polling = false;
  private pollFailures = 0;
  private pollFailing = false;
  private refetchAgain = false;
  private refetchRetry: Timer | undefined;
  private refetching: Promise<void> | undefined;
  private backupTried = false;
  private pendingSave: StoredFlagSet | undefined;
  private saving: Promise<void> | undefined;

  private readonly metrics = new MetricsCollector();
  private metricsTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: SwitchyardOptions) {
    super();
    if (!options || typeof options.url !== 'string' || !options.url) throw new TypeError('SwitchyardClient: `url` is required');
    if (typeof options.token !== 'string' || !options.token) throw new TypeError('SwitchyardClient: `token` is required');
    if (typeof options.appName !== 'string' || !options.appName) throw new TypeError('SwitchyardClient: `appName` is required');
    this.opts = options;
    this.mode = options.mode ?? 'local';
    this.appName = options.appName;
    this.instanceId = options.instanceId ?? `${options.appName}-${randomId().slice(0, 8)}`;
    this.environment = options.environment ?? environmentOfToken(options.token);
    this.base = options.url.replace(/\/+$/, '').replace(/\/api$/, '');
    const f = options.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (!f) throw new TypeError('SwitchyardClient: no global fetch; pass `fetch`');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const noop = () => {};
    const console_ = (globalThis as { console?: Console }).console;
    this.log = {
      debug: options.logger?.debug?.bind(options.logger) ?? noop,
      info: options.logger?.info?.bind(options.logger) ?? noop,
      warn: options.logger?.warn?.bind(options.logger) ?? ((m: string) => console_?.warn(`[switchyard] ${m}`)),
      error: options.logger?.error?.bind(options.logger) ?? ((m: string) => console_?.error(`[switchyard] ${m}`)),
    };
    this.refreshIntervalMs = Math.max(50, options.refreshIntervalMs ?? 15_000);
    this.pollIntervalMs = this.refreshIntervalMs;
    this.appMetricsIntervalMs = this.metricsIntervalMs = Math.max(50, options.metricsIntervalMs ?? 60_000);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.reconnect = {
      initialMs: options.reconnect?.initialMs ?? 500,
      maxMs: options.reconnect?.maxMs ?? 30_000,
      jitter: options.reconnect?.jitter ?? 0.5,
    };
    this.baseDefaults = { appName: options.appName, ...(options.environment ? { environment: options.environment } : {}), ...options.context };
    this.defaults = this.baseDefaults;

    if (options.storage) this.storage = options.storage;
    else if (options.backupFile) {
      if (!options.io) throw new TypeError('SwitchyardClient: `backupFile` needs file access: import { SwitchyardClient } from "@switchyard/sdk/node"');
      this.storage = fileStorage(options.backupFile, options.io);
    }

    const boot = options.bootstrap;
    if (boot && !('file' in boot)) {
      // Bootstrap data answers at once; events are emitted when the client starts (next microtask).
      this.applySet(parseFlagSet(boot, 'bootstrap'), 'bootstrap', { silent: true });
    } else if (boot && 'file' in boot && !options.io) {
      throw new TypeError('SwitchyardClient: `bootstrap: {file}` needs file access: import { SwitchyardClient } from "@switchyard/sdk/node"');
    }
    queueMicrotask(() => this.start());
  }

  protected override onListenerError(err: unknown, event: string | number): void {
    this.log.warn(`a "${String(event)}" listener threw: ${describeError(err)}`);
  }

  // ─── state ──────────────────────────────────────────────────────────────────────────────

  get status(): Status {
    return this.statusValue;
  }

  /** Whether a flag set is loaded (from the server, bootstrap or backup). */
  get isReady(): boolean {
    return this.readyFlag;
  }

  /** The server revision of the current flag set, when known. */
  get revision(): number | undefined {
    return this.revisionValue;
  }

  get etag(): string | undefined {
    return this.etagValue;
  }

  /** Where the current flag set came from. */
  get source(): Source | undefined {
    return this.sourceValue;
  }

  /** OpenFeature flag-set id: the environment (or the app name when unknown). */
  get flagSetId(): string {
    return this.environment ?? this.appName;
  }

  /** OpenFeature flag-set version: the revision, or the ETag. */
  get flagSetVersion(): string | undefined {
    return this.revisionValue !== undefined ? String(this.revisionValue) : this.etagValue;
  }

  get flagMetadata(): Record<string, string> {
    const m: Record<string, string> = { flagSetId: this.flagSetId };
    const v = this.flagSetVersion;
    if (v !== undefined) m.flagSetVersion = v;
    return m;
  }

  /** How often metrics are sent now: the app's interval, or the server's shorter one during a guarded rollout. */
  get reportingIntervalMs(): number {
    return this.metricsIntervalMs;
  }

  /** The context merged under every evaluation. */
  get context(): Context {
    return this.defaults;
  }

  /** The current client-API payload (local mode). */
  getFlagSet(): ClientFeaturesPayload | undefined {
    return this.payload;
  }

  /** Names of the known flags (remote mode: the flags the server returned for the context). */
  flagNames(): string[] {
    return this.mode === 'local' ? (this.evaluator?.flagNames() ?? []) : [...this.toggles.keys()];
  }

  /**
   * Resolves once a flag set is loaded (server, bootstrap or backup). Rejects when the token is
   * refused, the client is closed, or nothing arrived within `timeoutMs` (default `readyTimeoutMs`).
   */
  ready(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.readyFlag) return Promise.resolve();
    if (this.fatalError) return Promise.reject(this.fatalError);
    if (this.statusValue === 'closed') return Promise.reject(new Error('SwitchyardClient: closed before it was ready'));
    const timeoutMs = opts.timeoutMs ?? this.opts.readyTimeoutMs ?? 15_000;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(
            new Error(
              `SwitchyardClient: no flag set within ${timeoutMs} ms from ${this.base}` +
                (this.lastError ? ` (last error: ${this.lastError})` : '') +
                '; the client keeps trying in the background',
            ),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private settleWaiters(err?: Error) {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      if (err) w.reject(err);
      else w.resolve();
    }
    this.waiters.clear();
  }

  // ─── evaluation ─────────────────────────────────────────────────────────────────────────

  private ctx(ctx: Context | undefined): Context {
    return mergeContext(this.defaults, ctx);
  }

  private impression(kind: ImpressionEvent['eventType'], name: string, enabled: boolean, variant: string | undefined, context: Context) {
    const e: ImpressionEvent = { eventType: kind, featureName: name, enabled, context };
    if (variant !== undefined) e.variant = variant;
    this.emit('impression', e);
  }

  /** Whether the flag is on for the context; `fallback` answers for unknown flags (default false). */
  isEnabled(name: string, context?: Context, fallback?: boolean | ((name: string, context: Context) => boolean)): boolean {
    const c = this.ctx(context);
    let on: boolean;
    let impression = false;
    let known = false;
    if (this.mode === 'local') {
      const ev = this.evaluator;
      if (ev === undefined || !ev.has(name)) on = typeof fallback === 'function' ? !!fallback(name, c) : !!fallback;
      else {
        on = ev.isEnabled(name, c);
        impression = ev.impressionData(name);
        known = true;
      }
    } else {
      const t = this.toggles.get(name);
      on = t ? t.enabled : typeof fallback === 'function' ? !!fallback(name, c) : !!fallback;
      impression = !!t?.impressionData;
      known = t !== undefined;
    }
    this.metrics.count(name, on);
    if (known) currentOutcomeScope()?.note(this, name, on ? 'on' : 'off');
    if (impression) this.impression('isEnabled', name, on, undefined, c);
    return on;
  }

  /** The flag's variant for the context (Unleash's shape); `{name: 'disabled', enabled: false}` when off or unknown. */
  getVariant(name: string, context?: Context): Variant {
    const c = this.ctx(context);
    let v: Variant;
    let impression = false;
    if (this.mode === 'local') {
      const ev = this.evaluator;
      if (ev === undefined) v = DISABLED_VARIANT;
      else {
        v = ev.getVariant(name, c);
        impression = ev.impressionData(name);
      }
    } else {
      const t = this.toggles.get(name);
      v = t ? { ...t.variant, feature_enabled: t.enabled, featureEnabled: t.enabled } : DISABLED_VARIANT;
      impression = !!t?.impressionData;
    }
    const enabled = v.feature_enabled ?? v.featureEnabled ?? false;
    this.metrics.countVariant(name, enabled, v.name);
    const scope = currentOutcomeScope();
    if (scope && this.knows(name)) scope.note(this, name, cohortOf(enabled, v));
    if (impression) this.impression('getVariant', name, enabled, v.name, c);
    return v;
  }

  /** Value, variant and reason (OpenFeature's STATIC / TARGETING_MATCH / SPLIT / DISABLED / DEFAULT / ERROR). */
  evaluate(name: string, context?: Context): EvaluationDetail {
    const c = this.ctx(context);
    const d = this.detail(name, c);
    this.metrics.countVariant(name, d.value, d.variant.name);
    if (d.reason !== 'ERROR') currentOutcomeScope()?.note(this, name, cohortOf(d.value, d.variant));
    if (d.impressionData) this.impression('getVariant', name, d.value, d.variant.name, c);
    return d;
  }

  private detail(name: string, c: Context): EvaluationDetail {
    if (this.mode === 'local') {
      if (this.evaluator === undefined) return { flag: name, value: false, variant: DISABLED_VARIANT, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' };
      return this.evaluator.evaluate(name, c);
    }
    const t = this.toggles.get(name);
    if (!t) {
      // With disabled flags included, absent means unknown; otherwise it means off (or unknown).
      if (this.opts.includeDisabled !== false) return { flag: name, value: false, variant: DISABLED_VARIANT, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' };
      return { flag: name, value: false, variant: DISABLED_VARIANT, reason: 'DISABLED' };
    }
    const reason = (t.reason && REASONS.has(t.reason) ? t.reason : t.enabled ? 'TARGETING_MATCH' : 'DISABLED') as EvaluationDetail['reason'];
    const d: EvaluationDetail = { flag: name, value: t.enabled, variant: { ...t.variant, feature_enabled: t.enabled }, reason };
    if (t.impressionData) d.impressionData = true;
    return d;
  }

  private notReady<T>(value: T): Resolution<T> | undefined {
    if (this.readyFlag) return undefined;
    return { value, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY', errorMessage: 'no flag set loaded yet', flagMetadata: this.flagMetadata };
  }

  /** Boolean resolution: whether the flag is on. */
  resolveBoolean(name: string, defaultValue: boolean, context?: Context): Resolution<boolean> {
    const nr = this.notReady(defaultValue);
    if (nr) return nr;
    const c = this.ctx(context);
    const d = this.detail(name, c);
    if (d.reason === 'ERROR') {
      this.metrics.count(name, defaultValue);
      return { value: defaultValue, reason: 'ERROR', errorCode: d.errorCode ?? 'GENERAL', errorMessage: `flag "${name}" not found`, flagMetadata: this.flagMetadata };
    }
    this.metrics.count(name, d.value);
    currentOutcomeScope()?.note(this, name, d.value ? 'on' : 'off');
    if (d.impressionData) this.impression('isEnabled', name, d.value, undefined, c);
    const r: Resolution<boolean> = { value: d.value, reason: d.reason, flagMetadata: this.flagMetadata };
    if (d.variant.enabled) r.variant = d.variant.name;
    return r;
  }

  private resolveTyped<T>(
    name: string,
    defaultValue: T,
    context: Context | undefined,
    convert: (payload: { type: string; value: string }) => { value: T } | { code: ErrorCode; message: string },
  ): Resolution<T> {
    const nr = this.notReady(defaultValue);
    if (nr) return nr;
    const c = this.ctx(context);
    const d = this.detail(name, c);
    this.metrics.countVariant(name, d.value, d.variant.name);
    if (d.reason !== 'ERROR') currentOutcomeScope()?.note(this, name, cohortOf(d.value, d.variant));
    if (d.impressionData) this.impression('getVariant', name, d.value, d.variant.name, c);
    const meta = this.flagMetadata;
    if (d.reason === 'ERROR') return { value: defaultValue, reason: 'ERROR', errorCode: d.errorCode ?? 'GENERAL', errorMessage: `flag "${name}" not found`, flagMetadata: meta };
    if (!d.value) return { value: defaultValue, reason: d.reason, flagMetadata: meta };
    const v = d.variant;
    if (!v.enabled || !v.payload) {
      const r: Resolution<T> = { value: defaultValue, reason: 'DEFAULT', flagMetadata: meta };
      if (v.enabled) r.variant = v.name;
      return r;
    }
    const out = convert(v.payload);
    if ('code' in out) return { value: defaultValue, variant: v.name, reason: 'ERROR', errorCode: out.code, errorMessage: `flag "${name}": ${out.message}`, flagMetadata: meta };
    return { value: out.value, variant: v.name, reason: d.reason, flagMetadata: meta };
  }

  /** String resolution: the variant payload's value. */
  resolveString(name: string, defaultValue: string, context?: Context): Resolution<string> {
    return this.resolveTyped<string>(name, defaultValue, context, (p) => ({ value: p.value }));
  }

  /** Number resolution: a `number` payload (or a string payload that is a number). */
  resolveNumber(name: string, defaultValue: number, context?: Context): Resolution<number> {
    return this.resolveTyped<number>(name, defaultValue, context, (p) => {
      const n = typeof p.value === 'string' && p.value.trim() !== '' ? Number(p.value) : NaN;
      if ((p.type === 'number' || p.type === 'string') && Number.isFinite(n)) return { value: n };
      return { code: 'TYPE_MISMATCH', message: `payload of type "${p.type}" is not a number` };
    });
  }

  /** JSON resolution: a `json` payload, parsed. */
  resolveJson<T = unknown>(name: string, defaultValue: T, context?: Context): Resolution<T> {
    return this.resolveTyped<T>(name, defaultValue, context, (p) => {
      if (p.type !== 'json') return { code: 'TYPE_MISMATCH', message: `payload of type "${p.type}" is not JSON` };
      try {
        return { value: JSON.parse(p.value) as T };
      } catch (err) {
        return { code: 'PARSE_ERROR', message: `payload is not valid JSON (${(err as Error).message})` };
      }
    });
  }

  getBoolean(name: string, defaultValue: boolean, context?: Context): boolean {
    return this.resolveBoolean(name, defaultValue, context).value;
  }

  getString(name: string, defaultValue: string, context?: Context): string {
    return this.resolveString(name, defaultValue, context).value;
  }

  getNumber(name: string, defaultValue: number, context?: Context): number {
    return this.resolveNumber(name, defaultValue, context).value;
  }

  getJson<T = unknown>(name: string, defaultValue: T, context?: Context): T {
    return this.resolveJson(name, defaultValue, context).value;
  }

  /** Records an outcome (sent with the next metrics report): an event, optionally tied to a flag and variant, with an optional value. */
  track(event: string, details: { flag?: string; variant?: string; value?: number } = {}): void {
    if (typeof event !== 'string' || !event) return;
    this.metrics.track(event, details);
  }

  /**
   * Records one request's outcome for a flag by hand (sent with the next metrics report): the
   * cohort is `variant` (a variant name, or `on` / `off`), else `enabled` (`on` / `off`). The
   * request middleware (`@switchyard/sdk/middleware`) does this for every flag evaluated while
   * serving a request.
   */
  recordOutcome(outcome: Outcome): void {
    if (!outcome || typeof outcome.flag !== 'string' || !outcome.flag) throw new TypeError('recordOutcome: `flag` is required');
    let cohort: string;
    if (typeof outcome.variant === 'string' && outcome.variant) cohort = outcome.variant;
    else if (typeof outcome.enabled === 'boolean') cohort = outcome.enabled ? 'on' : 'off';
    else throw new TypeError('recordOutcome: give the cohort as `variant` (a variant name, "on" or "off") or `enabled`');
    if (this.opts.disableMetrics) return;
    this.metrics.cohort(outcome.flag, cohort, !!outcome.error, outcome.latencyMs);
  }

  /** Whether the flag is in the current flag set (evaluations of unknown flags are not noted in outcome scopes). */
  private knows(name: string): boolean {
    return this.mode === 'local' ? !!this.evaluator?.has(name) : this.toggles.has(name);
  }

  /**
   * Changes the default context (`replace`: the constructor's context plus this one, instead of
   * merging into the current one). In remote mode the flags are fetched again for it (the promise
   * settles when they are); in local mode it only changes what evaluations merge under theirs.
   */
  async updateContext(context: Context, opts: { replace?: boolean } = {}): Promise<void> {
    this.defaults = mergeContext(opts.replace ? this.baseDefaults : this.defaults, context);
    if (this.mode === 'remote' && this.started && this.statusValue !== 'closed' && !this.fatalError) await this.refetch();
  }

  // ─── applying flag sets ─────────────────────────────────────────────────────────────────

  private applySet(
    set: StoredFlagSet,
    source: Source,
    opts: { silent?: boolean; etag?: string | null; revision?: number; resumeId?: string | undefined; etagContext?: string } = {},
  ): void {
    let changed: string[];
    if (this.mode === 'local') {
      if (!set.payload) throw new MalformedDataError(`${source}: a frontend-API flag set cannot be used in local mode`);
      const payload = set.payload;
      let evaluator: ReturnType<typeof compile>;
      try {
        evaluator = compile(payload);
      } catch (err) {
        throw new MalformedDataError(`${source}: the flag set does not compile (${describeError(err)})`);
      }
      const fps = fingerprintPayload(payload);
      changed = changedFlags(this.fingerprints, fps, payload);
      this.payload = payload;
      this.evaluator = evaluator;
      this.fingerprints = fps;
    } else {
      if (!set.toggles) throw new MalformedDataError(`${source}: a client-API flag set cannot be used in remote mode`);
      const fps = fingerprintToggles(set.toggles);
      changed = changedFlags(this.fingerprints, fps);
      this.toggles = new Map(set.toggles.map((t) => [t.name, t]));
      this.fingerprints = fps;
      this.etagContext = opts.etagContext;
    }
    const firstSet = !this.readyFlag;
    this.sourceValue = source;
    this.etagValue = opts.etag === null ? undefined : (opts.etag ?? set.etag);
    this.revisionValue = opts.revision ?? set.revision;
    if (source === 'stream') this.resumeId = opts.resumeId;
    else if (source === 'poll') this.resumeId = undefined;
    if (source === 'stream' || source === 'poll') this.scheduleSave();
    this.readyFlag = true;
    if (this.statusValue === 'starting') this.statusValue = 'ready';
    this.settleWaiters();
    if (opts.silent) return;
    this.emitApplied(source, firstSet, changed);
  }

  private emitApplied(source: Source, firstSet: boolean, changed: string[]) {
    const u: UpdateEvent = { source, changed };
    if (this.revisionValue !== undefined) u.revision = this.revisionValue;
    if (this.etagValue !== undefined) u.etag = this.etagValue;
    if (firstSet) this.emit('ready', undefined);
    else if (changed.length) this.emit('changed', changed);
    this.emit('update', u);
  }

  private currentStored(): StoredFlagSet {
    const s: StoredFlagSet = { savedAt: new Date().toISOString() };
    if (this.mode === 'local') s.payload = this.payload;
    else s.toggles = [...this.toggles.values()];
    if (this.etagValue !== undefined) s.etag = this.etagValue;
    if (this.revisionValue !== undefined) s.revision = this.revisionValue;
    return s;
  }

  private scheduleSave() {
    if (!this.storage) return;
    this.pendingSave = this.currentStored();
    if (this.saving) return;
    const storage = this.storage;
    this.saving = (async () => {
      while (this.pendingSave) {
        const s = this.pendingSave;
        this.pendingSave = undefined;
        try {
          await storage.save(s);
        } catch (err) {
          this.report(new SwitchyardError(`could not write the backup: ${describeError(err)}`, 'storage'));
        }
      }
    })().finally(() => {
      this.saving = undefined;
    });
  }

  /** Restores the backup (once, before any other set arrived) when the server is unreachable. */
  private async restoreBackup(): Promise<void> {
    if (this.readyFlag || this.backupTried || !this.storage) return;
    this.backupTried = true;
    try {
      const set = await this.storage.load();
      if (!set || this.readyFlag || this.statusValue === 'closed') return;
      this.applySet(set, 'backup');
      this.log.warn(`serving the backup flag set (saved ${set.savedAt ?? 'at an unknown time'}) until the server answers`);
      this.markStale('the server is unreachable; answering from the backup');
    } catch (err) {
      this.report(new SwitchyardError(`could not read the backup: ${describeError(err)}`, 'storage'));
    }
  }

  // ─── lifecycle ──────────────────────────────────────────────────────────────────────────

  private start() {
    if (this.started || this.statusValue === 'closed') return;
    this.started = true;
    if (this.readyFlag) this.emitApplied('bootstrap', true, []);
    const boot = this.opts.bootstrap;
    if (boot && 'file' in boot && this.opts.io) {
      const path = boot.file;
      this.opts.io
        .readText(path)
        .then((text) => {
          if (text === undefined) throw new Error('no such file');
          const set = parseFlagSetText(text, `bootstrap file ${path}`);
          // A server answer that came first wins.
          if (this.sourceValue === undefined || this.sourceValue === 'backup') this.applySet(set, 'bootstrap');
        })
        .catch((err) => this.report(new SwitchyardError(`could not read the bootstrap file ${path}: ${describeError(err)}`, 'storage')));
    }
    if (!this.opts.disableMetrics) {
      void this.register();
      this.startMetricsTimer();
    }
    if (this.mode === 'remote') {
      void this.refetch().catch(() => {});
      if (this.opts.streaming !== false) this.openStream();
      else this.schedulePoll(this.pollIntervalMs);
    } else if (this.opts.streaming !== false) this.openStream();
    else this.schedulePoll(0);
  }

  /** Stops streams and timers, sends the last metrics and waits for the backup write. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.statusValue = 'closed';
    this.closer.abort(new Error('client closed'));
    for (const t of [this.streamTimer, this.pollTimer, this.refetchRetry]) if (t) clearTimeout(t);
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    this.streamTimer = this.pollTimer = this.metricsTimer = this.refetchRetry = undefined;
    this.settleWaiters(new Error('SwitchyardClient: closed before it was ready'));
    this.closing = (async () => {
      if (!this.opts.disableMetrics && !this.fatalError) await this.flushMetrics();
      await this.saving;
    })();
    return this.closing;
  }

  private get closed(): boolean {
    return this.statusValue === 'closed';
  }

  private report(err: SwitchyardError) {
    this.lastError = err.message;
    this.emit('error', err);
  }

  private fail(err: SwitchyardError) {
    if (this.fatalError || this.closed) return;
    this.fatalError = err;
    this.statusValue = 'error';
    this.log.error(err.message);
    this.streamAbort?.abort(err);
    for (const t of [this.streamTimer, this.pollTimer]) if (t) clearTimeout(t);
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    this.streamTimer = this.pollTimer = this.metricsTimer = undefined;
    this.report(err);
    this.settleWaiters(err);
  }

  private markStale(reason: string) {
    if (this.statusValue !== 'ready') return;
    this.statusValue = 'stale';
    this.log.warn(`flags may be stale: ${reason}`);
    this.emit('stale', { reason });
  }

  private markFresh() {
    if (this.statusValue !== 'stale') return;
    this.statusValue = 'ready';
    this.log.info('flags are fresh again');
    this.emit('recovered', undefined);
  }

  // ─── HTTP ───────────────────────────────────────────────────────────────────────────────

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      authorization: this.opts.token,
      'unleash-appname': this.appName,
      'unleash-instanceid': this.instanceId,
      'unleash-sdk': SDK_NAME,
      'unleash-connection-id': this.connectionId,
      'unleash-client-spec': CLIENT_SPEC,
      ...this.opts.headers,
      ...extra,
    };
  }

  /** A request; cancelled by close() unless `signal` is null (the last metrics report). */
  private async request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}, signal: AbortSignal | null = this.closer.signal) {
    const ctl = linkedAbort(signal ?? undefined, this.requestTimeoutMs);
    try {
      const res = await this.fetchImpl(this.base + path, { method: init.method ?? 'GET', headers: this.headers(init.headers), body: init.body, signal: ctl.signal });
      const text = res.status === 204 || res.status === 304 ? '' : await res.text();
      return { status: res.status, ok: res.ok, headers: res.headers, text, retryAfterMs: retryAfterMs(res) };
    } finally {
      ctl.dispose();
    }
  }

  private httpFailure(status: number, what: string): SwitchyardError {
    if (status === 401 || status === 403) {
      return new SwitchyardError(
        `${what}: the server refused the token (HTTP ${status}); ${this.mode === 'local' ? 'local mode needs a backend token' : 'remote mode needs a frontend token'} for this environment`,
        'auth',
        true,
        status,
      );
    }
    return new SwitchyardError(`${what}: HTTP ${status}`, 'http', false, status);
  }

  // ─── polling ────────────────────────────────────────────────────────────────────────────

  private schedulePoll(delayMs: number) {
    if (this.closed || this.fatalError) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.pollOnce();
    }, delayMs);
    unref(this.pollTimer);
  }

  /** Starts polling (now) unless it is already going. */
  private ensurePolling() {
    if (this.pollTimer || this.polling) return;
    this.schedulePoll(0);
  }

  private async pollOnce() {
    if (this.closed || this.fatalError || this.polling) return;
    if (this.streamUp) return; // the stream delivers; no need to poll
    this.polling = true;
    try {
      if (this.mode === 'local') await this.fetchFeatures();
      else await this.refetch();
      this.pollFailures = 0;
      this.pollFailing = false;
      this.markFresh();
    } catch (err) {
      if (this.fatalError || this.closed) return;
      this.pollFailures++;
      this.pollFailing = true;
      if (!(err instanceof SwitchyardError)) this.report(new SwitchyardError(`polling failed: ${describeError(err)}`, 'network'));
      await this.restoreBackup();
      if (!this.streamUp) this.markStale(`polling fails (${this.lastError ?? describeError(err)})`);
    } finally {
      this.polling = false;
    }
    if (this.closed || this.fatalError || this.streamUp) return;
    const interval = this.pollIntervalMs;
    const delay = this.pollFailing
      ? Math.max(interval, backoffDelay(this.pollFailures - 1, { initialMs: interval, maxMs: interval * 10, jitter: 0.3 }))
      : interval;
    this.schedulePoll(delay);
  }

  /** `GET /api/client/features` with the ETag. */
  private async fetchFeatures(): Promise<void> {
    const what = 'GET /api/client/features';
    const got = await this.conditionalGet(what, '/api/client/features', this.etagValue && this.sourceValue === 'poll' ? { 'if-none-match': this.etagValue } : {}, false);
    if (!got) return;
    this.applyFetched(() => {
      const payload = checkPayload(got.data, what);
      const meta = (payload as { meta?: { revisionId?: unknown } }).meta;
      this.applySet({ payload }, 'poll', { etag: got.etag, revision: typeof meta?.revisionId === 'number' ? meta.revisionId : undefined });
    });
  }

  /**
   * A GET with conditional headers: null on 304, the parsed JSON on 200. A network failure or any
   * other status is reported (a fatal one stops the client), restores the backup when asked
   * (remote mode), and is thrown.
   */
  private async conditionalGet(what: string, path: string, headers: Record<string, string>, restoreBackup: boolean): Promise<{ data: unknown; etag: string | null } | null> {
    let res;
    try {
      res = await this.request(path, { headers });
    } catch (err) {
      const e = new SwitchyardError(`${what}: ${describeError(err)}`, 'network');
      this.report(e);
      if (restoreBackup) await this.restoreBackup();
      throw e;
    }
    if (res.status === 304) return null;
    if (res.status !== 200) {
      const e = this.httpFailure(res.status, what);
      if (e.fatal) this.fail(e);
      else this.report(e);
      if (restoreBackup) await this.restoreBackup();
      throw e;
    }
    let data: unknown;
    this.applyFetched(() => {
      try {
        data = JSON.parse(res.text);
      } catch {
        throw new MalformedDataError(`${what}: the answer is not valid JSON`);
      }
    });
    return { data, etag: res.headers.get('etag') };
  }

  /** Runs `apply` on fetched data; whatever it throws is reported as malformed data and thrown. */
  private applyFetched(apply: () => void): void {
    try {
      apply();
    } catch (err) {
      const e = new SwitchyardError(describeError(err), 'malformed');
      this.report(e);
      throw e;
    }
  }

  /** Remote mode: `GET /api/frontend` for the current context (coalesced: one request at a time, one more if asked meanwhile). */
  private refetch(): Promise<void> {
    if (this.refetching) {
      this.refetchAgain = true;
      return this.refetching;
    }
    const run = async () => {
      do {
        this.refetchAgain = false;
        await this.fetchToggles();
      } while (this.refetchAgain && !this.closed);
    };
    this.refetching = run().finally(() => {
      this.refetching = undefined;
    });
    return this.refetching;
  }

  /** Refetches (remote mode) and, while the stream is up and the fetch fails, tries again after a while. */
  private refetchSoon() {
    if (this.refetchRetry) clearTimeout(this.refetchRetry);
    this.refetchRetry = undefined;
    void this.refetch().catch(() => {
      if (this.closed || this.fatalError || !this.streamUp) return; // polling takes over when the stream is down
      this.refetchRetry = setTimeout(() => this.refetchSoon(), Math.min(this.pollIntervalMs, 5_000));
      unref(this.refetchRetry);
    });
  }

  private async fetchToggles(): Promise<void> {
    const query = contextQuery(this.defaults);
    const what = 'GET /api/frontend';
    const headers: Record<string, string> = {};
    if (this.etagValue && this.etagContext === query) headers['if-none-match'] = this.etagValue;
    if (this.opts.includeDisabled !== false) headers['switchyard-include-disabled'] = 'true';
    const got = await this.conditionalGet(what, `/api/frontend${query ? `?${query}` : ''}`, headers, true);
    if (!got) return;
    this.applyFetched(() => this.applySet({ toggles: checkToggles(got.data, what) }, 'poll', { etag: got.etag, etagContext: query }));
  }

  // ─── streaming ──────────────────────────────────────────────────────────────────────────

  private scheduleStream(delayMs: number) {
    if (this.closed || this.fatalError) return;
    if (this.streamTimer) clearTimeout(this.streamTimer);
    this.streamTimer = setTimeout(() => {
      this.streamTimer = undefined;
      this.openStream();
    }, delayMs);
    unref(this.streamTimer);
  }

  private openStream() {
    void this.runStream().catch((err) => this.log.error(`stream loop failed: ${describeError(err)}`));
  }

  /** One stream connection, from request to end; then schedules the next one. */
  private async runStream(): Promise<void> {
    if (this.closed || this.fatalError) return;
    const path = this.mode === 'local' ? '/api/client/streaming' : '/api/frontend/streaming';
    const what = `GET ${path}`;
    const ctl = linkedAbort(this.closer.signal, this.requestTimeoutMs);
    this.streamAbort = ctl;
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
    const resumed = this.mode === 'local' && this.resumeId !== undefined && this.payload !== undefined;
    if (resumed) headers['last-event-id'] = this.resumeId as string;
    const state: StreamState = { connectedAt: 0, up: false, resumed };
    let failure: { error: SwitchyardError; minDelayMs?: number; rehydrate?: boolean } | undefined;
    try {
      let res: Response;
      try {
        res = await this.fetchImpl(this.base + path, { headers: this.headers(headers), signal: ctl.signal });
      } catch (err) {
        throw new SwitchyardError(`${what}: ${describeError(err)}`, 'network');
      }
      if (res.status !== 200 || !res.body) {
        void res.body?.cancel().catch(() => {});
        const e = this.httpFailure(res.status, what);
        if (e.fatal) throw e;
        if (res.status === 429) {
          // Too many streams on this server: poll for a while, then try again.
          failure = { error: new SwitchyardError(`${what}: HTTP 429 (the server's stream limit); polling instead`, 'http', false, 429), minDelayMs: retryAfterMs(res) ?? Math.min(this.reconnect.maxMs, Math.max(this.pollIntervalMs, 5_000)) };
        } else if (res.status === 404 || res.status === 405 || res.status === 501) {
          failure = { error: new SwitchyardError(`${what}: HTTP ${res.status} (no streaming on this server); polling instead`, 'http', false, res.status), minDelayMs: this.reconnect.maxMs };
        } else {
          failure = { error: e, minDelayMs: retryAfterMs(res) };
        }
        return;
      }
      ctl.clearTimeout();
      if (this.mode === 'remote') {
        // The frontend stream only says "something changed": fetch once now for what was missed.
        this.streamConnected(state);
        this.refetchSoon();
      }
      const parser = new SseParser({
        onEvent: (m) => this.onStreamEvent(m, state),
        onRetry: (ms) => {
          this.serverRetryMs = ms;
        },
      });
      const readTimeoutMs = this.opts.streamReadTimeoutMs ?? 60_000;
      const reader = res.body.getReader();
      let idle: Timer | undefined;
      const arm = () => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => ctl.abort(new Error(`no data (not even a heartbeat) for ${readTimeoutMs} ms`)), readTimeoutMs);
        unref(idle);
      };
      try {
        arm();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          arm();
          parser.feed(value);
          if (this.closed || this.fatalError) return;
        }
        const truncated = parser.end();
        failure = {
          error: new SwitchyardError(`${what}: the server closed the stream${truncated ? ' in the middle of an event' : ''}`, 'network'),
          rehydrate: truncated,
        };
      } catch (err) {
        if (this.closed || this.fatalError) return;
        if (err instanceof MalformedDataError) {
          failure = { error: new SwitchyardError(`${what}: ${err.message}; keeping the last good flag set and re-hydrating`, 'malformed'), rehydrate: true };
        } else if (err instanceof SwitchyardError) {
          throw err;
        } else {
          const reason = ctl.signal.aborted ? ctl.signal.reason : err;
          // Cut off inside an event: what came before it may be incomplete too, so start over.
          const truncated = parser.pending;
          failure = { error: new SwitchyardError(`${what}: ${describeError(reason)}${truncated ? ' (in the middle of an event)' : ''}`, 'network'), rehydrate: truncated };
        }
      } finally {
        if (idle) clearTimeout(idle);
        ctl.abort(new Error('stream finished'));
        void reader.cancel().catch(() => {});
      }
    } catch (err) {
      if (this.closed) return;
      if (err instanceof SwitchyardError && err.fatal) {
        this.fail(err);
        return;
      }
      failure = { error: err instanceof SwitchyardError ? err : new SwitchyardError(`${what}: ${describeError(err)}`, 'network') };
    } finally {
      ctl.dispose();
      if (this.streamAbort === ctl) this.streamAbort = undefined;
      if (failure && !this.closed && !this.fatalError) this.streamFailed(state, failure.error, failure.minDelayMs, failure.rehydrate);
    }
  }

  private streamConnected(state: StreamState) {
    if (state.up) return;
    state.up = true;
    state.connectedAt = Date.now();
    this.streamUp = true;
    this.pollFailing = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.markFresh();
  }

  private streamFailed(state: StreamState, error: SwitchyardError, minDelayMs?: number, rehydrate?: boolean) {
    const wasUp = this.streamUp;
    this.streamUp = false;
    if (rehydrate) this.resumeId = undefined;
    if (state.up && Date.now() - state.connectedAt >= STABLE_CONNECTION_MS) this.streamFailures = 0;
    const delay = Math.max(
      minDelayMs ?? 0,
      backoffDelay(this.streamFailures, { initialMs: this.serverRetryMs ?? this.reconnect.initialMs, maxMs: this.reconnect.maxMs, jitter: this.reconnect.jitter }),
    );
    this.streamFailures++;
    if (wasUp) this.log.warn(`${error.message}; reconnecting in ${delay} ms, polling meanwhile`);
    else this.log.debug(`${error.message}; next stream attempt in ${delay} ms`);
    this.report(error);
    if (!this.readyFlag) void this.restoreBackup();
    this.ensurePolling();
    this.scheduleStream(delay);
  }

  /** Handles one stream event; throws MalformedDataError to drop the connection (the last good set stays). */
  private onStreamEvent(m: SseMessage, state: StreamState) {
    switch (m.event) {
      case 'unleash-connected':
      case 'unleash-updated': {
        if (this.mode !== 'local') return;
        let body: unknown;
        try {
          body = JSON.parse(m.data);
        } catch {
          throw new MalformedDataError(`"${m.event}" data is not valid JSON`);
        }
        const events = checkDeltaEvents(body, `"${m.event}"`);
        const hydration = events.some((e) => e.type === 'hydration');
        // Changes apply only on top of this stream's own state: after its hydration, or when resuming.
        if (!hydration && (this.payload === undefined || !(state.up || state.resumed))) {
          throw new MalformedDataError(`"${m.event}" brought changes before the hydration`);
        }
        const before = this.payload;
        const next = applyDelta(before, events);
        let revision: number | undefined;
        for (const e of events) if (typeof e.eventId === 'number' && (revision === undefined || e.eventId > revision)) revision = e.eventId;
        if (revision === undefined && /^\d+$/.test(m.id)) revision = Number(m.id);
        if (!hydration && events.length === 0) {
          this.resumeId = m.id || this.resumeId;
          this.streamConnected(state);
          return;
        }
        this.applySet({ payload: next }, 'stream', { revision: revision ?? this.revisionValue, resumeId: m.id || undefined, etag: null });
        this.streamConnected(state);
        return;
      }
      case 'changed': {
        if (this.mode !== 'remote') return;
        this.refetchSoon();
        return;
      }
      case 'switchyard-settings': {
        let s: unknown;
        try {
          s = JSON.parse(m.data);
        } catch {
          this.log.warn('ignored "switchyard-settings": not valid JSON');
          return;
        }
        this.applySettings(s);
        return;
      }
      case 'fetch-mode': {
        if (m.data.trim() === 'polling') throw new SwitchyardError('the server asked for polling instead of streaming', 'http');
        return;
      }
      default:
        return;
    }
  }

  private applySettings(s: unknown) {
    if (typeof s !== 'object' || s === null) return;
    const o = s as Record<string, unknown>;
    const out: ClientEvents['settings'] = {};
    if (typeof o.metricsIntervalMs === 'number' && Number.isFinite(o.metricsIntervalMs) && o.metricsIntervalMs >= 100) {
      out.metricsIntervalMs = o.metricsIntervalMs;
      this.setServerMetricsInterval(o.metricsIntervalMs);
    } else if (o.metricsIntervalMs === null) {
      // The server no longer asks for a shorter interval (the guarded rollout ended).
      out.metricsIntervalMs = null;
      this.setServerMetricsInterval(undefined);
    }
    if (typeof o.refreshIntervalMs === 'number' && Number.isFinite(o.refreshIntervalMs) && o.refreshIntervalMs >= 100) {
      out.refreshIntervalMs = o.refreshIntervalMs;
      this.pollIntervalMs = o.refreshIntervalMs;
    }
    this.emit('settings', out);
  }

  // ─── metrics ────────────────────────────────────────────────────────────────────────────

  /** The server's requested interval (or none): the client reports at min(app's, server's). */
  private setServerMetricsInterval(ms: number | undefined) {
    this.serverMetricsIntervalMs = ms;
    const next = ms === undefined ? this.appMetricsIntervalMs : Math.min(this.appMetricsIntervalMs, ms);
    if (next === this.metricsIntervalMs) return;
    this.log.debug(`metrics interval now ${next} ms${ms === undefined ? '' : ' (asked by the server)'}`);
    this.metricsIntervalMs = next;
    if (this.metricsTimer) this.startMetricsTimer();
  }

  /**
   * Reads the interval header of a metrics response (Switchyard servers send it while a guarded
   * plan is active). While the stream is up, the stream's `switchyard-settings` are authoritative
   * and a missing header changes nothing; while polling, a missing header means "no request".
   */
  private metricsIntervalFromHeader(headers: Headers) {
    const raw = headers.get(METRICS_INTERVAL_HEADER);
    const n = raw === null || raw.trim() === '' ? NaN : Number(raw);
    const ms = Number.isFinite(n) && n >= 100 ? n : undefined;
    if (ms === undefined && this.streamUp) return;
    if (ms === this.serverMetricsIntervalMs) return;
    this.setServerMetricsInterval(ms);
    this.emit('settings', { metricsIntervalMs: ms ?? null });
  }

  private startMetricsTimer() {
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    this.metricsTimer = setInterval(() => void this.flushMetrics(), this.metricsIntervalMs);
    unref(this.metricsTimer);
  }

  private get metricsPrefix(): string {
    return this.mode === 'local' ? '/api/client' : '/api/frontend/client';
  }

  private async register(): Promise<void> {
    const body = {
      appName: this.appName,
      instanceId: this.instanceId,
      connectionId: this.connectionId,
      sdkVersion: SDK_NAME,
      environment: this.environment,
      strategies: ['default', 'userWithId', 'gradualRolloutUserId', 'gradualRolloutSessionId', 'gradualRolloutRandom', 'remoteAddress', 'applicationHostname', 'flexibleRollout'],
      started: new Date().toISOString(),
      interval: this.metricsIntervalMs,
    };
    try {
      const res = await this.request(`${this.metricsPrefix}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) this.log.debug(`registration answered HTTP ${res.status}`);
    } catch (err) {
      this.log.debug(`registration failed: ${describeError(err)}`);
    }
  }

  /** The metrics body that the next report would send (without taking it). For tests and debugging. */
  pendingMetrics(): MetricsBody | null {
    const bucket = this.metrics.take();
    if (!bucket) return null;
    this.metrics.restore(bucket);
    return this.metricsBody(bucket);
  }

  private metricsBody(bucket: NonNullable<ReturnType<MetricsCollector['take']>>): MetricsBody {
    const body: MetricsBody = { appName: this.appName, instanceId: this.instanceId, connectionId: this.connectionId, sdkVersion: SDK_NAME, bucket };
    if (this.environment) body.environment = this.environment;
    return body;
  }

  /** Sends the counts collected so far (`POST /api/client/metrics`); counts that could not be sent go with the next report. */
  async flushMetrics(): Promise<void> {
    if (this.opts.disableMetrics || this.fatalError) return;
    const bucket = this.metrics.take();
    if (!bucket) return;
    try {
      const res = await this.request(
        `${this.metricsPrefix}/metrics`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(this.metricsBody(bucket)) },
        null,
      );
      if (res.ok) {
        if (!this.closed) this.metricsIntervalFromHeader(res.headers);
        return;
      }
      if (res.status === 429 || res.status >= 500) this.metrics.restore(bucket);
      this.report(new SwitchyardError(`POST ${this.metricsPrefix}/metrics: HTTP ${res.status}`, 'metrics', false, res.status));
    } catch (err) {
      this.metrics.restore(bucket);
      this.report(new SwitchyardError(`POST ${this.metricsPrefix}/metrics: ${describeError(err)}`, 'metrics'));
    }
  }
}
