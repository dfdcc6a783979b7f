/**
 * Constraint compilation. Every operator is turned into a closure once, with its constant side
 * (value lists, regexes, semver versions, CIDR ranges, dates, numbers) parsed at compile time.
 * Semantics follow the Unleash Node SDK (unleash-client v6) operator for operator:
 *  - an unknown operator is false, even when inverted;
 *  - `inverted` negates the operator's result (including "context value missing → false");
 *  - `caseInsensitive` applies to STR_* (via toLocaleLowerCase) and REGEX only;
 *  - list values are cleaned like Unleash: empty strings dropped, the rest trimmed;
 *  - DATE_* compare `context.currentTime` (or now), whatever the constraint's contextName says.
 */
import { RE2JS } from 're2js';
import { SemVer } from 'semver';
import { contextResolver, internalize, rawContextValue } from './context.js';
import { parseV4, parseV6, v4PrefixEqual, v6Equal, v6PrefixEqual, type V4, type V6 } from './ip.js';
import type { Constraint, Context } from './types.js';

export type Check = (ctx: Context) => boolean;

const FALSE: Check = () => false;
const TRUE: Check = () => true;

function cleanValues(values: unknown): string[] {
  if (!Array.isArray(values)) return [];
  const out: string[] = [];
  for (const v of values) if (v) out.push(typeof v === 'string' ? v.trim() : String(v).trim());
  return out;
}

function compileIn(c: Constraint): Check {
  const values = cleanValues(c.values);
  const resolve = contextResolver(c.contextName);
  const notIn = c.operator === 'NOT_IN';
  if (values.length <= 4) {
    const n = values.length;
    return (ctx) => {
      const v = resolve(ctx);
      let isIn = false;
      if (v !== undefined) {
        for (let i = 0; i < n; i++) {
          if (values[i] === v) {
            isIn = true;
            break;
          }
        }
      }
      return isIn !== notIn;
    };
  }
  const set = new Set(values);
  return (ctx) => {
    const v = resolve(ctx);
    const isIn = v !== undefined && set.has(v);
    return isIn !== notIn;
  };
}

function compileString(c: Constraint): Check {
  const resolve = contextResolver(c.contextName);
  const ci = !!c.caseInsensitive;
  const values = ci ? cleanValues(c.values).map((v) => v.toLocaleLowerCase()) : cleanValues(c.values);
  const n = values.length;
  const op = c.operator;
  const test =
    op === 'STR_STARTS_WITH'
      ? (v: string) => {
          for (let i = 0; i < n; i++) if (v.startsWith(values[i])) return true;
          return false;
        }
      : op === 'STR_ENDS_WITH'
        ? (v: string) => {
            for (let i = 0; i < n; i++) if (v.endsWith(values[i])) return true;
            return false;
          }
        : (v: string) => {
            for (let i = 0; i < n; i++) if (v.includes(values[i])) return true;
            return false;
          };
  if (ci) {
    return (ctx) => {
      const v = resolve(ctx);
      return v !== undefined && test(v.toLocaleLowerCase());
    };
  }
  if (op === 'STR_STARTS_WITH' && n === 1) {
    const v0 = values[0];
    return (ctx) => {
      const v = resolve(ctx);
      return v !== undefined && v.startsWith(v0);
    };
  }
  return (ctx) => {
    const v = resolve(ctx);
    return v !== undefined && test(v);
  };
}

function compileNumber(c: Constraint): Check {
  const field = internalize(c.contextName);
  const value = Number(c.value);
  if (Number.isNaN(value)) return FALSE;
  const num = (ctx: Context): number => {
    const raw = rawContextValue(ctx, field);
    if (typeof raw === 'number') return raw;
    if (typeof raw === 'string') return Number(raw);
    if (raw === undefined) return NaN;
    return Number(String(raw));
  };
  // NaN context values compare false with every operator, as in Unleash.
  switch (c.operator) {
    case 'NUM_EQ':
      return (ctx) => num(ctx) === value;
    case 'NUM_GT':
      return (ctx) => num(ctx) > value;
    case 'NUM_GTE':
      return (ctx) => num(ctx) >= value;
    case 'NUM_LT':
      return (ctx) => num(ctx) < value;
    default:
      return (ctx) => num(ctx) <= value;
  }
}

function currentTime(ctx: Context): number {
  const t = ctx.currentTime as unknown;
  if (!t) return Date.now();
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'string') return Date.parse(t);
  return new Date(t as number).getTime();
}

function compileDate(c: Constraint): Check {
  const value = new Date(c.value as string).getTime();
  if (Number.isNaN(value)) return FALSE;
  return c.operator === 'DATE_AFTER' ? (ctx) => currentTime(ctx) > value : (ctx) => currentTime(ctx) < value;
}

/** Small bounded cache of parsed context versions (null = not a valid semver for Unleash). */
const semverCache = new Map<string, SemVer | null>();
function parseContextSemver(v: string): SemVer | null {
  let p = semverCache.get(v);
  if (p !== undefined) return p;
  p = null;
  // Unleash: semver.valid(v) (strict, trims whitespace) and not starting with "v".
  if (v.length <= 256 && !v.startsWith('v')) {
    try {
      p = new SemVer(v);
    } catch {
      p = null;
    }
  }
  if (semverCache.size >= 1000) semverCache.clear();
  semverCache.set(v, p);
  return p;
}

/**
 * Parses a plain `MAJOR.MINOR.PATCH` (no prerelease, build, whitespace or prefix; no leading
 * zeroes; at most 15 digits per part) into `out`; false for anything else, which then takes
 * the general semver path. Every string accepted here is valid for semver with these numbers.
 */
function parsePlainVersion(v: string, out: number[]): boolean {
  const len = v.length;
  let part = 0;
  let n = 0;
  let digits = 0;
  for (let i = 0; i < len; i++) {
    const ch = v.charCodeAt(i);
    if (ch >= 48 && ch <= 57) {
      if (digits === 1 && n === 0) return false; // leading zero
      n = n * 10 + (ch - 48);
      if (++digits > 15) return false;
    } else if (ch === 46 && digits > 0 && part < 2) {
      out[part++] = n;
      n = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (part !== 2 || digits === 0) return false;
  out[2] = n;
  return true;
}

function compileSemver(c: Constraint): Check {
  const resolve = contextResolver(c.contextName);
  let target: SemVer;
  try {
    target = new SemVer(c.value as string);
  } catch {
    return FALSE;
  }
  const tMajor = target.major;
  const tMinor = target.minor;
  const tPatch = target.patch;
  const tHasPre = target.prerelease.length > 0;
  const parts = [0, 0, 0];
  const cmp = (ctx: Context): number => {
    const v = resolve(ctx);
    if (!v) return NaN;
    if (parsePlainVersion(v, parts)) {
      // Same ordering as SemVer#compare for a version without prerelease.
      if (parts[0] !== tMajor) return parts[0] > tMajor ? 1 : -1;
      if (parts[1] !== tMinor) return parts[1] > tMinor ? 1 : -1;
      if (parts[2] !== tPatch) return parts[2] > tPatch ? 1 : -1;
      return tHasPre ? 1 : 0;
    }
    const p = parseContextSemver(v);
    return p === null ? NaN : p.compare(target);
  };
  switch (c.operator) {
    case 'SEMVER_EQ':
      return (ctx) => cmp(ctx) === 0;
    case 'SEMVER_GT':
      return (ctx) => cmp(ctx) > 0;
    case 'SEMVER_LT':
      return (ctx) => cmp(ctx) < 0;
    case 'SEMVER_GTE':
      return (ctx) => cmp(ctx) >= 0;
    default:
      return (ctx) => cmp(ctx) <= 0;
  }
}

function compileRegex(c: Constraint): Check {
  const resolve = contextResolver(c.contextName);
  let re: RE2JS;
  try {
    re = RE2JS.compile(c.value as string, c.caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
  } catch {
    return FALSE;
  }
  return (ctx) => {
    const v = resolve(ctx);
    if (v === undefined) return false;
    try {
      return re.test(v);
    } catch {
      return false;
    }
  };
}

function compileCidr(c: Constraint): Check {
  const resolve = contextResolver(c.contextName);
  const v4: V4[] = [];
  const v6: V6[] = [];
  for (const range of cleanValues(c.values)) {
    const a = parseV4(range);
    if (a) v4.push(a);
    const b = a ? null : parseV6(range);
    if (b) v6.push(b);
  }
  return (ctx) => {
    const v = resolve(ctx);
    if (v === undefined) return false;
    const a = parseV4(v);
    if (a !== null) {
      for (const r of v4) {
        if (a.addr === r.addr || (a.prefix >= r.prefix && v4PrefixEqual(a.addr, r.addr, r.prefix))) return true;
      }
      return false;
    }
    if (v6.length === 0) return false;
    const b = parseV6(v);
    if (b === null) return false;
    for (const r of v6) {
      if (v6Equal(b.parts, r.parts) || (b.prefix >= r.prefix && v6PrefixEqual(b.parts, r.parts, r.prefix))) return true;
    }
    return false;
  };
}

function compileOperator(c: Constraint): Check | null {
  switch (c.operator) {
    case 'IN':
    case 'NOT_IN':
      return compileIn(c);
    case 'STR_STARTS_WITH':
    case 'STR_ENDS_WITH':
    case 'STR_CONTAINS':
      return compileString(c);
    case 'NUM_EQ':
    case 'NUM_GT':
    case 'NUM_GTE':
    case 'NUM_LT':
    case 'NUM_LTE':
      return compileNumber(c);
    case 'DATE_AFTER':
    case 'DATE_BEFORE':
      return compileDate(c);
    case 'SEMVER_EQ':
    case 'SEMVER_GT':
    case 'SEMVER_LT':
    case 'SEMVER_GTE':
    case 'SEMVER_LTE':
      return compileSemver(c);
    case 'REGEX':
      return compileRegex(c);
    case 'IN_CIDR':
      return compileCidr(c);
    default:
      return null;
  }
}

/** Compiles one constraint; a missing constraint (e.g. an unknown segment) never matches. */
export function compileConstraint(c: Constraint | null | undefined): Check {
  if (!c) return FALSE;
  const op = compileOperator(c);
  if (op === null) return FALSE;
  if (!c.inverted) return op;
  if (op === FALSE) return TRUE;
  return (ctx) => !op(ctx);
}

export { FALSE as ALWAYS_FALSE, TRUE as ALWAYS_TRUE };
