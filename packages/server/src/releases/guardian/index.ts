/**
 * Guardian statistics for guarded rollouts (DESIGN §5): a pure module with no I/O and no
 * dependency on the rest of the server. See docs/guardian.md.
 */
export { initialState, nextMilestone, resolveConfig, step } from './guardian.js';
export type {
  CohortCounts,
  Decision,
  Evidence,
  GuardianBatch,
  GuardianConfig,
  GuardianState,
  InitialStateOptions,
  LatencyThreshold,
  MetricEvidence,
  MetricState,
  ResolvedConfig,
  ResolvedSloGuard,
  SloEvidence,
  SloGuard,
  StepResult,
  Tally,
} from './guardian.js';
export { DEFAULT_PSI_GRID, equalWeights, lnMean, lnMixture, logSumExp, normalizeMixture, updateLnE } from './e-process.js';
export { fnchPmf, lnChoose, lnFactorial, lnLikelihoodRatio, lnLikelihoodRatios, lnNormalizer } from './hypergeometric.js';
export { addHistogram, boundIndexAtLeast, countAbove, DEFAULT_BUCKETS_MS, histogramTotal, quantileBoundIndex } from './latency.js';
export { addPlugInCheck, emptyPlugInStats, PLUG_IN_POINTS, plugInEstimate, plugInPrior } from './plug-in.js';
export type { PlugInStats } from './plug-in.js';
export { DEFAULT_SRM_RATIOS, srmAlternatives, updateSrm } from './srm.js';
export type { SrmAlternative } from './srm.js';

import { initialState, step } from './guardian.js';
/** The reducer as one object: `Guardian.step(Guardian.initialState(config), batch)`. */
export const Guardian = { initialState, step } as const;
