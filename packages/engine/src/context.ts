import type { Context } from './types.js';

/**
 * Unleash's context lookup: a top-level field wins, then `properties[field]`; null/undefined
 * mean "absent"; anything else is compared as `String(value)`.
 */
export function resolveContextValue(ctx: Context, field: string): string | undefined {
  let v: unknown = ctx[field];
  if (v === undefined || v === null) {
    const props = ctx.properties;
    if (props === undefined || props === null) return undefined;
    v = props[field];
    if (v === undefined || v === null) return undefined;
  }
  return typeof v === 'string' ? v : String(v);
}

/** The raw value, for callers that can avoid the String() conversion. */
export function rawContextValue(ctx: Context, field: string): unknown {
  const v: unknown = ctx[field];
  if (v !== undefined && v !== null) return v;
  const props = ctx.properties;
  if (props === undefined || props === null) return undefined;
  const p: unknown = props[field];
  return p === null ? undefined : p;
}
