import { randomUUID } from 'node:crypto';
import type { Services } from '../services.js';
import type { RevisionChange } from '../events/changes.js';
import { signalsDb } from './tables.js';

/** The metrics interval asked of SDKs while a flag of their environment is guarded (a guarded plan is active). */
export const GUARDED_METRICS_INTERVAL_MS = 5_000;

/** A flag under guard in an environment: its cohort outcomes are stored, and SDKs report every `metricsIntervalMs`. */
export interface GuardedFlag {
  /** A flag, or `*` for every flag of the environment. */
  flag: string;
  /** Default {@link GUARDED_METRICS_INTERVAL_MS}; clamped to [1 s, 60 s]. */
  metricsIntervalMs?: number;
}

/** A guard with its environment (see {@link Signals.setGuards}). */
export interface Guard extends GuardedFlag {
  environment: string;
}

/** Every flag of an environment (an environment-wide guard). */
export const ALL_FLAGS = '*';

/**
 * An optional extra answer to "which flags of this environment have an active guarded plan?",
 * asked on every replica (at most about once a second per environment, and on stream updates).
 */
export type GuardSource = (environment: string) => Iterable<GuardedFlag> | Promise<Iterable<GuardedFlag>>;

/** A firing alert that names a flag: stop that flag's active plan (in `environment`, or in every environment when null). */
export interface FlagAlert {
  /** Row id in `signal_alerts` (pass it to markAlertHandled). */
  id: number;
  source: 'alertmanager';
  flag: string;
  /** From the alert's `switchyard_environment` / `environment` label, the webhook's `?environment=`, or the signal token's environment; null: every environment. */
  environment: string | null;
  alertname: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string | null;
  fingerprint: string | null;
  generatorURL: string | null;
  receivedAt: string;
}

export type AlertHandler = (alert: FlagAlert) => void | Promise<void>;

export interface SignalsOptions {
  /**
   * Which cohort outcomes are stored: `guarded` (default) only those of flags under guard in the
   * reporting environment — the only ones the guardian reads —, `all` every known flag's.
   */
  storeOutcomes: 'guarded' | 'all';
  /** Cohort outcome rows older than this are pruned (default 7 days). */
  outcomeRetentionMs: number;
  /** Alerts older than this are pruned (default 30 days). */
  alertRetentionMs: number;
  /** At most one prune per this long per process, run after a write (default 10 min). */
  pruneEveryMs: number;
  /** How long an environment's guard list is reused before it is read again (default 1 s). */
  guardCacheMs: number;
  /** Guards written by this process expire this long after their last renewal (default 30 s; renewed every third of it). */
  guardTtlMs: number;
  /**
   * How often environments recently asked about are re-read to notice guards written by other
   * replicas, so their open streams get new settings (default 2 s; 0: never).
   */
  guardPollMs: number;
}

export const DEFAULT_SIGNALS_OPTIONS: SignalsOptions = {
  storeOutcomes: 'guarded',
  outcomeRetentionMs: 7 * 24 * 3600_000,
  alertRetentionMs: 30 * 24 * 3600_000,
  pruneEveryMs: 10 * 60_000,
  guardCacheMs: 1_000,
  guardTtlMs: 30_000,
  guardPollMs: 2_000,
};

const clampInterval = (ms: number | undefined) => {
  const v = typeof ms === 'number' && Number.isFinite(ms) ? ms : GUARDED_METRICS_INTERVAL_MS;
  return Math.round(Math.min(60_000, Math.max(1_000, v)));
};

/**
 * Signals for guarded rollouts, one per server (`signalsFor(services)`):
 *
 * - **Guards**: which flags (or whole environments) have an active guarded plan. They decide which
 *   cohort outcomes are stored and the metrics interval asked of SDKs
 *   ({@link requestedMetricsInterval}). Fed by the releases runner with {@link set} (its
 *   `MetricsIntervalRegistry`: environment-wide) or {@link setGuards} / {@link guard} (per flag).
 *   Guards are written to `signal_guards` so every replica sees them (renewed while the process
 *   lives, expiring {@link SignalsOptions.guardTtlMs} after it stops), and open `@switchyard/sdk`
 *   streams get new `switchyard-settings` when they change.
 * - **Alerts**: {@link onAlert} handlers hear every firing alert that names a known flag, after it
 *   was stored in `signal_alerts` (so a runner that was down can read it later).
 */
export class Signals {
  readonly options: SignalsOptions;
  /** Where failures of sources, handlers and guard writes go (the routes plugin points this at the server log). */
  onError: (err: unknown, what: string) => void = () => {};
  /** This process's id in `signal_guards`. */
  readonly owner = randomUUID();

  private primarySource: GuardSource | undefined;
  private readonly sources = new Set<GuardSource>();
  /** requester → its guards (environment → flag → interval). */
  private readonly requests = new Map<string, Map<string, Map<string, number>>>();
  private readonly cache = new Map<string, { at: number; value: Map<string, number>; pending?: Promise<Map<string, number>> }>();
  private readonly lastGood = new WeakMap<GuardSource, Map<string, Map<string, number>>>();
  /** Environments asked about recently → when; polled for other replicas' guard changes. */
  private readonly watched = new Map<string, number>();
  private readonly alertHandlers = new Set<AlertHandler>();
  private readonly guardListeners = new Set<(environment: string | undefined) => void>();
  private lastPrune = 0;
  private writing: Promise<void> = Promise.resolve();
  private renewTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly services: Services,
    options: Partial<SignalsOptions> = {},
  ) {
    this.options = { ...DEFAULT_SIGNALS_OPTIONS, ...defined(options) };
    services.changes.on('revision', (changes: RevisionChange[]) => {
      for (const c of changes) this.cache.delete(c.environment);
    });
  }

  configure(options: Partial<SignalsOptions>): void {
    Object.assign(this.options, defined(options));
    if (options.guardPollMs !== undefined && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
      this.startPolling();
    }
  }

  /** Stops timers (server shutdown). Guards written by this process expire by themselves. */
  close(): void {
    this.closed = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.renewTimer = this.pollTimer = undefined;
  }

  // ─── guards ──────────────────────────────────────────────────────────────────────────────

  /**
   * The releases runner's `MetricsIntervalRegistry`: the environments that have a running guarded
   * plan now, with the interval to ask for — replaces what `requester` asked before. An
   * environment-wide guard: every flag's cohort outcomes in it are stored.
   */
  set(requester: string, environments: Map<string, number>): void {
    this.setGuards(requester, [...environments].map(([environment, ms]) => ({ environment, flag: ALL_FLAGS, metricsIntervalMs: ms })));
  }

  /** Replaces the guards of `requester` (per flag, or `*`). An empty list removes them. */
  setGuards(requester: string, guards: Iterable<Guard>): void {
    const next = new Map<string, Map<string, number>>();
    for (const g of guards) {
      if (!g || typeof g.environment !== 'string' || !g.environment || typeof g.flag !== 'string' || !g.flag) continue;
      let m = next.get(g.environment);
      if (!m) next.set(g.environment, (m = new Map()));
      const ms = clampInterval(g.metricsIntervalMs);
      m.set(g.flag, Math.min(ms, m.get(g.flag) ?? Infinity));
    }
    const before = this.requests.get(requester) ?? new Map<string, Map<string, number>>();
    const changed = new Set<string>();
    for (const env of new Set([...before.keys(), ...next.keys()])) if (!sameGuards(before.get(env), next.get(env))) changed.add(env);
    if (next.size) this.requests.set(requester, next);
    else this.requests.delete(requester);
    if (changed.size === 0) return;
    this.persist(requester, next);
    this.ensureRenewal();
    for (const env of changed) this.guardsChanged(env);
  }

  /** Puts one flag under guard (requester `local`); see {@link setGuards}. */
  guard(environment: string, flag: string, opts: { metricsIntervalMs?: number; requester?: string } = {}): void {
    const requester = opts.requester ?? 'local';
    this.setGuards(requester, [...this.guardsOf(requester).filter((g) => !(g.environment === environment && g.flag === flag)), { environment, flag, metricsIntervalMs: opts.metricsIntervalMs }]);
  }

  unguard(environment: string, flag: string, opts: { requester?: string } = {}): void {
    const requester = opts.requester ?? 'local';
    this.setGuards(requester, this.guardsOf(requester).filter((g) => !(g.environment === environment && g.flag === flag)));
  }

  private guardsOf(requester: string): Guard[] {
    const out: Guard[] = [];
    for (const [environment, flags] of this.requests.get(requester) ?? []) for (const [flag, ms] of flags) out.push({ environment, flag, metricsIntervalMs: ms });
    return out;
  }

  /** Sets (or clears) the main guard source (the releases service's: it reads the plans table). */
  setGuardSource(source: GuardSource | undefined): void {
    if (this.primarySource) this.sources.delete(this.primarySource);
    this.primarySource = source;
    if (source) this.sources.add(source);
    this.guardsChanged();
  }

  /** Adds another guard source; returns a function that removes it. */
  addGuardSource(source: GuardSource): () => void {
    this.sources.add(source);
    this.guardsChanged();
    return () => {
      if (this.sources.delete(source)) this.guardsChanged();
    };
  }

  /** Says that guards may have changed (environment, or all): caches are dropped and open streams updated. */
  guardsChanged(environment?: string): void {
    if (environment === undefined) this.cache.clear();
    else this.cache.delete(environment);
    for (const l of this.guardListeners) {
      try {
        l(environment);
      } catch (err) {
        this.onError(err, 'guards-changed listener');
      }
    }
  }

  /** Called with the environment (undefined: all) whenever its guards may have changed. */
  onGuardsChanged(listener: (environment: string | undefined) => void): () => void {
    this.guardListeners.add(listener);
    this.startPolling();
    return () => this.guardListeners.delete(listener);
  }

  /**
   * Guarded flags of an environment → metrics interval asked for them (`*`: every flag): this
   * process's guards, every replica's (`signal_guards`), and the guard source's. Cached for
   * `guardCacheMs`; `fresh` reads anew.
   */
  async guardedFlags(environment: string, opts: { fresh?: boolean } = {}): Promise<Map<string, number>> {
    this.watched.set(environment, Date.now());
    const cached = this.cache.get(environment);
    if (!opts.fresh && cached && !cached.pending && Date.now() - cached.at < this.options.guardCacheMs) return cached.value;
    if (!opts.fresh && cached?.pending) return cached.pending;
    const pending = this.load(environment);
    if (!opts.fresh) this.cache.set(environment, { at: cached?.at ?? 0, value: cached?.value ?? new Map(), pending });
    try {
      const value = await pending;
      this.cache.set(environment, { at: Date.now(), value });
      return value;
    } catch (err) {
      this.cache.delete(environment);
      throw err;
    }
  }

  private async load(environment: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const add = (flag: string, ms: number) => out.set(flag, Math.min(ms, out.get(flag) ?? Infinity));
    for (const byEnv of this.requests.values()) for (const [flag, ms] of byEnv.get(environment) ?? []) add(flag, ms);
    try {
      const rows = await signalsDb(this.services.storage.db)
        .selectFrom('signal_guards')
        .select(['flag', 'interval_ms'])
        .where('environment', '=', environment)
        // This process's own guards are the in-memory ones above (its rows may lag behind).
        .where('owner', '!=', this.owner)
        .where('expires_at', '>', new Date().toISOString())
        .execute();
      for (const r of rows) add(r.flag, Number(r.interval_ms));
    } catch (err) {
      this.onError(err, 'reading guards');
    }
    await Promise.all(
      [...this.sources].map(async (source) => {
        let byEnv = this.lastGood.get(source);
        if (!byEnv) this.lastGood.set(source, (byEnv = new Map()));
        try {
          const fromSource = new Map<string, number>();
          for (const g of await source(environment)) {
            if (g && typeof g.flag === 'string' && g.flag) fromSource.set(g.flag, clampInterval(g.metricsIntervalMs));
          }
          byEnv.set(environment, fromSource);
        } catch (err) {
          // Keep the source's last answer: a database hiccup must not end a guard.
          this.onError(err, 'guard source');
        }
        for (const [flag, ms] of byEnv.get(environment) ?? []) add(flag, ms);
      }),
    );
    return out;
  }

  /**
   * The metrics interval the server asks of SDKs in this environment: the shortest interval of
   * its guards, or undefined when nothing is guarded (SDKs then keep their own interval).
   */
  async requestedMetricsInterval(environment: string, opts: { fresh?: boolean } = {}): Promise<number | undefined> {
    const flags = await this.guardedFlags(environment, opts);
    let min: number | undefined;
    for (const ms of flags.values()) if (min === undefined || ms < min) min = ms;
    return min;
  }

  /** Writes this process's guards of `requester` (serialised; failures are reported and retried at the next renewal). */
  private persist(requester: string, guards: Map<string, Map<string, number>>): Promise<void> {
    const expires = new Date(Date.now() + this.options.guardTtlMs).toISOString();
    const rows: Array<{ owner: string; requester: string; environment: string; flag: string; interval_ms: number; expires_at: string }> = [];
    for (const [environment, flags] of guards) for (const [flag, ms] of flags) rows.push({ owner: this.owner, requester, environment, flag, interval_ms: ms, expires_at: expires });
    const write = async () => {
      if (this.closed) return;
      const db = signalsDb(this.services.storage.db);
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('signal_guards').where('owner', '=', this.owner).where('requester', '=', requester).execute();
        if (rows.length) await trx.insertInto('signal_guards').values(rows).execute();
        // Other processes' rows long expired: tidy up.
        await trx.deleteFrom('signal_guards').where('expires_at', '<', new Date(Date.now() - 3_600_000).toISOString()).execute();
      });
    };
    this.writing = this.writing.then(write).catch((err) => this.onError(err, 'writing guards'));
    return this.writing;
  }

  /** Resolves once this process's guard writes so far are in the database (tests, shutdown). */
  flushGuards(): Promise<void> {
    return this.writing;
  }

  private ensureRenewal() {
    if (this.renewTimer || this.closed) return;
    this.renewTimer = setInterval(() => {
      if (this.requests.size === 0) return;
      for (const [requester, guards] of this.requests) void this.persist(requester, guards);
    }, Math.max(1_000, Math.floor(this.options.guardTtlMs / 3)));
    this.renewTimer.unref();
  }

  /** Re-reads recently asked environments now and then; a change (another replica's guards) updates open streams. */
  private startPolling() {
    if (this.pollTimer || this.closed || !(this.options.guardPollMs > 0)) return;
    this.pollTimer = setInterval(() => void this.poll(), this.options.guardPollMs);
    this.pollTimer.unref();
  }

  private async poll() {
    const now = Date.now();
    for (const [environment, at] of [...this.watched]) {
      if (now - at > 10 * 60_000) {
        this.watched.delete(environment);
        continue;
      }
      const before = this.cache.get(environment)?.value;
      if (!before) continue;
      try {
        const after = await this.load(environment);
        if (!sameGuards(before, after)) {
          this.cache.set(environment, { at: Date.now(), value: after });
          this.guardsChanged(environment);
        }
      } catch (err) {
        this.onError(err, 'polling guards');
      }
    }
  }

  // ─── alerts ──────────────────────────────────────────────────────────────────────────────

  /** Adds a handler for firing flag alerts; returns a function that removes it. */
  onAlert(handler: AlertHandler): () => void {
    this.alertHandlers.add(handler);
    return () => this.alertHandlers.delete(handler);
  }

  /** Runs every alert handler (concurrently; failures go to onError). Returns how many handlers succeeded and failed. */
  async emitAlert(alert: FlagAlert): Promise<{ handled: number; failed: number }> {
    const results = await Promise.allSettled([...this.alertHandlers].map(async (h) => h(alert)));
    let failed = 0;
    for (const r of results) {
      if (r.status === 'rejected') {
        failed++;
        this.onError(r.reason, `alert handler (alert ${alert.id}, flag ${alert.flag})`);
      }
    }
    return { handled: results.length - failed, failed };
  }

  get alertHandlerCount(): number {
    return this.alertHandlers.size;
  }

  // ─── retention ───────────────────────────────────────────────────────────────────────────

  /** Whether a prune is due now (and marks it started). */
  pruneDue(now = Date.now()): boolean {
    if (now - this.lastPrune < this.options.pruneEveryMs) return false;
    this.lastPrune = now;
    return true;
  }
}

function sameGuards(a: Map<string, number> | undefined, b: Map<string, number> | undefined): boolean {
  const x = a ?? new Map<string, number>();
  const y = b ?? new Map<string, number>();
  if (x.size !== y.size) return false;
  for (const [k, v] of x) if (y.get(k) !== v) return false;
  return true;
}

function defined<T extends object>(o: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const instances = new WeakMap<Services, Signals>();

/** The signals service of one server, made on first use (options from `services.config.signals`, if any). */
export function signalsFor(services: Services): Signals {
  let s = instances.get(services);
  if (!s) {
    const configured = (services.config as { signals?: Partial<SignalsOptions> }).signals;
    s = new Signals(services, configured ?? {});
    instances.set(services, s);
  }
  return s;
}

/** The metrics interval asked of SDKs in `environment` (undefined: none). See {@link Signals.requestedMetricsInterval}. */
export function requestedMetricsInterval(services: Services, environment: string): Promise<number | undefined> {
  return signalsFor(services).requestedMetricsInterval(environment);
}
