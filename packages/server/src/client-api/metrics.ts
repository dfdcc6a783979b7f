import { sql, type Kysely } from 'kysely';
import { Type, type Static } from 'typebox';
import type { Database } from '../storage/schema.js';
import type { Principal } from '../auth/tokens.js';
import { CohortOutcomesSchema } from '../signals/schema.js';

const Count = Type.Integer({ minimum: 0, maximum: 1e12 });

/** One flag's counts in a metrics bucket. SDKs add fields over time, so extra keys are tolerated. */
const ToggleCounts = Type.Object(
  {
    yes: Type.Optional(Count),
    no: Type.Optional(Count),
    variants: Type.Optional(Type.Record(Type.String({ maxLength: 255 }), Count)),
  },
  { additionalProperties: true },
);

/** Unleash's metrics body (client and frontend SDKs). */
export const MetricsBody = Type.Object(
  {
    appName: Type.String({ minLength: 1, maxLength: 255 }),
    instanceId: Type.Optional(Type.String({ maxLength: 255 })),
    environment: Type.Optional(Type.String({ maxLength: 255 })),
    connectionId: Type.Optional(Type.String({ maxLength: 255 })),
    sdkVersion: Type.Optional(Type.String({ maxLength: 255 })),
    bucket: Type.Object(
      {
        start: Type.Union([Type.String({ maxLength: 64 }), Type.Number()]),
        stop: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Number()])),
        toggles: Type.Record(Type.String({ minLength: 1, maxLength: 255 }), ToggleCounts),
        // Switchyard's cohort outcomes (signals/); absent from Unleash SDKs' reports.
        cohorts: Type.Optional(CohortOutcomesSchema),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true },
);
export type MetricsBody = Static<typeof MetricsBody>;

/** Unleash's registration body. */
export const RegisterBody = Type.Object(
  {
    appName: Type.String({ minLength: 1, maxLength: 255 }),
    instanceId: Type.Optional(Type.String({ maxLength: 255 })),
    sdkVersion: Type.Optional(Type.String({ maxLength: 255 })),
    environment: Type.Optional(Type.String({ maxLength: 255 })),
    strategies: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 1000 })),
    started: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Number()])),
    interval: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: true },
);
export type RegisterBody = Static<typeof RegisterBody>;

export interface SdkIdentity {
  appName: string;
  instanceId: string;
  sdkVersion: string | null;
}

const first = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h);

/** App name, instance id and SDK from the body, falling back to Unleash's `unleash-*` headers. */
export function identify(
  body: { appName: string; instanceId?: string; sdkVersion?: string },
  headers: Record<string, string | string[] | undefined>,
): SdkIdentity {
  return {
    appName: body.appName,
    instanceId: (body.instanceId || first(headers['unleash-instanceid']) || first(headers['unleash-connection-id']) || 'default').slice(0, 255),
    sdkVersion: (body.sdkVersion || first(headers['unleash-sdk']) || null)?.slice(0, 255) ?? null,
  };
}

const toIso = (v: string | number | undefined): string | null => {
  if (v === undefined) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
};

/** Start of the UTC hour of `start` (or of now when `start` is not a date). */
export function hourBucket(start: string | number | undefined, now = new Date()): string {
  const d = start === undefined ? now : new Date(start);
  const base = Number.isNaN(d.getTime()) ? now : d;
  const h = new Date(base.getTime());
  h.setUTCMinutes(0, 0, 0);
  return h.toISOString();
}

/** Records an SDK registration (upsert on app, instance and environment). */
export async function recordRegistration(db: Kysely<Database>, environment: string, id: SdkIdentity, body: RegisterBody): Promise<void> {
  const now = new Date().toISOString();
  await db
    .insertInto('client_applications')
    .values({
      app_name: id.appName,
      instance_id: id.instanceId,
      environment,
      sdk_version: id.sdkVersion,
      strategies: JSON.stringify(body.strategies ?? []),
      interval: body.interval === undefined ? null : Math.round(body.interval),
      started_at: toIso(body.started) ?? now,
      last_seen_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['app_name', 'instance_id', 'environment']).doUpdateSet((eb) => ({
        sdk_version: eb.fn.coalesce(eb.ref('excluded.sdk_version'), eb.ref('client_applications.sdk_version')),
        strategies: eb.ref('excluded.strategies'),
        interval: eb.ref('excluded.interval'),
        started_at: eb.ref('excluded.started_at'),
        last_seen_at: eb.ref('excluded.last_seen_at'),
      })),
    )
    .execute();
}

/** Marks an SDK instance as seen (from a metrics report). */
async function touchApplication(db: Kysely<Database>, environment: string, id: SdkIdentity, now: string) {
  await db
    .insertInto('client_applications')
    .values({
      app_name: id.appName,
      instance_id: id.instanceId,
      environment,
      sdk_version: id.sdkVersion,
      strategies: '[]',
      interval: null,
      started_at: null,
      last_seen_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['app_name', 'instance_id', 'environment']).doUpdateSet((eb) => ({
        sdk_version: eb.fn.coalesce(eb.ref('excluded.sdk_version'), eb.ref('client_applications.sdk_version')),
        last_seen_at: eb.ref('excluded.last_seen_at'),
      })),
    )
    .execute();
}

const CHUNK = 500;

/**
 * Adds a metrics report to `flag_metrics` (per flag, the token's environment, app and hour) and
 * marks the instance seen. Only flags that exist and that the token may see are stored, as
 * Unleash does. Counts are added with `ON CONFLICT DO UPDATE` (atomic on both databases, rows
 * locked in name order so concurrent reports cannot deadlock); variant counts are merged after
 * the row is locked. Returns how many flags were stored.
 */
export async function recordMetrics(db: Kysely<Database>, principal: Principal, id: SdkIdentity, body: MetricsBody): Promise<number> {
  const environment = principal.environment;
  const now = new Date().toISOString();
  const bucket = hourBucket(body.bucket.start);
  const names = Object.keys(body.bucket.toggles).sort();
  const known = new Set<string>();
  for (let i = 0; i < names.length; i += CHUNK) {
    let q = db.selectFrom('flags').select('name').where('name', 'in', names.slice(i, i + CHUNK));
    if (principal.projects !== '*') q = q.where('project', 'in', principal.projects.length ? principal.projects : ['\0']);
    for (const r of await q.execute()) known.add(r.name);
  }
  const rows = names
    .filter((n) => known.has(n))
    .map((name) => {
      const t = body.bucket.toggles[name];
      const variants = Object.fromEntries(Object.entries(t.variants ?? {}).filter(([, v]) => v > 0));
      return { name, yes: t.yes ?? 0, no: t.no ?? 0, variants };
    })
    .filter((r) => r.yes > 0 || r.no > 0 || Object.keys(r.variants).length > 0);

  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      await trx
        .insertInto('flag_metrics')
        .values(
          chunk.map((r) => ({
            flag: r.name,
            environment,
            app_name: id.appName,
            bucket,
            yes: r.yes,
            no: r.no,
            variants: '{}',
            last_seen_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['flag', 'environment', 'app_name', 'bucket']).doUpdateSet((eb) => ({
            yes: sql<number>`${eb.ref('flag_metrics.yes')} + ${eb.ref('excluded.yes')}`,
            no: sql<number>`${eb.ref('flag_metrics.no')} + ${eb.ref('excluded.no')}`,
            last_seen_at: eb.ref('excluded.last_seen_at'),
          })),
        )
        .execute();
    }
    // The rows are now locked by this transaction, so reading and rewriting variants is safe.
    for (const r of rows) {
      if (Object.keys(r.variants).length === 0) continue;
      const key = (q: any) =>
        q.where('flag', '=', r.name).where('environment', '=', environment).where('app_name', '=', id.appName).where('bucket', '=', bucket);
      const current = await key(trx.selectFrom('flag_metrics').select('variants')).executeTakeFirst();
      const merged: Record<string, number> = {};
      try {
        Object.assign(merged, JSON.parse(current?.variants ?? '{}'));
      } catch {
        // a damaged cell starts over
      }
      for (const [v, n] of Object.entries(r.variants)) merged[v] = (Number(merged[v]) || 0) + n;
      await key(trx.updateTable('flag_metrics').set({ variants: JSON.stringify(merged) })).execute();
    }
  });
  await touchApplication(db, environment, id, now);
  return rows.length;
}
