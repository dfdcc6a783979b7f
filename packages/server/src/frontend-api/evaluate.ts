import { compile, type Context, type Evaluator } from '@switchyard/engine';
import type { Services } from '../services.js';
import type { Principal } from '../auth/tokens.js';
import { flagSetCache, scopeKey } from '../client-api/cache.js';
import { toClientPayload } from '../client-api/payload.js';

export interface FrontendToggle {
  name: string;
  /** Always true, unless disabled flags were asked for (`includeDisabled`). */
  enabled: boolean;
  variant: { name: string; enabled: boolean; payload?: { type: string; value: string }; feature_enabled: boolean };
  impressionData: boolean;
}

/** What evaluation alone does not tell about a flag: where it lives and whether it has variants. */
export interface FlagInfo {
  project: string;
  type: string;
  /** Variants on the flag or on any of its strategies in this environment. */
  hasVariants: boolean;
}

export type CompiledSet = Evaluator & {
  impressionData(flag: string): boolean;
  flagInfo(flag: string): FlagInfo | undefined;
  /** The environment's revision the set was compiled from. */
  readonly revision: number;
  readonly environment: string;
};

/** The compiled flag set of an environment and project scope, compiled once per revision. */
export function evaluatorFor(services: Services, principal: Principal): Promise<CompiledSet> {
  const cache = flagSetCache(services);
  const env = principal.environment;
  return cache.memo(env, `evaluator\0${scopeKey(principal.projects)}`, async () => {
    const loaded = await cache.loaded(env, principal.projects);
    const evaluator = compile(toClientPayload(loaded, 'segments', {}) as Parameters<typeof compile>[0]);
    const info = new Map<string, FlagInfo>();
    for (const f of loaded.features) {
      info.set(f.name, {
        project: f.project ?? 'default',
        type: f.type ?? 'release',
        hasVariants: (f.variants?.length ?? 0) > 0 || (f.strategies ?? []).some((s) => (s.variants?.length ?? 0) > 0),
      });
    }
    const set: CompiledSet = Object.assign(evaluator, {
      flagInfo: (flag: string) => info.get(flag),
      revision: loaded.revision,
      environment: env,
    });
    return { revision: loaded.revision, value: set };
  });
}

export interface EvaluateOptions {
  /** Also answer flags that are off, as `enabled: false` with the `disabled` variant. */
  includeDisabled?: boolean;
}

/**
 * Unleash's frontend answer: every flag that is on for the context, with its variant; with
 * `includeDisabled`, the flags that are off too, so that "off" and "unknown" can be told apart.
 */
export function evaluateAll(evaluator: CompiledSet, context: Context, options: EvaluateOptions = {}): FrontendToggle[] {
  const toggles: FrontendToggle[] = [];
  for (const name of evaluator.flagNames().sort()) {
    const toggle = evaluateOne(evaluator, name, context, options);
    if (toggle) toggles.push(toggle);
  }
  return toggles;
}

export function evaluateOne(evaluator: CompiledSet, name: string, context: Context, options: EvaluateOptions = {}): FrontendToggle | null {
  if (!evaluator.has(name)) return null;
  const detail = evaluator.evaluate(name, context);
  if (!detail.value) {
    if (!options.includeDisabled) return null;
    return {
      name,
      enabled: false,
      variant: { name: 'disabled', enabled: false, feature_enabled: false },
      impressionData: evaluator.impressionData(name),
    };
  }
  const v = detail.variant;
  return {
    name,
    enabled: true,
    variant: {
      name: v.name,
      enabled: v.enabled,
      ...(v.payload ? { payload: { type: v.payload.type, value: v.payload.value } } : {}),
      feature_enabled: true,
    },
    impressionData: evaluator.impressionData(name),
  };
}

const STANDARD = new Set(['userId', 'sessionId', 'remoteAddress', 'currentTime', 'environment', 'appName']);
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_VALUE = 1000;

const text = (v: unknown): string | undefined => {
  if (Array.isArray(v)) v = v[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.slice(0, MAX_VALUE);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  return undefined;
};

/**
 * An Unleash context from query parameters or a POST body's `context`: the standard fields as
 * they are; `properties[x]=…`, a `properties` object and any other key go to `properties`.
 * `remoteAddress` defaults to the caller's address and `environment` to the token's.
 */
export function buildContext(raw: Record<string, unknown>, defaults: { remoteAddress: string; environment: string }): Context {
  const context: Context = {};
  const properties: Record<string, string> = {};
  const setProperty = (key: string, value: unknown) => {
    if (FORBIDDEN.has(key) || key.length > 255) return;
    const v = text(value);
    if (v !== undefined) properties[key] = v;
  };
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (FORBIDDEN.has(key)) continue;
    const bracket = /^properties\[(.+)\]$/.exec(key);
    if (bracket) {
      setProperty(bracket[1], value);
    } else if (key === 'properties') {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) setProperty(k, v);
      }
    } else if (STANDARD.has(key)) {
      const v = text(value);
      if (v !== undefined && v !== '') (context as Record<string, unknown>)[key] = v;
    } else {
      setProperty(key, value);
    }
  }
  context.remoteAddress ??= defaults.remoteAddress;
  context.environment ??= defaults.environment;
  if (Object.keys(properties).length > 0) context.properties = properties;
  return context;
}
