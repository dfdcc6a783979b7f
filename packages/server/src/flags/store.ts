import type { Kysely } from 'kysely';
import type { Constraint, VariantDefinition } from '@switchyard/engine';
import type { Database, EnvironmentType, FlagRow, StrategyRow } from '../storage/schema.js';
import { conflict } from '../http/problem.js';

/** Reads flags with everything the admin API shows about them. Works on a Kysely or a transaction. */

export type Db = Kysely<Database>;

export interface StrategyView {
  id: string;
  name: string;
  title?: string;
  disabled: boolean;
  parameters: Record<string, string>;
  constraints: Constraint[];
  segments: number[];
  variants: VariantDefinition[];
  sortOrder: number;
}

export interface DependencyView {
  feature: string;
  enabled: boolean;
  variants: string[];
}

export interface FlagEnvironmentView {
  name: string;
  type: EnvironmentType;
  enabled: boolean;
  strategies: StrategyView[];
  variants: VariantDefinition[];
}

export interface FlagView {
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
  dependencies: DependencyView[];
  environments: FlagEnvironmentView[];
}

export const parseJson = <T>(text: string | null | undefined, fallback: T): T => {
  if (text === null || text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

export function strategyView(row: StrategyRow): StrategyView {
  const view: StrategyView = {
    id: row.id,
    name: row.name,
    disabled: !!row.disabled,
    parameters: parseJson(row.parameters, {}),
    constraints: parseJson(row.constraints, []),
    segments: parseJson(row.segments, []),
    variants: parseJson(row.variants, []),
    sortOrder: Number(row.sort_order),
  };
  if (row.title !== null && row.title !== undefined) view.title = row.title;
  return view;
}

export interface FlagFilter {
  names?: string[];
  project?: string;
  /** true: only archived; false: only active; undefined: both. */
  archived?: boolean;
}

/** Loads flags (with environments, strategies, dependencies) in five queries, whatever their number. */
export async function loadFlags(db: Db, filter: FlagFilter = {}): Promise<FlagView[]> {
  if (filter.names && filter.names.length === 0) return [];
  const restrict = <Q extends { where: any }>(q: Q, column: string): Q => {
    let out: any = q;
    if (filter.names) out = out.where(column, 'in', filter.names);
    if (filter.project !== undefined || filter.archived !== undefined) {
      out = out.where(column, 'in', (eb: any) => {
        let sub = eb.selectFrom('flags').select('name');
        if (filter.project !== undefined) sub = sub.where('project', '=', filter.project);
        if (filter.archived === true) sub = sub.where('archived_at', 'is not', null);
        if (filter.archived === false) sub = sub.where('archived_at', 'is', null);
        return sub;
      });
    }
    return out;
  };
  const flags: FlagRow[] = await restrict(db.selectFrom('flags').selectAll(), 'name').orderBy('created_at').orderBy('name').execute();
  if (flags.length === 0) return [];
  const [envs, flagEnvs, strategies, deps] = await Promise.all([
    db.selectFrom('environments').select(['name', 'type']).orderBy('sort_order').orderBy('name').execute(),
    restrict(db.selectFrom('flag_environments').selectAll(), 'flag').execute(),
    restrict(db.selectFrom('strategies').selectAll(), 'flag').orderBy('sort_order').orderBy('id').execute(),
    restrict(db.selectFrom('flag_dependencies').selectAll(), 'child').orderBy('parent').execute(),
  ]);
  const key = (flag: string, env: string) => `${flag}\u0000${env}`;
  const feByKey = new Map(flagEnvs.map((fe) => [key(fe.flag, fe.environment), fe]));
  const stratByKey = new Map<string, StrategyView[]>();
  for (const s of strategies) {
    const k = key(s.flag, s.environment);
    if (!stratByKey.has(k)) stratByKey.set(k, []);
    stratByKey.get(k)!.push(strategyView(s));
  }
  const depsByFlag = new Map<string, DependencyView[]>();
  for (const d of deps) {
    if (!depsByFlag.has(d.child)) depsByFlag.set(d.child, []);
    depsByFlag.get(d.child)!.push({ feature: d.parent, enabled: !!d.enabled, variants: parseJson(d.variants, []) });
  }
  return flags.map((f) => ({
    name: f.name,
    project: f.project,
    type: f.type,
    description: f.description ?? '',
    owner: f.owner,
    tags: parseJson(f.tags, []),
    impressionData: !!f.impression_data,
    archived: f.archived_at !== null,
    createdAt: f.created_at,
    updatedAt: f.updated_at,
    dependencies: depsByFlag.get(f.name) ?? [],
    environments: envs.map((e) => {
      const fe = feByKey.get(key(f.name, e.name));
      return {
        name: e.name,
        type: e.type,
        enabled: !!fe?.enabled,
        strategies: stratByKey.get(key(f.name, e.name)) ?? [],
        variants: parseJson(fe?.variants, []),
      };
    }),
  }));
}

export async function loadFlag(db: Db, name: string): Promise<FlagView | undefined> {
  const [flag] = await loadFlags(db, { names: [name] });
  return flag;
}

/** Whether a database error is a unique/primary-key violation (a concurrent insert won the race). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return !!e && (e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE');
}

/** Runs a write and turns a unique violation (lost race with a concurrent insert) into a 409. */
export async function conflictOnDuplicate<T>(work: Promise<T>, detail: string): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(detail);
    throw err;
  }
}
