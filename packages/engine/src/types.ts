/**
 * The Unleash client-API payload (what `GET /api/client/features` returns) and the evaluation
 * context. These shapes are the contract between server, SDK and engine.
 */

import type { Operator } from './operators.js';

export type { Operator };

export interface Constraint {
  contextName: string;
  operator: Operator | string;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}

export interface Payload {
  type: string;
  value: string;
}

export interface Override {
  contextName: string;
  values: string[];
}

export interface VariantDefinition {
  name: string;
  weight: number;
  weightType?: 'variable' | 'fix' | string;
  stickiness?: string;
  payload?: Payload;
  overrides?: Override[];
}

export interface StrategyConfig {
  id?: string;
  name: string;
  title?: string;
  disabled?: boolean | null;
  parameters?: Record<string, string | number | undefined>;
  constraints?: Constraint[];
  segments?: number[];
  variants?: VariantDefinition[];
}

export interface Dependency {
  feature: string;
  enabled?: boolean;
  variants?: string[];
}

export interface FeatureConfig {
  name: string;
  type?: string;
  description?: string | null;
  project?: string;
  enabled: boolean;
  stale?: boolean;
  impressionData?: boolean;
  strategies?: StrategyConfig[];
  variants?: VariantDefinition[] | null;
  dependencies?: Dependency[];
}

export interface Segment {
  id: number;
  name?: string;
  constraints: Constraint[];
}

export interface ClientFeaturesPayload {
  version: number;
  features: FeatureConfig[];
  segments?: Segment[];
  query?: unknown;
  meta?: Record<string, unknown>;
}

export interface Context {
  userId?: string;
  sessionId?: string;
  remoteAddress?: string;
  currentTime?: Date | string;
  environment?: string;
  appName?: string;
  properties?: Record<string, string | number | boolean | undefined | null>;
  [key: string]: unknown;
}

/** Unleash's variant shape as SDKs return it. */
export interface Variant {
  name: string;
  enabled: boolean;
  payload?: Payload;
  feature_enabled?: boolean;
  /** Unleash SDKs also expose `featureEnabled`. */
  featureEnabled?: boolean;
}

/** OpenFeature resolution reasons. */
export type Reason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

export interface EvaluationDetail {
  flag: string;
  /** Whether the flag is on for this context. */
  value: boolean;
  variant: Variant;
  reason: Reason;
  /** Index of the strategy that matched, when one did. */
  strategyIndex?: number;
  /** Error code when reason is ERROR (e.g. FLAG_NOT_FOUND). */
  errorCode?: 'FLAG_NOT_FOUND' | 'PARSE_ERROR' | 'GENERAL';
  /** Present (true) when the flag asks for impression events. */
  impressionData?: boolean;
}

export interface Evaluator {
  isEnabled(flag: string, context?: Context): boolean;
  getVariant(flag: string, context?: Context): Variant;
  evaluate(flag: string, context?: Context): EvaluationDetail;
  has(flag: string): boolean;
  flagNames(): string[];
}
