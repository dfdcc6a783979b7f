/**
 * OFREP (OpenFeature Remote Evaluation Protocol) evaluation: the OpenFeature context becomes an
 * Unleash context, the engine evaluates, and the result becomes an OFREP evaluation response.
 *
 * Value typing (docs/ofrep.md):
 * - a flag without variants (on the flag or any of its strategies) is a boolean flag: `value` is
 *   whether it is on for the context, `variant` is `on` or `off`;
 * - a flag with variants answers the selected variant's payload, typed by the payload type
 *   (`string`/`csv` → string, `number` → number, `json` → the parsed JSON), or the variant name
 *   when the variant has no payload; `variant` is the variant name. When no variant is selected
 *   (the flag is off for the context, or on without a variant) there is no `value`: the caller's
 *   code default applies (OFREP ADR-0006), `variant` is `disabled`, and `metadata.enabled` says
 *   whether the flag is on.
 */
import type { Context } from '@switchyard/engine';
import { buildContext, type CompiledSet } from '../frontend-api/evaluate.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Metadata = Record<string, string | number | boolean>;

export interface OfrepSuccess {
  key: string;
  /** Absent when the caller's code default applies. */
  value?: JsonValue;
  reason: string;
  variant: string;
  metadata: Metadata;
}

export type OfrepErrorCode = 'FLAG_NOT_FOUND' | 'PARSE_ERROR' | 'INVALID_CONTEXT' | 'TARGETING_KEY_MISSING' | 'GENERAL';

export interface OfrepFailure {
  key: string;
  errorCode: OfrepErrorCode;
  errorDetails: string;
  metadata?: Metadata;
}

/** An OFREP error answer: the protocol's `{key, errorCode, errorDetails}` with an HTTP status. */
export class OfrepError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: OfrepErrorCode,
    readonly errorDetails: string,
  ) {
    super(errorDetails);
  }
}

export const isFailure = (r: OfrepSuccess | OfrepFailure): r is OfrepFailure => 'errorCode' in r;

const MAX_TARGETING_KEY = 1000;

/**
 * The Unleash context for an OFREP request's `context`: `targetingKey` becomes `userId` (unless
 * `userId` is given too), Unleash's standard fields (`sessionId`, `remoteAddress`, `currentTime`,
 * `appName`, `environment`) stay where they are, `properties` and every other key become
 * properties (strings; numbers and booleans are turned into text, nested objects are ignored).
 * `remoteAddress` defaults to the caller's address only for frontend tokens (a browser calling
 * directly); a backend calling on behalf of its users must pass it.
 */
export function ofrepContext(raw: unknown, defaults: { remoteAddress?: string; environment: string }): Context {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new OfrepError(400, 'INVALID_CONTEXT', `"context" must be a JSON object (OpenFeature evaluation context), not ${Array.isArray(raw) ? 'an array' : typeof raw}.`);
  }
  const { targetingKey, ...rest } = raw as Record<string, unknown>;
  if (targetingKey !== undefined && targetingKey !== null) {
    if (typeof targetingKey !== 'string' && typeof targetingKey !== 'number') {
      throw new OfrepError(400, 'INVALID_CONTEXT', `"context.targetingKey" must be a string, not ${Array.isArray(targetingKey) ? 'an array' : typeof targetingKey}.`);
    }
    if (String(targetingKey).length > MAX_TARGETING_KEY) {
      throw new OfrepError(400, 'INVALID_CONTEXT', `"context.targetingKey" is too long (at most ${MAX_TARGETING_KEY} characters).`);
    }
    if (rest.userId === undefined || rest.userId === null || rest.userId === '') rest.userId = String(targetingKey);
  }
  if (rest.properties !== undefined && rest.properties !== null && (typeof rest.properties !== 'object' || Array.isArray(rest.properties))) {
    throw new OfrepError(400, 'INVALID_CONTEXT', '"context.properties" must be an object of name → value.');
  }
  const context = buildContext(rest, { remoteAddress: defaults.remoteAddress ?? '', environment: defaults.environment });
  if (!defaults.remoteAddress && context.remoteAddress === '') delete context.remoteAddress;
  return context;
}

/** A variant payload as an OFREP value; throws OfrepError(PARSE_ERROR) for a malformed one. */
export function payloadValue(flag: string, variant: { name: string; payload?: { type: string; value: string } }): JsonValue {
  const p = variant.payload;
  if (!p) return variant.name;
  switch (p.type) {
    case 'number': {
      const n = typeof p.value === 'string' && p.value.trim() !== '' ? Number(p.value) : NaN;
      if (!Number.isFinite(n)) throw new OfrepError(400, 'PARSE_ERROR', `Flag "${flag}": variant "${variant.name}" has a number payload that is not a number.`);
      return n;
    }
    case 'json':
      try {
        return JSON.parse(p.value) as JsonValue;
      } catch {
        throw new OfrepError(400, 'PARSE_ERROR', `Flag "${flag}": variant "${variant.name}" has a json payload that is not valid JSON.`);
      }
    default:
      // string, csv and anything newer: the text as it is.
      return String(p.value);
  }
}

/**
 * Evaluates one flag of the set for the context, as OFREP answers it. Unknown flags answer a
 * FLAG_NOT_FOUND failure; a malformed payload a PARSE_ERROR failure.
 */
export function evaluateFlag(set: CompiledSet, key: string, context: Context, extraMetadata: Metadata = {}): OfrepSuccess | OfrepFailure {
  const info = set.flagInfo(key);
  if (!info || !set.has(key)) {
    return {
      key,
      errorCode: 'FLAG_NOT_FOUND',
      errorDetails: `No flag "${key}" in environment "${set.environment}" for this token's projects (archived flags are not evaluated).`,
    };
  }
  const detail = set.evaluate(key, context);
  const metadata: Metadata = { enabled: detail.value, project: info.project, ...extraMetadata };
  if (!info.hasVariants) {
    return { key, value: detail.value, reason: detail.reason, variant: detail.value ? 'on' : 'off', metadata };
  }
  const v = detail.variant;
  if (!detail.value || !v.enabled || v.name === 'disabled') {
    // No variant for this context: the caller's code default applies.
    return { key, reason: detail.value ? 'DEFAULT' : detail.reason, variant: 'disabled', metadata };
  }
  try {
    return { key, value: payloadValue(key, v), reason: detail.reason, variant: v.name, metadata };
  } catch (err) {
    if (err instanceof OfrepError) return { key, errorCode: err.errorCode, errorDetails: err.errorDetails, metadata };
    throw err;
  }
}

/** Every flag of the set, by key. */
export function evaluateAllFlags(set: CompiledSet, context: Context): Array<OfrepSuccess | OfrepFailure> {
  return set
    .flagNames()
    .sort()
    .map((key) => evaluateFlag(set, key, context));
}
