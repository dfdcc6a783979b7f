/** The one-sentence evidence the API, CLI and web UI show: a latency metric still warming up (no threshold yet) is never quoted. */
import { describe, expect, it } from 'vitest';
import { evidenceSentence } from '../src/releases/evidence.js';
import type { Evidence, MetricEvidence } from '../src/releases/guardian/index.js';
import type { PlanSpec } from '../src/releases/model.js';

const spec = { cohorts: { canary: 'on', control: 'off' } } as PlanSpec;
const metric = (m: Partial<MetricEvidence>): MetricEvidence => ({
  id: 'errors',
  kind: 'errors',
  weight: 1,
  thresholdMs: null,
  thresholdSource: null,
  e: 1,
  log10E: 0,
  log10EByPsi: [],
  psiWeights: [],
  gridLog10E: 0,
  plugIn: null,
  check: null,
  total: { canary: { requests: 0, events: 0 }, control: { requests: 0, events: 0 } },
  ...m,
});
const evidence = (metrics: MetricEvidence[]) => ({ e: 0.5, log10E: Math.log10(0.5), threshold: 100, alpha: 0.01, metrics }) as unknown as Evidence;

describe('evidence sentence', () => {
  it('quotes the strongest metric that has counts, not a latency metric still warming up', () => {
    const errors = metric({ e: 0.4, log10E: Math.log10(0.4), total: { canary: { requests: 45, events: 1 }, control: { requests: 249, events: 3 } } });
    const warming = metric({ id: 'latency>p95', kind: 'latency', thresholdSource: 'warm-up' });
    expect(evidenceSentence(evidence([errors, warming]), spec)).toBe('canary error rate 2.2 % vs control 1.2 % over 45 vs 249 requests; evidence e = 0.5 < 100 (α = 1 %)');
    const slow = metric({ id: 'latency>p95', kind: 'latency', thresholdMs: 300, thresholdSource: 'baseline', e: 3, log10E: Math.log10(3), total: { canary: { requests: 45, events: 9 }, control: { requests: 249, events: 12 } } });
    expect(evidenceSentence(evidence([errors, slow]), spec)).toMatch(/^canary requests slower than 300 ms 20\.0 % vs control 4\.8 % over 45 vs 249 requests/);
    expect(evidenceSentence(evidence([warming]), spec)).toBe('evidence e = 0.5 < 100 (α = 1 %)');
  });
});
