/**
 * The UI's as-you-type checks must agree with the server's: a constraint the form accepts is one
 * the admin API accepts, and one it refuses the API refuses too. Checked value by value against
 * the server's own validator (packages/server/src/flags/validation.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { validateConstraint } from '../../server/src/flags/validation.js';
import { OPERATORS, SINGLE_VALUE, constraintErrors, flagNameError, loadRe2, percentError } from '../src/validation';
import { diffLines } from '../src/components/Diff';
import { isStale, staleDays } from '../src/stale';

const SAMPLES: Record<string, string[]> = {
  NUM: ['1', '-2.5', '1e3', '.5', '+7', 'abc', '1,5', '', ' 3 ', '0x10', 'Infinity', '1e999', '5.'],
  DATE: ['2025-01-31', '2025-01-31T12:00:00Z', '2025-01-31T12:00Z', '2025-02-30', '2025-01-31T12:00:00+02:00', '2025-01-31T12:00:00.123456Z', 'yesterday', '31/01/2025', '2025-13-01'],
  SEMVER: ['1.2.3', 'v1.2.3', '1.2', '1.2.3-beta.1', '1.2.3+build.5', '01.2.3', '1.2.3-01', 'abc', '1.2.3.4', ' 1.2.3 '],
  REGEX: ['^a+$', '(a)\\1', '[', 'a{2,}', '(?=x)', '\\d+', '(?i)abc', '(', 'a**'],
  CIDR: ['10.0.0.0/8', '10.0.0.1', '::1', '2001:db8::/32', '10.0.0.0/33', '300.1.1.1', 'abc', '10.0.0', '192.168.1.1/24'],
  TEXT: ['anything', '', 'with space', 'ünïcödé'],
};

function samplesFor(op: string): string[] {
  if (op.startsWith('NUM_')) return SAMPLES.NUM;
  if (op.startsWith('DATE_')) return SAMPLES.DATE;
  if (op.startsWith('SEMVER_')) return SAMPLES.SEMVER;
  if (op === 'REGEX') return SAMPLES.REGEX;
  if (op === 'IN_CIDR') return SAMPLES.CIDR;
  return SAMPLES.TEXT;
}

const serverAccepts = (c: Parameters<typeof validateConstraint>[0]) => {
  try {
    validateConstraint(c, 'test');
    return true;
  } catch {
    return false;
  }
};

describe('constraint checks in the form agree with the server', () => {
  beforeAll(async () => {
    await loadRe2();
  });

  for (const op of OPERATORS) {
    it(op, () => {
      const disagreements: string[] = [];
      for (const value of samplesFor(op)) {
        for (const caseInsensitive of op === 'REGEX' ? [false, true] : [false]) {
          const c = SINGLE_VALUE.has(op) ? { contextName: 'x', operator: op, value, caseInsensitive } : { contextName: 'x', operator: op, values: [value], caseInsensitive };
          const ui = Object.keys(constraintErrors(c)).length === 0;
          const server = serverAccepts(c);
          if (ui !== server) disagreements.push(`${JSON.stringify(value)}: UI ${ui ? 'accepts' : 'refuses'}, server ${server ? 'accepts' : 'refuses'}`);
        }
      }
      expect(disagreements).toEqual([]);
    });
  }

  it('explains what is wrong in words', () => {
    expect(constraintErrors({ contextName: 'age', operator: 'NUM_GT', value: 'abc' }).value).toBe('"abc" is not a number.');
    expect(constraintErrors({ contextName: 'v', operator: 'SEMVER_EQ', value: '1.2' }).value).toMatch(/semantic version/);
    expect(constraintErrors({ contextName: 'ip', operator: 'IN_CIDR', values: ['10.0.0.0/8', 'nope'] }).values).toMatch(/"nope" is not an IP address or CIDR/);
    expect(constraintErrors({ contextName: 'r', operator: 'REGEX', value: '(' }).value).toMatch(/RE2/);
    expect(constraintErrors({ contextName: '', operator: 'IN', values: [] }).contextName).toBeTruthy();
  });
});

describe('other form checks', () => {
  it('rollout percentages as the server takes them', () => {
    for (const ok of ['0', '50', '100', '0.05', '12.34']) expect(percentError(ok), ok).toBeNull();
    for (const bad of ['', '101', '-1', '50%', '1.234', 'abc']) expect(percentError(bad), bad).toBeTruthy();
  });
  it('flag names', () => {
    for (const ok of ['checkout.new-flow', 'a', 'ünïcödé_flag', 'x'.repeat(255)]) expect(flagNameError(ok), ok).toBeNull();
    expect(flagNameError('two words')).toMatch(/No spaces/);
    expect(flagNameError('a/b')).toMatch(/slash/);
    expect(flagNameError('..')).toBeTruthy();
    expect(flagNameError('x'.repeat(256))).toBeTruthy();
  });
  it('stale: older than the type’s expected lifetime', () => {
    const now = Date.parse('2025-06-01T00:00:00Z');
    const daysAgo = (d: number) => new Date(now - d * 86_400_000).toISOString();
    expect(isStale({ type: 'release', createdAt: daysAgo(41) }, now)).toBe(true);
    expect(isStale({ type: 'release', createdAt: daysAgo(39) }, now)).toBe(false);
    expect(staleDays({ type: 'operational', createdAt: daysAgo(8) }, now)).toBe(8);
    expect(isStale({ type: 'kill-switch', createdAt: daysAgo(400) }, now)).toBe(false);
  });
  it('audit diffs keep unchanged lines and mark changed ones', () => {
    expect(diffLines(['{', '  "a": 1', '  "b": 2', '}'], ['{', '  "a": 1', '  "b": 3', '}'])).toEqual([
      { kind: 'same', text: '{' },
      { kind: 'same', text: '  "a": 1' },
      { kind: 'del', text: '  "b": 2' },
      { kind: 'add', text: '  "b": 3' },
      { kind: 'same', text: '}' },
    ]);
  });
});
