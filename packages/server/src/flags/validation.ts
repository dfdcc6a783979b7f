import { RE2JS } from 're2js';
import ipaddr from 'ipaddr.js';
import semver from 'semver';
import type { Constraint, VariantDefinition } from '@switchyard/engine';
import { badRequest } from '../http/problem.js';
import { BUILTIN_STRATEGIES, OPERATORS, type ConstraintInput, type StrategyInput, type VariantInput } from '../http/schemas.js';

/**
 * Semantic checks on top of the JSON schemas: what the schema cannot say (valid regexes, CIDRs,
 * semvers, rollout ranges, variant weights). Each throws a 400 problem naming the offending item.
 */

const SINGLE_VALUE = new Set(['NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE', 'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_GTE', 'SEMVER_LT', 'SEMVER_LTE', 'REGEX']);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const PERCENT = /^(\d{1,3})(\.\d{1,2})?$/;

export function isValidDate(value: string): boolean {
  if (!ISO_DATE.test(value)) return false;
  const t = Date.parse(value);
  if (Number.isNaN(t)) return false;
  // Date.parse rolls 2024-02-31 over to March; refuse dates that do not exist.
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  const check = new Date(Date.UTC(y, m - 1, d));
  return check.getUTCFullYear() === y && check.getUTCMonth() === m - 1 && check.getUTCDate() === d;
}

export function isValidCidrOrIp(value: string): boolean {
  try {
    if (value.includes('/')) ipaddr.parseCIDR(value);
    else ipaddr.parse(value);
    return true;
  } catch {
    return false;
  }
}

/** Returns the constraint as stored: only the keys Unleash knows, value vs values per operator. */
export function validateConstraint(c: ConstraintInput, where: string): Constraint {
  const label = `${where} (contextName "${c.contextName}", operator ${c.operator})`;
  if (!(OPERATORS as readonly string[]).includes(c.operator)) {
    throw badRequest(`Unknown operator "${c.operator}" in ${where}; use one of ${OPERATORS.join(', ')}.`);
  }
  const out: Constraint = { contextName: c.contextName, operator: c.operator };
  if (SINGLE_VALUE.has(c.operator)) {
    const value = c.value ?? (c.values && c.values.length === 1 ? c.values[0] : undefined);
    if (value === undefined || value === '') throw badRequest(`${label} needs a single "value".`);
    if (c.operator.startsWith('NUM_') && (!NUMBER.test(value.trim()) || !Number.isFinite(Number(value)))) {
      throw badRequest(`${label}: "${value}" is not a number.`);
    }
    if (c.operator.startsWith('DATE_') && !isValidDate(value)) {
      throw badRequest(`${label}: "${value}" is not a valid ISO-8601 date (e.g. 2025-01-31T12:00:00Z).`);
    }
    if (c.operator.startsWith('SEMVER_') && !semver.valid(value)) {
      throw badRequest(`${label}: "${value}" is not a valid semantic version (e.g. 1.2.3 or 2.0.0-beta.1).`);
    }
    if (c.operator === 'REGEX') {
      try {
        RE2JS.compile(value, c.caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
      } catch (err) {
        throw badRequest(`${label}: the regular expression "${value}" is invalid (${(err as Error).message}); REGEX uses RE2 syntax.`);
      }
    }
    out.value = value;
  } else {
    if (c.value !== undefined && c.values === undefined) throw badRequest(`${label} takes a list "values", not a single "value".`);
    const values = c.values ?? [];
    if (c.operator === 'IN_CIDR') {
      const bad = values.find((v) => !isValidCidrOrIp(v.trim()));
      if (bad !== undefined) throw badRequest(`${label}: "${bad}" is not an IP address or CIDR range (e.g. 10.0.0.0/8).`);
    }
    out.values = values;
  }
  if (c.inverted !== undefined) out.inverted = c.inverted;
  if (c.caseInsensitive !== undefined) out.caseInsensitive = c.caseInsensitive;
  return out;
}

export function validateConstraints(list: ConstraintInput[] | undefined, where: string): Constraint[] {
  return (list ?? []).map((c, i) => validateConstraint(c, `${where} constraint #${i + 1}`));
}

/**
 * Unleash's weight rule: fixed variants keep their weights; the rest of 1000 is shared out among
 * the variable ones (first ones get the remainder). With no variable variants the fixed ones must
 * add up to exactly 1000.
 */
export function normalizeVariants(list: VariantInput[] | undefined, where: string): VariantDefinition[] {
  const variants = list ?? [];
  if (variants.length === 0) return [];
  const seen = new Set<string>();
  for (const v of variants) {
    if (seen.has(v.name)) throw badRequest(`${where}: variant name "${v.name}" appears twice; variant names must be unique.`);
    seen.add(v.name);
    if (v.weightType === 'fix' && v.weight === undefined) throw badRequest(`${where}: variant "${v.name}" has weightType "fix" but no weight.`);
  }
  const fixed = variants.filter((v) => v.weightType === 'fix');
  const fixedSum = fixed.reduce((s, v) => s + (v.weight ?? 0), 0);
  const variable = variants.filter((v) => v.weightType !== 'fix');
  if (fixedSum > 1000) throw badRequest(`${where}: fixed variant weights add up to ${fixedSum}, more than 1000 (100%).`);
  if (variable.length === 0 && fixedSum !== 1000) {
    throw badRequest(`${where}: all variants have fixed weights, so they must add up to 1000 (100%); they add up to ${fixedSum}.`);
  }
  const share = variable.length ? Math.floor((1000 - fixedSum) / variable.length) : 0;
  const remainder = variable.length ? (1000 - fixedSum) % variable.length : 0;
  let i = 0;
  return variants.map((v) => {
    const out: VariantDefinition = {
      name: v.name,
      weight: v.weightType === 'fix' ? v.weight! : share + (i++ < remainder ? 1 : 0),
      weightType: v.weightType ?? 'variable',
      stickiness: v.stickiness ?? 'default',
    };
    if (v.payload) out.payload = { type: v.payload.type, value: v.payload.value };
    if (v.payload?.type === 'json') {
      try {
        JSON.parse(v.payload.value);
      } catch {
        throw badRequest(`${where}: variant "${v.name}" has a json payload that is not valid JSON.`);
      }
    }
    if (v.payload?.type === 'number' && !NUMBER.test(v.payload.value.trim())) {
      throw badRequest(`${where}: variant "${v.name}" has a number payload that is not a number.`);
    }
    if (v.overrides?.length) out.overrides = v.overrides.map((o) => ({ contextName: o.contextName, values: o.values }));
    return out;
  });
}

function percentage(params: Record<string, string>, key: string, where: string, fallback?: string): void {
  const raw = params[key] ?? fallback;
  if (raw === undefined) throw badRequest(`${where}: parameter "${key}" is required (a percentage 0–100).`);
  const m = PERCENT.exec(raw.trim());
  if (!m || Number(raw) > 100) {
    throw badRequest(`${where}: parameter "${key}" must be a percentage from 0 to 100 with at most two decimals (e.g. 25 or 0.05); got "${raw}".`);
  }
  params[key] = raw.trim();
}

/** Validates and normalizes a strategy's name and parameters (numbers become strings, defaults filled). */
export function validateStrategyParameters(input: StrategyInput, flagName: string, where: string): Record<string, string> {
  if (!(BUILTIN_STRATEGIES as readonly string[]).includes(input.name)) {
    throw badRequest(`Unknown strategy "${input.name}" in ${where}; use one of ${BUILTIN_STRATEGIES.join(', ')}.`);
  }
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.parameters ?? {})) {
    if (typeof v === 'number' && !Number.isFinite(v)) throw badRequest(`${where}: parameter "${k}" must be a finite number or a string.`);
    params[k] = String(v);
  }
  const stickiness = (key: string) => {
    if (params[key] !== undefined && params[key].trim() === '') throw badRequest(`${where}: parameter "${key}" must not be empty (use "default", "userId", "sessionId", "random" or a context field).`);
  };
  switch (input.name) {
    case 'flexibleRollout':
      percentage(params, 'rollout', where, '100');
      params.stickiness ??= 'default';
      stickiness('stickiness');
      if (!params.groupId) params.groupId = flagName;
      break;
    case 'gradualRolloutUserId':
    case 'gradualRolloutSessionId':
      percentage(params, 'percentage', where);
      if (!params.groupId) params.groupId = flagName;
      break;
    case 'gradualRolloutRandom':
      percentage(params, 'percentage', where);
      break;
    case 'userWithId':
      if (params.userIds === undefined) throw badRequest(`${where}: parameter "userIds" (comma-separated user ids) is required.`);
      break;
    case 'remoteAddress': {
      if (params.IPs === undefined) throw badRequest(`${where}: parameter "IPs" (comma-separated IPs or CIDR ranges) is required.`);
      const bad = params.IPs.split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .find((ip) => !isValidCidrOrIp(ip));
      if (bad !== undefined) throw badRequest(`${where}: "${bad}" in parameter "IPs" is not an IP address or CIDR range.`);
      break;
    }
    case 'applicationHostname':
      if (params.hostNames === undefined) throw badRequest(`${where}: parameter "hostNames" (comma-separated host names) is required.`);
      break;
  }
  return params;
}
