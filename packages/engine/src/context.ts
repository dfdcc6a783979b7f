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

/**
 * Returns the engine's canonical (internalized) copy of a property name. Field names that come
 * from JSON values are not internalized; keyed property loads with such strings make V8 look
 * the name up in its string table on every access.
 */
export function internalize(s: string): string {
  const keys = Object.keys({ [s]: 0 });
  return keys.length === 1 && keys[0] === s ? keys[0] : s;
}

/** A resolver specialised for one field: named loads for Unleash's standard fields. */
export function contextResolver(field: string): (ctx: Context) => string | undefined {
  const str = (v: unknown): string | undefined =>
    v === undefined || v === null ? undefined : typeof v === 'string' ? v : String(v);
  switch (field) {
    case 'userId':
      return (ctx) => str(ctx.userId ?? ctx.properties?.userId);
    case 'sessionId':
      return (ctx) => str(ctx.sessionId ?? ctx.properties?.sessionId);
    case 'remoteAddress':
      return (ctx) => str(ctx.remoteAddress ?? ctx.properties?.remoteAddress);
    case 'environment':
      return (ctx) => str(ctx.environment ?? ctx.properties?.environment);
    case 'appName':
      return (ctx) => str(ctx.appName ?? ctx.properties?.appName);
    default: {
      const f = internalize(field);
      return (ctx) => {
        let v: unknown = ctx[f];
        if (v === undefined || v === null) {
          const props = ctx.properties;
          if (props === undefined || props === null) return undefined;
          v = props[f];
          if (v === undefined || v === null) return undefined;
        }
        return typeof v === 'string' ? v : String(v);
      };
    }
  }
}
