/**
 * compile(payload) → Evaluator. The payload is turned once into arrays of closures; evaluation
 * then does a Map lookup and walks precompiled checks, without JSON, regex construction or
 * per-call array building. Results of getVariant are shared frozen objects.
 *
 * Evaluation order mirrors unleash-client v6 exactly (dependencies before the enabled flag,
 * constraints before the strategy, strategy variants chosen as soon as a strategy matches), so
 * that even the Math.random fallbacks (random stickiness, missing stickiness values,
 * gradualRolloutRandom) are consumed in the same order as the Node SDK.
 */
import { ALWAYS_FALSE, compileConstraint, type Check } from './constraints.js';
import { compileStrategyImpl, type Params, type StrategyOptions } from './strategies.js';
import type {
  ClientFeaturesPayload,
  Constraint,
  Context,
  Dependency,
  EvaluationDetail,
  Evaluator,
  FeatureConfig,
  Reason,
  Segment,
  StrategyConfig,
  Variant,
} from './types.js';
import { DISABLED_VARIANT, DISABLED_VARIANT_ON, SelectKind, VariantSet } from './variants.js';

export interface ImpressionEvent {
  eventType: 'isEnabled' | 'getVariant';
  featureName: string;
  enabled: boolean;
  variant?: string;
  context: Context;
}

export interface CompileOptions extends StrategyOptions {
  /** Called for flags with `impressionData: true`, like Unleash's `impression` event. */
  onImpression?: (event: ImpressionEvent) => void;
}

interface CompiledStrategy {
  /** Index in the flag's `strategies` array. */
  readonly index: number;
  readonly constraints: Check[];
  readonly check: (ctx: Context) => boolean;
  readonly variants: VariantSet | null;
  readonly reason: Reason;
}

interface CompiledDependency {
  readonly name: string;
  parent: CompiledFlag | null;
  readonly expectEnabled: boolean;
  readonly variants: readonly string[] | null;
}

interface CompiledFlag {
  readonly name: string;
  readonly enabled: boolean;
  readonly impressionData: boolean;
  /** Unleash treats a non-array `strategies` as a malformed (off) flag. */
  readonly malformed: boolean;
  readonly strategies: CompiledStrategy[];
  /** Whether the raw flag has any strategies (unknown ones included). */
  readonly hasStrategies: boolean;
  readonly deps: CompiledDependency[] | null;
  /** Parents that have dependencies themselves are never satisfied (no transitive chains). */
  readonly hasDeps: boolean;
  readonly variants: VariantSet | null;
}

/** Outcome codes of the core evaluation: ≥ 0 is the index in `strategies` that matched. */
const ON_NO_STRATEGIES = -1;
const OFF_NO_MATCH = -2;
const OFF_DISABLED = -3;

const EMPTY_CONTEXT: Context = Object.freeze({}) as Context;

function compileFlagStrategy(
  s: StrategyConfig,
  index: number,
  segments: Map<unknown, Segment>,
  opts: StrategyOptions,
): CompiledStrategy | null {
  const params = (s.parameters ?? {}) as Params;
  const impl = compileStrategyImpl(s.name, params, opts);
  if (impl === null) return null; // unknown strategy: never matches
  const raw: (Constraint | undefined)[] = [];
  if (Array.isArray(s.constraints)) raw.push(...s.constraints);
  let segmentCount = 0;
  if (Array.isArray(s.segments)) {
    for (const id of s.segments) {
      segmentCount++;
      const seg = segments.get(id);
      if (seg === undefined) raw.push(undefined); // missing segment → the strategy is off
      else if (Array.isArray(seg.constraints)) raw.push(...seg.constraints);
    }
  }
  const constraints = raw.map(compileConstraint);
  const n = constraints.length;
  const strategyCheck = impl.check;
  let check: (ctx: Context) => boolean;
  if (constraints.some((c) => c === ALWAYS_FALSE)) {
    // Unleash stops at the first failing constraint; checks have no side effects, so a constant
    // false anywhere makes the whole strategy constant false.
    check = ALWAYS_FALSE;
  } else if (n === 0) {
    check = strategyCheck;
  } else if (n === 1) {
    const c0 = constraints[0];
    check = (ctx) => c0(ctx) && strategyCheck(ctx);
  } else {
    check = (ctx) => {
      for (let i = 0; i < n; i++) if (!constraints[i](ctx)) return false;
      return strategyCheck(ctx);
    };
  }
  let variants: VariantSet | null = null;
  if (Array.isArray(s.variants) && s.variants.length > 0) {
    const stickiness = (s.variants[0].stickiness || params.stickiness) as string | undefined;
    variants = new VariantSet(`${params.groupId}`, stickiness, s.variants);
  }
  const targeted = n > 0 || segmentCount > 0 || impl.kind === 'targeting';
  const reason: Reason = impl.kind === 'split' ? 'SPLIT' : targeted ? 'TARGETING_MATCH' : 'STATIC';
  return { index, constraints, check, variants, reason };
}

function compileFlag(f: FeatureConfig, segments: Map<unknown, Segment>, opts: StrategyOptions): CompiledFlag {
  const malformed = !Array.isArray(f.strategies);
  const rawStrategies = malformed ? [] : (f.strategies as StrategyConfig[]);
  const strategies: CompiledStrategy[] = [];
  rawStrategies.forEach((s, i) => {
    const c = s ? compileFlagStrategy(s, i, segments, opts) : null;
    if (c !== null) strategies.push(c);
  });
  const rawDeps: Dependency[] = Array.isArray(f.dependencies) ? f.dependencies : [];
  const deps: CompiledDependency[] | null = rawDeps.length
    ? rawDeps.map((d) => ({
        name: d.feature,
        parent: null,
        expectEnabled: d.enabled !== false,
        variants: Array.isArray(d.variants) && d.variants.length > 0 ? d.variants.slice() : null,
      }))
    : null;
  const variants =
    Array.isArray(f.variants) && f.variants.length > 0
      ? new VariantSet(f.name, f.variants[0]?.stickiness ?? undefined, f.variants)
      : null;
  return {
    name: f.name,
    enabled: !!f.enabled,
    impressionData: !!f.impressionData,
    malformed,
    strategies,
    hasStrategies: rawStrategies.length > 0,
    deps,
    hasDeps: rawDeps.length > 0,
    variants,
  };
}

class CompiledEvaluator implements Evaluator {
  private readonly flags: Map<string, CompiledFlag>;
  private readonly onImpression: CompileOptions['onImpression'];
  /** Strategy variant chosen by the last core evaluation that matched a strategy with variants. */
  private sv: Variant | null = null;
  private svKind: SelectKind = SelectKind.None;

  constructor(flags: Map<string, CompiledFlag>, opts: CompileOptions) {
    this.flags = flags;
    this.onImpression = opts.onImpression;
  }

  has(flag: string): boolean {
    return this.flags.has(flag);
  }

  flagNames(): string[] {
    return [...this.flags.keys()];
  }

  /** Whether the flag carries impressionData (for SDKs that emit impression events themselves). */
  impressionData(flag: string): boolean {
    return this.flags.get(flag)?.impressionData ?? false;
  }

  private depsSatisfied(f: CompiledFlag, ctx: Context): boolean {
    const deps = f.deps as CompiledDependency[];
    for (let i = 0; i < deps.length; i++) {
      const d = deps[i];
      const p = d.parent;
      if (p === null || p.hasDeps) return false;
      let ok: boolean;
      if (d.expectEnabled) {
        if (d.variants !== null) {
          const v = this.variantOf(p, ctx);
          ok = v.feature_enabled === true && d.variants.includes(v.name);
        } else {
          ok = this.core(p, ctx, true) >= ON_NO_STRATEGIES;
        }
      } else {
        ok = this.core(p, ctx, true) < ON_NO_STRATEGIES;
      }
      if (!ok) return false;
    }
    return true;
  }

  /**
   * Core evaluation. With `pickStrategyVariant`, a matching strategy's variants are selected
   * into `this.sv` (as Unleash always does; skipped on the plain isEnabled hot path, where
   * nothing can observe it).
   */
  private core(f: CompiledFlag, ctx: Context, pickStrategyVariant: boolean): number {
    if (f.deps !== null && !this.depsSatisfied(f, ctx)) return OFF_DISABLED;
    if (!f.enabled || f.malformed) return OFF_DISABLED;
    if (!f.hasStrategies) return ON_NO_STRATEGIES;
    const ss = f.strategies;
    for (let i = 0; i < ss.length; i++) {
      const s = ss[i];
      if (s.check(ctx)) {
        if (pickStrategyVariant) {
          const vs = s.variants;
          if (vs !== null) {
            this.sv = vs.select(ctx);
            this.svKind = vs.kind;
          } else {
            this.sv = null;
          }
        }
        return i;
      }
    }
    return OFF_NO_MATCH;
  }

  private variantOf(f: CompiledFlag, ctx: Context): Variant {
    const code = this.core(f, ctx, true);
    if (code < ON_NO_STRATEGIES) return DISABLED_VARIANT;
    if (code >= 0 && this.sv !== null) return this.sv;
    const vs = f.variants;
    if (vs === null) return DISABLED_VARIANT_ON;
    return vs.select(ctx) ?? DISABLED_VARIANT_ON;
  }

  isEnabled(flag: string, context?: Context): boolean {
    const f = this.flags.get(flag);
    if (f === undefined) return false;
    const ctx = context ?? EMPTY_CONTEXT;
    const on = this.core(f, ctx, false) >= ON_NO_STRATEGIES;
    if (f.impressionData && this.onImpression !== undefined) {
      this.onImpression({ eventType: 'isEnabled', featureName: flag, enabled: on, context: ctx });
    }
    return on;
  }

  getVariant(flag: string, context?: Context): Variant {
    const f = this.flags.get(flag);
    if (f === undefined) return DISABLED_VARIANT;
    const ctx = context ?? EMPTY_CONTEXT;
    const v = this.variantOf(f, ctx);
    if (f.impressionData && this.onImpression !== undefined) {
      this.onImpression({ eventType: 'getVariant', featureName: flag, enabled: v.enabled, variant: v.name, context: ctx });
    }
    return v;
  }

  evaluate(flag: string, context?: Context): EvaluationDetail {
    const f = this.flags.get(flag);
    if (f === undefined) {
      return { flag, value: false, variant: DISABLED_VARIANT, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' };
    }
    const ctx = context ?? EMPTY_CONTEXT;
    const code = this.core(f, ctx, true);
    const detail: EvaluationDetail = { flag, value: false, variant: DISABLED_VARIANT, reason: 'DISABLED' };
    if (f.impressionData) detail.impressionData = true;
    if (code === OFF_DISABLED) return detail;
    if (code === OFF_NO_MATCH) {
      detail.reason = 'DEFAULT';
      return detail;
    }
    detail.value = true;
    let reason: Reason = 'STATIC';
    if (code >= 0) {
      const s = f.strategies[code];
      detail.strategyIndex = s.index;
      reason = s.reason;
    }
    let variant: Variant | null = null;
    let kind: SelectKind = SelectKind.None;
    let splitCount = 0;
    if (code >= 0 && this.sv !== null) {
      variant = this.sv;
      kind = this.svKind;
      splitCount = (f.strategies[code].variants as VariantSet).splitCount;
    } else if (f.variants !== null) {
      variant = f.variants.select(ctx);
      kind = f.variants.kind;
      splitCount = f.variants.splitCount;
    }
    if (variant !== null) {
      if (kind === SelectKind.Override) reason = 'TARGETING_MATCH';
      else if (kind === SelectKind.Hash && splitCount > 1) reason = 'SPLIT';
    }
    detail.variant = variant ?? DISABLED_VARIANT_ON;
    detail.reason = reason;
    return detail;
  }
}

/** Compiles an Unleash client-API payload into an evaluator. */
export function compile(payload: ClientFeaturesPayload, options: CompileOptions = {}): Evaluator & {
  impressionData(flag: string): boolean;
} {
  const segments = new Map<unknown, Segment>();
  for (const s of payload.segments ?? []) segments.set(s.id, s);
  const flags = new Map<string, CompiledFlag>();
  for (const f of payload.features ?? []) {
    if (!f || typeof f.name !== 'string') continue;
    flags.set(f.name, compileFlag(f, segments, options));
  }
  for (const f of flags.values()) {
    if (f.deps === null) continue;
    for (const d of f.deps) d.parent = flags.get(d.name) ?? null;
  }
  return new CompiledEvaluator(flags, options);
}
