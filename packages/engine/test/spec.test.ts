/**
 * The Unleash client specification (@unleash/client-specification 6.1.0): every isEnabled test
 * and every variant test of all 22 files, including the delta-API files (19, 20) whose state is
 * a list of delta events rather than a payload.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyDelta, compile, type ClientFeaturesPayload, type DeltaEvent } from '@switchyard/engine';

const require = createRequire(import.meta.url);
const specDir = join(dirname(require.resolve('@unleash/client-specification/package.json')), 'specifications');
const index: string[] = JSON.parse(readFileSync(join(specDir, 'index.json'), 'utf8'));

interface SpecFile {
  name: string;
  state: ClientFeaturesPayload | { events: DeltaEvent[] };
  tests?: { description: string; context: Record<string, unknown>; toggleName: string; expectedResult: boolean }[];
  variantTests?: { description: string; context: Record<string, unknown>; toggleName: string; expectedResult: Record<string, unknown> }[];
}

const files: SpecFile[] = index.map((f) => JSON.parse(readFileSync(join(specDir, f), 'utf8')));

function payloadOf(spec: SpecFile): ClientFeaturesPayload {
  const state = spec.state;
  if ('events' in state && !('features' in state)) return applyDelta(undefined, state.events);
  return state as ClientFeaturesPayload;
}

let enabledCases = 0;
let variantCases = 0;

describe('Unleash client specification', () => {
  it('has the 22 specification files', () => {
    expect(index).toHaveLength(22);
  });

  for (const spec of files) {
    describe(spec.name, () => {
      const evaluator = compile(payloadOf(spec));
      for (const t of spec.tests ?? []) {
        enabledCases++;
        it(`isEnabled: ${t.description}`, () => {
          expect(evaluator.isEnabled(t.toggleName, t.context)).toBe(t.expectedResult);
          // evaluate() must agree with isEnabled.
          expect(evaluator.evaluate(t.toggleName, t.context).value).toBe(t.expectedResult);
        });
      }
      for (const t of spec.variantTests ?? []) {
        variantCases++;
        it(`getVariant: ${t.description}`, () => {
          const expected = { ...t.expectedResult };
          // Older spec files only list `feature_enabled`; SDKs also expose `featureEnabled`.
          if ('feature_enabled' in expected && !('featureEnabled' in expected)) {
            expected.featureEnabled = expected.feature_enabled;
          }
          expect(evaluator.getVariant(t.toggleName, t.context)).toEqual(expected);
          expect(evaluator.evaluate(t.toggleName, t.context).variant).toEqual(expected);
        });
      }
    });
  }

  it('covers all 227 isEnabled and 52 variant cases', () => {
    expect(enabledCases).toBe(227);
    expect(variantCases).toBe(52);
  });
});

describe('applyDelta', () => {
  const seg = { id: 7, constraints: [{ contextName: 'appName', operator: 'IN', values: ['a'] }] };
  const base: ClientFeaturesPayload = {
    version: 2,
    features: [
      { name: 'x', enabled: true, strategies: [{ name: 'default', segments: [7] }] },
      { name: 'y', enabled: true, strategies: [] },
    ],
    segments: [seg],
  };
  it('patches features and segments without touching the base payload', () => {
    const next = applyDelta(base, [
      { type: 'feature-removed', featureName: 'y' },
      { type: 'feature-updated', feature: { name: 'z', enabled: false, strategies: [] } },
      { type: 'segment-removed', segmentId: 7 },
    ]);
    const e = compile(next);
    expect(e.flagNames().sort()).toEqual(['x', 'z']);
    expect(e.isEnabled('x', { appName: 'a' })).toBe(false); // its segment is gone
    expect(compile(base).isEnabled('x', { appName: 'a' })).toBe(true);
    expect(base.features).toHaveLength(2);
  });
  it('hydration replaces everything', () => {
    const next = applyDelta(base, [{ type: 'hydration', features: [{ name: 'h', enabled: true, strategies: [] }], segments: [] }]);
    expect(compile(next).flagNames()).toEqual(['h']);
  });
});
