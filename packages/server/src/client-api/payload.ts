import type { Kysely } from 'kysely';
import type {
  ClientFeaturesPayload,
  Constraint,
  Dependency,
  FeatureConfig,
  Segment,
  StrategyConfig,
  VariantDefinition,
} from '@switchyard/engine';
import type { Database } from '../storage/schema.js';

/** Which projects a caller may see: all, or a list. */
export type ProjectScope = '*' | string[];

export interface PayloadFilters {
  /** `?project=` values; intersected with the token's scope. */
  projects?: string[];
  /** `?namePrefix=`: only flags whose name starts with this (case-sensitive on every database). */
  namePrefix?: string;
}

/** The features of one environment as stored: strategies keep their segment ids. */
export interface LoadedPayload {
  environment: string;
  /** The environment's revision the rows were read at (0 when the environment does not exist). */
  revision: number;
  features: FeatureConfig[];
  /** Every segment referenced by a strategy in `features`. */
  segments: Segment[];
}

const parse = <T>(text: string | null | undefined, fallback: T): T => {
  if (text == null || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

/** Effective projects for a request: the token's scope, narrowed by `?project=`. */
export function effectiveProjects(scope: ProjectScope, requested: string[] | undefined): ProjectScope {
  const wanted = requested?.filter((p) => p.length > 0);
  if (!wanted || wanted.length === 0) return scope === '*' ? '*' : [...scope].sort();
  const set = new Set(wanted);
  return (scope === '*' ? [...set] : scope.filter((p) => set.has(p))).sort();
}

/**
 * Reads what an SDK in `environment` sees: the non-archived flags of the given projects with
 * that environment's enabled state, strategies (disabled ones left out, as Unleash does),
 * variants and dependencies, plus the segments those strategies use. Works the same on SQLite
 * and PostgreSQL; on PostgreSQL it reads one snapshot so the revision matches the rows.
 */
export async function loadClientPayload(
  db: Kysely<Database>,
  environment: string,
  projects: ProjectScope,
  filters: { namePrefix?: string } = {},
  options: { snapshot?: boolean } = {},
): Promise<LoadedPayload> {
  const run = async (q: Kysely<Database>): Promise<LoadedPayload> => {
    const env = await q.selectFrom('environments').select('revision').where('name', '=', environment).executeTakeFirst();
    const revision = env ? Number(env.revision) : 0;
    if (Array.isArray(projects) && projects.length === 0) return { environment, revision, features: [], segments: [] };

    let flagQuery = q
      .selectFrom('flags')
      .leftJoin('flag_environments as fe', (join) => join.onRef('fe.flag', '=', 'flags.name').on('fe.environment', '=', environment))
      .select([
        'flags.name',
        'flags.project',
        'flags.type',
        'flags.description',
        'flags.impression_data',
        'fe.enabled',
        'fe.variants',
      ])
      .where('flags.archived_at', 'is', null);
    if (projects !== '*') flagQuery = flagQuery.where('flags.project', 'in', projects);

    let strategyQuery = q
      .selectFrom('strategies as s')
      .innerJoin('flags', 'flags.name', 's.flag')
      .select(['s.id', 's.flag', 's.name', 's.title', 's.parameters', 's.constraints', 's.segments', 's.variants', 's.sort_order'])
      .where('s.environment', '=', environment)
      .where('s.disabled', '=', 0)
      .where('flags.archived_at', 'is', null);
    if (projects !== '*') strategyQuery = strategyQuery.where('flags.project', 'in', projects);

    let depQuery = q
      .selectFrom('flag_dependencies as d')
      .innerJoin('flags', 'flags.name', 'd.child')
      .select(['d.child', 'd.parent', 'd.enabled', 'd.variants'])
      .where('flags.archived_at', 'is', null);
    if (projects !== '*') depQuery = depQuery.where('flags.project', 'in', projects);

    const [flagRows, strategyRows, depRows] = await Promise.all([flagQuery.execute(), strategyQuery.execute(), depQuery.execute()]);

    const prefix = filters.namePrefix;
    const keep = (name: string) => !prefix || name.startsWith(prefix);

    const strategiesByFlag = new Map<string, Array<StrategyConfig & { sortOrder: number }>>();
    const usedSegments = new Set<number>();
    for (const row of strategyRows) {
      if (!keep(row.flag)) continue;
      const segments = parse<number[]>(row.segments, []).map(Number).filter(Number.isFinite);
      for (const id of segments) usedSegments.add(id);
      const strategy: StrategyConfig & { sortOrder: number } = {
        id: row.id,
        name: row.name,
        ...(row.title ? { title: row.title } : {}),
        constraints: parse<Constraint[]>(row.constraints, []),
        parameters: parse<Record<string, string>>(row.parameters, {}),
        variants: parse<VariantDefinition[]>(row.variants, []),
        segments,
        sortOrder: Number(row.sort_order),
      };
      const list = strategiesByFlag.get(row.flag);
      if (list) list.push(strategy);
      else strategiesByFlag.set(row.flag, [strategy]);
    }

    const depsByFlag = new Map<string, Dependency[]>();
    for (const row of depRows) {
      if (!keep(row.child)) continue;
      const variants = parse<string[]>(row.variants, []);
      const dep: Dependency = { feature: row.parent, enabled: Number(row.enabled) === 1, ...(variants.length ? { variants } : {}) };
      const list = depsByFlag.get(row.child);
      if (list) list.push(dep);
      else depsByFlag.set(row.child, [dep]);
    }

    const features: FeatureConfig[] = [];
    for (const row of flagRows) {
      if (!keep(row.name)) continue;
      const strategies = (strategiesByFlag.get(row.name) ?? [])
        .sort((a, b) => a.sortOrder - b.sortOrder || String(a.id).localeCompare(String(b.id)))
        .map(({ sortOrder: _s, ...s }) => s);
      const deps = depsByFlag.get(row.name);
      features.push({
        name: row.name,
        type: row.type,
        description: row.description ?? '',
        project: row.project,
        enabled: Number(row.enabled ?? 0) === 1,
        stale: false,
        impressionData: Number(row.impression_data) === 1,
        strategies,
        variants: parse<VariantDefinition[]>(row.variants ?? null, []),
        ...(deps ? { dependencies: deps.sort((a, b) => a.feature.localeCompare(b.feature)) } : {}),
      });
    }
    features.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

    let segments: Segment[] = [];
    if (usedSegments.size > 0) {
      const rows = await q.selectFrom('segments').select(['id', 'name', 'constraints']).orderBy('id').execute();
      segments = rows
        .filter((r) => usedSegments.has(Number(r.id)))
        .map((r) => ({ id: Number(r.id), name: r.name, constraints: parse<Constraint[]>(r.constraints, []) }));
    }
    return { environment, revision, features, segments };
  };

  if (options.snapshot) {
    return db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute((trx) => run(trx));
  }
  return run(db);
}

export type SpecFlavour = 'segments' | 'inline';

const NEVER_MATCHES = { contextName: 'userId', operator: 'IN', values: [] as string[] };

/** `segments` for SDKs speaking client spec ≥ 4.2.0, otherwise segment constraints are inlined. */
export function flavourFor(specHeader: string | string[] | undefined): SpecFlavour {
  const raw = Array.isArray(specHeader) ? specHeader[0] : specHeader;
  if (!raw) return 'inline';
  const m = /^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(raw);
  if (!m) return 'inline';
  const [major, minor] = [Number(m[1]), Number(m[2] ?? 0)];
  return major > 4 || (major === 4 && minor >= 2) ? 'segments' : 'inline';
}

/**
 * The client-API document as Unleash serves it. With `inline`, each strategy's segment
 * constraints are appended to its own constraints and no `segments` are sent.
 */
export function toClientPayload(
  loaded: LoadedPayload,
  flavour: SpecFlavour,
  query: Record<string, unknown>,
): Omit<ClientFeaturesPayload, 'meta'> {
  if (flavour === 'segments') {
    return { version: 2, features: loaded.features, query, segments: loaded.segments };
  }
  const byId = new Map(loaded.segments.map((s) => [s.id, s]));
  const features = loaded.features.map((f) => ({
    ...f,
    strategies: (f.strategies ?? []).map(({ segments, ...s }) => {
      // A segment that no longer exists must not widen the audience: an empty IN never matches.
      const extra = (segments ?? []).flatMap((id) => byId.get(id)?.constraints ?? [NEVER_MATCHES]);
      return extra.length ? { ...s, constraints: [...(s.constraints ?? []), ...extra] } : s;
    }),
  }));
  return { version: 2, features, query };
}
