import { randomUUID } from 'node:crypto';
import type { BuiltApp } from '../src/index.js';
import type { Constraint, Dependency, VariantDefinition } from '@switchyard/engine';
import type { TokenType } from '../src/storage/schema.js';

/**
 * Inserts configuration rows straight through `services.changes.write` (so revisions move and
 * caches hear about it) until the admin API exists. Each helper is one change = one revision.
 */

export interface StrategyFixture {
  id?: string;
  name?: string;
  title?: string;
  disabled?: boolean;
  parameters?: Record<string, string>;
  constraints?: Constraint[];
  segments?: number[];
  variants?: VariantDefinition[];
}

export interface FlagFixture {
  name: string;
  project?: string;
  type?: string;
  description?: string;
  impressionData?: boolean;
  archived?: boolean;
  dependencies?: Dependency[];
  environments?: Record<string, { enabled: boolean; strategies?: StrategyFixture[]; variants?: VariantDefinition[] }>;
}

const now = () => new Date().toISOString();

export async function createProject(t: BuiltApp, id: string): Promise<void> {
  await t.services.changes.write('test', async (trx) => {
    await trx.insertInto('projects').values({ id, name: id, description: null, created_at: now() }).execute();
  });
}

export async function createEnvironment(t: BuiltApp, name: string, type: 'development' | 'test' | 'staging' | 'production' = 'development') {
  await t.services.changes.write('test', async (trx, change) => {
    await trx.insertInto('environments').values({ name, type, sort_order: 10, revision: 1, created_at: now() }).execute();
    change.touch(name);
  });
}

export async function createSegment(t: BuiltApp, name: string, constraints: Constraint[], project: string | null = null): Promise<number> {
  return t.services.changes.write('test', async (trx, change) => {
    const row = await trx
      .insertInto('segments')
      .values({ name, description: null, project, constraints: JSON.stringify(constraints), created_at: now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    change.touch('*');
    return Number(row.id);
  });
}

/** Creates (or replaces) a flag with its per-environment configuration. */
export async function putFlag(t: BuiltApp, flag: FlagFixture): Promise<void> {
  await t.services.changes.write('test', async (trx, change) => {
    await trx.deleteFrom('strategies').where('flag', '=', flag.name).execute();
    await trx.deleteFrom('flag_environments').where('flag', '=', flag.name).execute();
    await trx.deleteFrom('flag_dependencies').where('child', '=', flag.name).execute();
    await trx.deleteFrom('flags').where('name', '=', flag.name).execute();
    await trx
      .insertInto('flags')
      .values({
        name: flag.name,
        project: flag.project ?? 'default',
        type: flag.type ?? 'release',
        description: flag.description ?? null,
        owner: null,
        tags: '[]',
        impression_data: flag.impressionData ? 1 : 0,
        archived_at: flag.archived ? now() : null,
        created_at: now(),
        updated_at: now(),
      })
      .execute();
    let order = 0;
    for (const [env, cfg] of Object.entries(flag.environments ?? {})) {
      await trx
        .insertInto('flag_environments')
        .values({ flag: flag.name, environment: env, enabled: cfg.enabled ? 1 : 0, variants: JSON.stringify(cfg.variants ?? []) })
        .execute();
      for (const s of cfg.strategies ?? []) {
        await trx
          .insertInto('strategies')
          .values({
            id: s.id ?? randomUUID(),
            flag: flag.name,
            environment: env,
            name: s.name ?? 'default',
            title: s.title ?? null,
            disabled: s.disabled ? 1 : 0,
            parameters: JSON.stringify(s.parameters ?? {}),
            constraints: JSON.stringify(s.constraints ?? []),
            segments: JSON.stringify(s.segments ?? []),
            variants: JSON.stringify(s.variants ?? []),
            sort_order: order++,
          })
          .execute();
      }
    }
    for (const d of flag.dependencies ?? []) {
      await trx
        .insertInto('flag_dependencies')
        .values({ child: flag.name, parent: d.feature, enabled: d.enabled === false ? 0 : 1, variants: JSON.stringify(d.variants ?? []) })
        .execute();
    }
    change.touch('*');
  });
}

export async function setEnabled(t: BuiltApp, flag: string, environment: string, enabled: boolean): Promise<void> {
  await t.services.changes.write('test', async (trx, change) => {
    await trx.updateTable('flag_environments').set({ enabled: enabled ? 1 : 0 }).where('flag', '=', flag).where('environment', '=', environment).execute();
    change.touch(environment);
  });
}

export async function token(
  t: BuiltApp,
  type: TokenType,
  environment = 'development',
  projects?: string[],
  expiresAt?: string,
): Promise<string> {
  const { secret } = await t.services.tokens.create('test', { type, environment, projects, expiresAt });
  return secret;
}

/** `app.inject` with arbitrary headers; parses JSON bodies. */
export async function request(
  t: BuiltApp,
  method: string,
  url: string,
  options: { token?: string; headers?: Record<string, string>; body?: unknown } = {},
) {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== undefined) headers.authorization = options.token;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await t.app.inject({
    method: method as any,
    url,
    headers,
    payload: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  let json: any;
  try {
    json = res.body ? JSON.parse(res.body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, body: json, raw: res };
}
