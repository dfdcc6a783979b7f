/**
 * Inbound alerts (DESIGN §5, "signals"): Prometheus Alertmanager's webhook. A firing alert whose
 * labels name a flag (`switchyard_flag` or `flag`) — and optionally an environment
 * (`switchyard_environment` or `environment`) — stops that flag's active rollout at once: it is
 * stored in `signal_alerts` and handed to every `onAlert` handler (the releases service's).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { AlertmanagerWebhook } from './schema.js';
import type { FlagAlert, Signals } from './service.js';
import { signalsDb } from './tables.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Who posted the alerts: an admin token (any environment) or a signal token (maybe bound to one). */
export interface AlertPoster {
  kind: 'admin' | 'signal-token';
  name: string;
  /** The only environment this poster may name (signal tokens bound to one); null: any. */
  environment: string | null;
}

export type AlertOutcome = 'emitted' | 'resolved' | 'no-flag' | 'unknown-flag' | 'unknown-environment' | 'forbidden-environment';

export interface ReceivedAlert {
  id: number;
  status: 'firing' | 'resolved';
  alertname: string | null;
  fingerprint: string | null;
  flag: string | null;
  environment: string | null;
  outcome: AlertOutcome;
}

export interface WebhookResult {
  received: number;
  alerts: ReceivedAlert[];
  /** Handler runs for emitted alerts: succeeded / failed (failures are logged; the alert stays unhandled in the table). */
  handlers: { handled: number; failed: number };
}

const pick = (labels: Record<string, string>, ...names: string[]) => {
  for (const n of names) {
    const v = labels[n];
    if (typeof v === 'string' && v.trim()) return v.trim();
  }
  return null;
};

const isoOrNull = (v: string | undefined) => {
  if (!v) return null;
  const d = new Date(v);
  // Alertmanager sends 0001-01-01T00:00:00Z as endsAt of an alert that has not ended.
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970 ? null : d.toISOString();
};

/**
 * Stores every alert of an Alertmanager notification (one transaction), then emits the firing
 * ones that name a known flag to the `onAlert` handlers and waits for them.
 */
export async function receiveAlertmanager(
  db: Kysely<Database>,
  signals: Signals,
  body: AlertmanagerWebhook,
  poster: AlertPoster,
  defaultEnvironment: string | null,
): Promise<WebhookResult> {
  const receivedAt = new Date().toISOString();
  const named = new Set<string>();
  const envs = new Set<string>();
  const parsed = body.alerts.map((a) => {
    const labels = { ...(body.commonLabels ?? {}), ...a.labels };
    const flag = pick(labels, 'switchyard_flag', 'flag');
    const environment = pick(labels, 'switchyard_environment', 'environment') ?? defaultEnvironment ?? poster.environment;
    if (flag) named.add(flag);
    if (environment) envs.add(environment);
    return { a, labels, flag, environment };
  });
  const knownFlags = new Set<string>();
  const knownEnvs = new Set<string>();
  if (named.size) for (const r of await db.selectFrom('flags').select('name').where('name', 'in', [...named]).execute()) knownFlags.add(r.name);
  if (envs.size) for (const r of await db.selectFrom('environments').select('name').where('name', 'in', [...envs]).execute()) knownEnvs.add(r.name);

  const rows = parsed.map(({ a, labels, flag, environment }) => {
    let outcome: AlertOutcome;
    if (!flag) outcome = 'no-flag';
    else if (poster.environment !== null && environment !== poster.environment) outcome = 'forbidden-environment';
    else if (!knownFlags.has(flag)) outcome = 'unknown-flag';
    else if (environment !== null && !knownEnvs.has(environment)) outcome = 'unknown-environment';
    else if (a.status === 'resolved') outcome = 'resolved';
    else outcome = 'emitted';
    return {
      source: 'alertmanager',
      received_at: receivedAt,
      status: a.status,
      fingerprint: a.fingerprint ?? null,
      alertname: labels.alertname ?? null,
      flag,
      environment,
      outcome,
      labels: JSON.stringify(labels),
      annotations: JSON.stringify({ ...(body.commonAnnotations ?? {}), ...(a.annotations ?? {}) }),
      starts_at: isoOrNull(a.startsAt),
      ends_at: isoOrNull(a.endsAt),
      generator_url: a.generatorURL ?? null,
      group_key: body.groupKey ?? null,
      receiver: body.receiver ?? null,
      external_url: body.externalURL ?? null,
      handled_at: null,
      handled_note: null,
    };
  });

  const sdb = signalsDb(db);
  const ids: number[] = [];
  if (rows.length) {
    await sdb.transaction().execute(async (trx) => {
      for (const row of rows) {
        const r = await trx.insertInto('signal_alerts').values(row).returning('id').executeTakeFirstOrThrow();
        ids.push(Number(r.id));
      }
    });
  }

  const alerts: ReceivedAlert[] = rows.map((r, i) => ({
    id: ids[i],
    status: r.status as 'firing' | 'resolved',
    alertname: r.alertname,
    fingerprint: r.fingerprint,
    flag: r.flag,
    environment: r.environment,
    outcome: r.outcome,
  }));
  const handlers = { handled: 0, failed: 0 };
  const emitted = rows
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.outcome === 'emitted')
    .map(
      ({ r, i }): FlagAlert => ({
        id: ids[i],
        source: 'alertmanager',
        flag: r.flag!,
        environment: r.environment,
        alertname: r.alertname,
        labels: JSON.parse(r.labels),
        annotations: JSON.parse(r.annotations),
        startsAt: r.starts_at,
        fingerprint: r.fingerprint,
        generatorURL: r.generator_url,
        receivedAt,
      }),
    );
  const results = await Promise.all(emitted.map((a) => signals.emitAlert(a)));
  for (const r of results) {
    handlers.handled += r.handled;
    handlers.failed += r.failed;
  }
  return { received: body.alerts.length, alerts, handlers };
}

// ─── the table, for the rollout runner ──────────────────────────────────────────────────────

export interface StoredAlert extends FlagAlert {
  status: 'firing' | 'resolved';
  outcome: AlertOutcome;
  handledAt: string | null;
  handledNote: string | null;
}

export interface AlertQuery {
  flag?: string;
  environment?: string;
  /** Received at or after. */
  since?: Date | string;
  /** Only firing alerts that named a known flag and were not marked handled yet. */
  unhandled?: boolean;
  limit?: number;
}

/**
 * Stored alerts, oldest first. With `unhandled: true`: the firing flag alerts no runner has marked
 * handled — what a rollout runner reads on start (and may poll) so an alert received while it was
 * down, or on another replica whose handler failed, still stops the plan.
 */
export async function readAlerts(db: Kysely<Database>, query: AlertQuery = {}): Promise<StoredAlert[]> {
  let q = signalsDb(db).selectFrom('signal_alerts').selectAll();
  if (query.flag !== undefined) q = q.where('flag', '=', query.flag);
  if (query.environment !== undefined) q = q.where((eb) => eb.or([eb('environment', '=', query.environment!), eb('environment', 'is', null)]));
  if (query.since !== undefined) q = q.where('received_at', '>=', new Date(query.since).toISOString());
  if (query.unhandled) q = q.where('outcome', '=', 'emitted').where('handled_at', 'is', null);
  const rows = await q.orderBy('id').limit(Math.min(10_000, query.limit ?? 1000)).execute();
  return rows.map((r) => ({
    id: Number(r.id),
    source: 'alertmanager' as const,
    flag: r.flag ?? '',
    environment: r.environment,
    alertname: r.alertname,
    labels: safeJson(r.labels),
    annotations: safeJson(r.annotations),
    startsAt: r.starts_at,
    fingerprint: r.fingerprint,
    generatorURL: r.generator_url,
    receivedAt: r.received_at,
    status: r.status as 'firing' | 'resolved',
    outcome: r.outcome as AlertOutcome,
    handledAt: r.handled_at,
    handledNote: r.handled_note,
  }));
}

function safeJson(text: string): Record<string, string> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Marks an alert handled (e.g. `plan 12 rolled back`); returns false when it was already marked or does not exist. Pass a transaction to mark it with the stop. */
export async function markAlertHandled(db: Kysely<Database>, id: number, note: string): Promise<boolean> {
  const r = await signalsDb(db)
    .updateTable('signal_alerts')
    .set({ handled_at: new Date().toISOString(), handled_note: note.slice(0, 1000) })
    .where('id', '=', id)
    .where('handled_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

// ─── signal tokens ──────────────────────────────────────────────────────────────────────────

export interface SignalTokenView {
  id: string;
  name: string;
  environment: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** Creates a signal token; the secret (`sig_…`) is returned once and stored only as its SHA-256. */
export async function createSignalToken(db: Kysely<Database>, name: string, environment: string | null): Promise<SignalTokenView & { secret: string }> {
  const secret = `sig_${randomBytes(32).toString('base64url')}`;
  const row = { id: randomUUID(), name, environment, secret_hash: sha256(secret), created_at: new Date().toISOString(), last_used_at: null };
  await signalsDb(db).insertInto('signal_tokens').values(row).execute();
  return { id: row.id, name, environment, createdAt: row.created_at, lastUsedAt: null, secret };
}

export async function listSignalTokens(db: Kysely<Database>): Promise<SignalTokenView[]> {
  const rows = await signalsDb(db).selectFrom('signal_tokens').select(['id', 'name', 'environment', 'created_at', 'last_used_at']).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, environment: r.environment, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
}

export async function deleteSignalToken(db: Kysely<Database>, id: string): Promise<SignalTokenView | null> {
  const sdb = signalsDb(db);
  const row = await sdb.selectFrom('signal_tokens').select(['id', 'name', 'environment', 'created_at', 'last_used_at']).where('id', '=', id).executeTakeFirst();
  if (!row) return null;
  await sdb.deleteFrom('signal_tokens').where('id', '=', id).execute();
  return { id: row.id, name: row.name, environment: row.environment, createdAt: row.created_at, lastUsedAt: row.last_used_at };
}

/** The signal token with this secret (looked up by its SHA-256), or null; notes its use. */
export async function resolveSignalToken(db: Kysely<Database>, secret: string): Promise<AlertPoster | null> {
  if (!secret.startsWith('sig_')) return null;
  const sdb = signalsDb(db);
  const row = await sdb.selectFrom('signal_tokens').select(['id', 'name', 'environment']).where('secret_hash', '=', sha256(secret)).executeTakeFirst();
  if (!row) return null;
  await sdb.updateTable('signal_tokens').set({ last_used_at: new Date().toISOString() }).where('id', '=', row.id).execute();
  return { kind: 'signal-token', name: row.name, environment: row.environment };
}
