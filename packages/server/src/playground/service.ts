import { compile, type Context, type Evaluator, type FeatureConfig, type Reason } from '@switchyard/engine';
import type { Services } from '../services.js';
import { flagSetCache, scopeKey } from '../client-api/cache.js';
import { toClientPayload, type ProjectScope } from '../client-api/payload.js';
import { badRequest } from '../http/problem.js';
import type { EnvironmentType } from '../storage/schema.js';

/**
 * The playground: one context evaluated against every flag in every environment, with the same
 * engine and over the same payload that the client API serves (the flag-set cache's `loaded()`
 * rows turned into a client payload by `toClientPayload`), so what it shows is what an SDK decides.
 */

export interface PlaygroundContext {
  userId?: string;
  sessionId?: string;
  remoteAddress?: string;
  currentTime?: string;
  environment?: string;
  appName?: string;
  properties?: Record<string, string>;
}

export interface PlaygroundFlagResult {
  name: string;
  project: string;
  type: string;
  /** Whether the flag is on for the context (`isEnabled`). */
  enabled: boolean;
  /** Unleash's variant shape, as `getVariant` returns it. */
  variant: { name: string; enabled: boolean; payload?: { type: string; value: string }; feature_enabled: boolean };
  /** OpenFeature reason: STATIC, TARGETING_MATCH, SPLIT, DISABLED, DEFAULT or ERROR. */
  reason: Reason;
  /** The strategy that matched, when one did. */
  strategy?: { index: number; id?: string; name: string; title?: string };
  /** Whether the flag is switched on in this environment at all. */
  environmentEnabled: boolean;
  /** Parents this flag depends on (their results decide whether it can be on). */
  dependencies?: string[];
}

export interface PlaygroundEnvironmentResult {
  name: string;
  type: EnvironmentType;
  /** The environment's revision the answer was computed at. */
  revision: number;
  flags: PlaygroundFlagResult[];
}

export interface PlaygroundResult {
  context: PlaygroundContext;
  environments: PlaygroundEnvironmentResult[];
}

interface Compiled {
  evaluator: Evaluator;
  features: FeatureConfig[];
  revision: number;
}

export class PlaygroundService {
  constructor(private readonly services: Services) {}

  async evaluate(input: { context: PlaygroundContext; environments?: string[]; projects?: string[] }): Promise<PlaygroundResult> {
    const context = input.context ?? {};
    if (context.currentTime !== undefined && Number.isNaN(Date.parse(context.currentTime))) {
      throw badRequest(`context.currentTime must be an ISO-8601 date-time (e.g. 2025-01-31T12:00:00Z); got "${context.currentTime}".`);
    }
    const db = this.services.storage.db;
    const all = await db.selectFrom('environments').select(['name', 'type']).orderBy('sort_order').orderBy('name').execute();
    let envs = all;
    if (input.environments && input.environments.length > 0) {
      const missing = input.environments.filter((e) => !all.some((a) => a.name === e));
      if (missing.length) throw badRequest(`Unknown environment(s) ${missing.map((m) => `"${m}"`).join(', ')}; pick from ${all.map((a) => `"${a.name}"`).join(', ')}.`);
      const wanted = new Set(input.environments);
      envs = all.filter((e) => wanted.has(e.name));
    }
    let scope: ProjectScope = '*';
    if (input.projects && input.projects.length > 0) {
      const rows = await db.selectFrom('projects').select('id').where('id', 'in', input.projects).execute();
      const missing = input.projects.filter((p) => !rows.some((r) => r.id === p));
      if (missing.length) throw badRequest(`Unknown project(s) ${missing.map((m) => `"${m}"`).join(', ')}.`);
      scope = [...new Set(input.projects)].sort();
    }

    const engineContext: Context = { ...context, properties: { ...(context.properties ?? {}) } };
    const environments = await Promise.all(
      envs.map(async (env): Promise<PlaygroundEnvironmentResult> => {
        const compiled = await this.compiled(env.name, scope);
        const flags = compiled.features.map((f): PlaygroundFlagResult => {
          const detail = compiled.evaluator.evaluate(f.name, engineContext);
          const variant = compiled.evaluator.getVariant(f.name, engineContext);
          const result: PlaygroundFlagResult = {
            name: f.name,
            project: f.project ?? 'default',
            type: f.type ?? 'release',
            enabled: detail.value,
            variant: {
              name: variant.name,
              enabled: variant.enabled,
              ...(variant.payload ? { payload: { type: variant.payload.type, value: String(variant.payload.value) } } : {}),
              feature_enabled: variant.feature_enabled ?? detail.value,
            },
            reason: detail.reason,
            environmentEnabled: f.enabled,
          };
          if (detail.strategyIndex !== undefined) {
            const s = f.strategies?.[detail.strategyIndex];
            if (s) result.strategy = { index: detail.strategyIndex, ...(s.id ? { id: String(s.id) } : {}), name: s.name, ...(s.title ? { title: s.title } : {}) };
          }
          if (f.dependencies?.length) result.dependencies = f.dependencies.map((d) => d.feature);
          return result;
        });
        return { name: env.name, type: env.type, revision: compiled.revision, flags };
      }),
    );
    return { context, environments };
  }

  /** The environment's flag set compiled once per revision and scope (shared by every playground call). */
  private compiled(environment: string, scope: ProjectScope): Promise<Compiled> {
    const cache = flagSetCache(this.services);
    return cache.memo(environment, `playground\0${scopeKey(scope)}`, async () => {
      const loaded = await cache.loaded(environment, scope);
      const evaluator = compile(toClientPayload(loaded, 'segments', {}) as Parameters<typeof compile>[0]);
      return { revision: loaded.revision, value: { evaluator, features: loaded.features, revision: loaded.revision } };
    });
  }
}
