/**
 * Checks the UI runs as you type, mirroring the server's (packages/server/src/flags/validation.ts
 * and http/schemas.ts) so that a form the UI accepts is one the server accepts. Each returns an
 * error message a person can act on, or null when the value is fine.
 *
 * REGEX values compile with RE2JS — the same RE2 engine the server and the SDKs' engine use — which
 * is loaded on demand (it is large and most people never type a regex).
 */
// Only the operator list: the engine is side-effect free, so the bundle leaves its evaluator (and re2js) out.
import { OPERATORS, type Operator } from '@switchyard/engine';
import ipaddr from 'ipaddr.js';

export { OPERATORS, type Operator };

export const OPERATOR_LABELS: Record<Operator, string> = {
  IN: 'is one of',
  NOT_IN: 'is not one of',
  STR_CONTAINS: 'contains',
  STR_STARTS_WITH: 'starts with',
  STR_ENDS_WITH: 'ends with',
  NUM_EQ: '= (number)',
  NUM_GT: '> (number)',
  NUM_GTE: '≥ (number)',
  NUM_LT: '< (number)',
  NUM_LTE: '≤ (number)',
  DATE_AFTER: 'is after (date)',
  DATE_BEFORE: 'is before (date)',
  SEMVER_EQ: '= (semver)',
  SEMVER_GT: '> (semver)',
  SEMVER_GTE: '≥ (semver)',
  SEMVER_LT: '< (semver)',
  SEMVER_LTE: '≤ (semver)',
  REGEX: 'matches regex (RE2)',
  IN_CIDR: 'is in IP range (CIDR)',
};

export const OPERATOR_GROUPS: { label: string; operators: Operator[] }[] = [
  { label: 'Lists', operators: ['IN', 'NOT_IN'] },
  { label: 'Text', operators: ['STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'REGEX'] },
  { label: 'Numbers', operators: ['NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE'] },
  { label: 'Dates', operators: ['DATE_AFTER', 'DATE_BEFORE'] },
  { label: 'Versions', operators: ['SEMVER_EQ', 'SEMVER_GT', 'SEMVER_GTE', 'SEMVER_LT', 'SEMVER_LTE'] },
  { label: 'Network', operators: ['IN_CIDR'] },
];

/** Operators that take one `value` (the rest take a list of `values`). */
export const SINGLE_VALUE = new Set<string>(['NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE', 'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_GTE', 'SEMVER_LT', 'SEMVER_LTE', 'REGEX']);
/** Operators where "ignore case" means something. */
export const CASE_OPERATORS = new Set<string>(['IN', 'NOT_IN', 'STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'REGEX']);

export const CONTEXT_FIELDS = ['userId', 'sessionId', 'remoteAddress', 'currentTime', 'environment', 'appName'];

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const PERCENT = /^(\d{1,3})(\.\d{1,2})?$/;
// semver.org's regex with the optional leading "v" node-semver accepts.
const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export const isNumber = (v: string) => NUMBER.test(v.trim()) && Number.isFinite(Number(v));

export function isValidDate(value: string): boolean {
  if (!ISO_DATE.test(value)) return false;
  if (Number.isNaN(Date.parse(value))) return false;
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  const check = new Date(Date.UTC(y, m - 1, d));
  return check.getUTCFullYear() === y && check.getUTCMonth() === m - 1 && check.getUTCDate() === d;
}

export const isSemver = (v: string) => v.trim().length <= 256 && SEMVER.test(v.trim());

export function isIpOrCidr(value: string): boolean {
  try {
    if (value.includes('/')) ipaddr.parseCIDR(value);
    else ipaddr.parse(value);
    return true;
  } catch {
    return false;
  }
}

// ---- RE2, loaded on demand ----
type RE2 = typeof import('re2js').RE2JS;
let re2: RE2 | null = null;
let re2Loading: Promise<RE2> | null = null;
export function loadRe2(): Promise<RE2> {
  re2Loading ??= import('re2js').then((m) => (re2 = m.RE2JS));
  return re2Loading;
}
export const re2Ready = () => re2 !== null;

export function regexError(pattern: string, caseInsensitive = false): string | null {
  if (!re2) {
    // Until RE2 has loaded, the browser's engine catches most mistakes.
    try {
      new RegExp(pattern, 'u');
      return null;
    } catch (err) {
      return `Not a valid regular expression: ${(err as Error).message}`;
    }
  }
  try {
    re2.compile(pattern, caseInsensitive ? re2.CASE_INSENSITIVE : 0);
    return null;
  } catch (err) {
    return `Not a valid RE2 regular expression: ${(err as Error).message}`;
  }
}

/** The message for one value of a constraint with this operator, or null. */
export function constraintValueError(operator: string, value: string, caseInsensitive = false): string | null {
  if (operator.startsWith('NUM_')) return isNumber(value) ? null : `"${value}" is not a number.`;
  if (operator.startsWith('DATE_')) return isValidDate(value) ? null : `"${value}" is not an ISO-8601 date (e.g. 2025-01-31T12:00:00Z).`;
  if (operator.startsWith('SEMVER_')) return isSemver(value) ? null : `"${value}" is not a semantic version (e.g. 1.2.3 or 2.0.0-beta.1).`;
  if (operator === 'REGEX') return regexError(value, caseInsensitive);
  if (operator === 'IN_CIDR') return isIpOrCidr(value.trim()) ? null : `"${value}" is not an IP address or CIDR range (e.g. 10.0.0.0/8).`;
  if (value.length > 1000) return 'At most 1000 characters.';
  return null;
}

/** All problems of a constraint, by field: `contextName`, `value` (single) or `values` (list). */
export function constraintErrors(c: { contextName: string; operator: string; value?: string; values?: string[]; caseInsensitive?: boolean }): {
  contextName?: string;
  value?: string;
  values?: string;
} {
  const out: { contextName?: string; value?: string; values?: string } = {};
  if (!c.contextName.trim()) out.contextName = 'Pick or type a context field.';
  if (!(OPERATORS as readonly string[]).includes(c.operator)) out.value = `Unknown operator ${c.operator}.`;
  else if (SINGLE_VALUE.has(c.operator)) {
    const v = c.value ?? '';
    if (v === '') out.value = 'A value is required.';
    else {
      const e = constraintValueError(c.operator, v, c.caseInsensitive);
      if (e) out.value = e;
    }
  } else {
    for (const v of c.values ?? []) {
      const e = constraintValueError(c.operator, v, c.caseInsensitive);
      if (e) {
        out.values = e;
        break;
      }
    }
  }
  return out;
}

export function percentError(raw: string): string | null {
  const v = raw.trim();
  if (v === '') return 'A percentage is required.';
  if (!PERCENT.test(v) || Number(v) > 100) return 'A percentage from 0 to 100, at most two decimals (e.g. 25 or 0.05).';
  return null;
}

const FLAG_NAME = /^[^\s/\p{Cc}\p{Cf}]+$/u;
export function flagNameError(name: string): string | null {
  if (name === '') return 'A name is required.';
  if (name.length > 255) return 'At most 255 characters.';
  if (/\s/.test(name)) return 'No spaces: use dots, dashes or underscores (e.g. checkout.new-flow).';
  if (name.includes('/')) return 'No slashes: the name travels in URLs.';
  if (!FLAG_NAME.test(name)) return 'Only printable characters.';
  if (name === '.' || name === '..') return `"${name}" cannot be a flag name.`;
  return null;
}

export function projectIdError(id: string): string | null {
  if (id === '') return 'An id is required.';
  if (!/^[a-z0-9][a-z0-9_.-]{0,99}$/.test(id)) return 'Lowercase letters, digits, ".", "_" and "-", starting with a letter or digit (at most 100).';
  return null;
}

export function environmentNameError(name: string): string | null {
  if (name === '') return 'A name is required.';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name)) return 'Letters, digits, ".", "_" and "-", starting with a letter or digit (at most 100).';
  return null;
}

export function jsonError(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return `Not valid JSON: ${(err as Error).message}`;
  }
}

/** Splits "a, b,c" into trimmed non-empty items. */
export const splitList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
