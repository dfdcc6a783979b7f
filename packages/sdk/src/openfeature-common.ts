/** Shared by the OpenFeature providers: context mapping and resolution details. */
import type { Context } from '@switchyard/engine';
import type { Resolution } from './client.js';

const STANDARD = new Set(['userId', 'sessionId', 'remoteAddress', 'environment', 'appName']);

type OFContextValue = string | number | boolean | Date | null | undefined | OFContextValue[] | { [key: string]: OFContextValue };

/**
 * An OpenFeature evaluation context as an Unleash context: `targetingKey` is the `userId` (unless
 * one is given), the standard fields keep their names, everything else becomes a property.
 */
export function toUnleashContext(ctx: Record<string, OFContextValue> | undefined): Context {
  const out: Context = {};
  const properties: Record<string, string> = {};
  const text = (v: OFContextValue): string | undefined => {
    if (v === null || v === undefined) return undefined;
    if (v instanceof Date) return v.toISOString();
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return JSON.stringify(v);
  };
  for (const [k, v] of Object.entries(ctx ?? {})) {
    if (k === 'targetingKey') continue;
    if (k === 'currentTime') {
      if (v instanceof Date || typeof v === 'string') out.currentTime = v;
    } else if (STANDARD.has(k)) {
      const t = text(v);
      if (t !== undefined) out[k] = t;
    } else if (k === 'properties' && v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      for (const [pk, pv] of Object.entries(v)) {
        const t = text(pv);
        if (t !== undefined) properties[pk] = t;
      }
    } else {
      const t = text(v);
      if (t !== undefined) properties[k] = t;
    }
  }
  if (out.userId === undefined && typeof ctx?.targetingKey === 'string') out.userId = ctx.targetingKey;
  if (Object.keys(properties).length) out.properties = properties;
  return out;
}

export interface ResolutionDetailsLike<T> {
  value: T;
  variant?: string;
  reason?: string;
  errorCode?: string;
  errorMessage?: string;
  flagMetadata?: Record<string, string | number | boolean>;
}

/** A client resolution as OpenFeature resolution details (error codes and reasons have the same names). */
export function toDetails<T>(r: Resolution<T>): ResolutionDetailsLike<T> {
  const d: ResolutionDetailsLike<T> = { value: r.value, reason: r.reason, flagMetadata: r.flagMetadata };
  if (r.variant !== undefined) d.variant = r.variant;
  if (r.errorCode !== undefined) {
    d.errorCode = r.errorCode;
    if (r.errorMessage !== undefined) d.errorMessage = r.errorMessage;
  }
  return d;
}

/** An object resolution must be a JSON object or array (OpenFeature's "structure"). */
export function requireStructure<T>(r: Resolution<T>, defaultValue: T): Resolution<T> {
  if (r.errorCode || r.value === defaultValue) return r;
  if (typeof r.value === 'object' && r.value !== null) return r;
  return { ...r, value: defaultValue, reason: 'ERROR', errorCode: 'TYPE_MISMATCH', errorMessage: 'the JSON payload is not an object or array' };
}

/** `track()` details → outcome: `flag`/`flagKey` and `variant` name the cohort, `value` is summed. */
export function outcomeOf(details: Record<string, unknown> | undefined): { flag?: string; variant?: string; value?: number } {
  const o: { flag?: string; variant?: string; value?: number } = {};
  const flag = details?.flag ?? details?.flagKey;
  if (typeof flag === 'string') o.flag = flag;
  if (typeof details?.variant === 'string') o.variant = details.variant;
  if (typeof details?.value === 'number') o.value = details.value;
  return o;
}
