/**
 * Weighted variant selection (flag variants and strategy variants), as in Unleash:
 * overrides first (in variant order), then murmur3("groupId:stickinessValue", 86028157) modulo
 * the total weight. `weightType: fix` needs no special handling here — the server has already
 * turned fixed weights into the `weight` numbers the client sees, exactly as for Unleash SDKs.
 */
import { resolveContextValue } from './context.js';
import { murmur3Suffix, prefixState, type PrefixState } from './murmur3.js';
import type { Context, Variant, VariantDefinition } from './types.js';

export const VARIANT_SEED = 86028157;

export const DISABLED_VARIANT: Variant = Object.freeze({
  name: 'disabled',
  enabled: false,
  feature_enabled: false,
  featureEnabled: false,
});

/** The disabled variant of a flag that is on but has no (matching) variant. */
export const DISABLED_VARIANT_ON: Variant = Object.freeze({
  name: 'disabled',
  enabled: false,
  feature_enabled: true,
  featureEnabled: true,
});

/** Unleash's fallback seed when the stickiness value is missing. */
export function randomVariantSeed(): string {
  return String(Math.round(Math.random() * 100000));
}

/** How the last `select` call decided (read right after calling it). */
export const SelectKind = { None: 0, Override: 1, Hash: 2 } as const;
export type SelectKind = (typeof SelectKind)[keyof typeof SelectKind];

interface CompiledOverride {
  readonly contextName: string;
  readonly values: readonly unknown[];
}

export class VariantSet {
  private readonly total: number;
  private readonly weights: number[];
  private readonly results: Variant[];
  private readonly overrides: { index: number; list: CompiledOverride[] }[];
  private readonly prefix: PrefixState;
  private readonly stickiness: string;
  /** Number of variants with a positive weight: 2+ means a hash-based choice is a split. */
  readonly splitCount: number;
  kind: SelectKind = SelectKind.None;

  constructor(groupId: string, stickiness: string | undefined, defs: VariantDefinition[]) {
    this.prefix = prefixState(`${groupId}:`, VARIANT_SEED);
    this.stickiness = stickiness === undefined ? 'default' : stickiness;
    this.weights = defs.map((d) => (typeof d.weight === 'number' ? d.weight : Number(d.weight)));
    this.total = this.weights.reduce((a, w) => a + w, 0);
    this.splitCount = this.weights.filter((w) => w > 0).length;
    this.results = defs.map((d) => {
      const v: Variant = { name: d.name, enabled: true };
      if (d.payload !== undefined) v.payload = Object.freeze({ ...d.payload });
      v.feature_enabled = true;
      v.featureEnabled = true;
      return Object.freeze(v);
    });
    this.overrides = [];
    defs.forEach((d, index) => {
      if (!d.overrides) return;
      const list = (Array.isArray(d.overrides) ? d.overrides : []).map((o) => ({
        contextName: o.contextName,
        values: Array.isArray(o.values) ? o.values : [],
      }));
      this.overrides.push({ index, list });
    });
  }

  private seed(ctx: Context): string {
    const st = this.stickiness;
    if (st !== 'default') {
      const v = resolveContextValue(ctx, st);
      return v ? v : randomVariantSeed();
    }
    const u = ctx.userId;
    if (typeof u === 'string' && u !== '') return u;
    const s = ctx.sessionId;
    if (typeof s === 'string' && s !== '') return s;
    const r = ctx.remoteAddress;
    if (typeof r === 'string' && r !== '') return r;
    return randomVariantSeed();
  }

  /** The selected variant (as returned to callers), or null when none applies. */
  select(ctx: Context): Variant | null {
    this.kind = SelectKind.None;
    if (!(this.total > 0)) return null;
    const ov = this.overrides;
    for (let i = 0; i < ov.length; i++) {
      const list = ov[i].list;
      for (let j = 0; j < list.length; j++) {
        const o = list[j];
        const v = resolveContextValue(ctx, o.contextName);
        if (o.values.includes(v)) {
          this.kind = SelectKind.Override;
          return this.results[ov[i].index];
        }
      }
    }
    const target = (murmur3Suffix(this.prefix, this.seed(ctx)) % this.total) + 1;
    const w = this.weights;
    let counter = 0;
    for (let i = 0; i < w.length; i++) {
      if (w[i] === 0) continue;
      counter += w[i];
      if (counter >= target) {
        this.kind = SelectKind.Hash;
        return this.results[i];
      }
    }
    return null;
  }
}
