/** Request schemas of the release API (TypeBox → JSON schema; semantic checks in templates.ts). */
import { Type } from 'typebox';
import { ConstraintSchema, EnvironmentName, FlagName, ProjectId, VariantList } from '../http/schemas.js';
import { PLAN_STATES } from './model.js';

const Ms = (description: string) => Type.Integer({ minimum: 0, maximum: 30 * 24 * 3600 * 1000, description });
const Probability = (description: string) => Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description });

const LatencyThreshold = Type.Union([
  Type.Object({ quantile: Probability('A quantile of the control’s latency, e.g. 0.95') }, { additionalProperties: false }),
  Type.Object({ ms: Type.Number({ exclusiveMinimum: 0, maximum: 600_000, description: 'A fixed latency (SLO), ms' }) }, { additionalProperties: false }),
]);

const SloGuard = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('error-rate'),
      max: Type.Number({ minimum: 0, maximum: 1, description: 'Largest canary error rate, e.g. 0.05' }),
      windowMs: Type.Optional(Ms('Sliding window, ms (default 60 s)')),
      minRequests: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('latency'),
      thresholdMs: Type.Number({ exclusiveMinimum: 0, maximum: 600_000 }),
      maxFraction: Type.Number({ minimum: 0, maximum: 1, description: 'Largest fraction of canary requests slower than thresholdMs' }),
      windowMs: Type.Optional(Ms('Sliding window, ms (default 60 s)')),
      minRequests: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9 })),
    },
    { additionalProperties: false },
  ),
]);

export const HealthGateSchema = Type.Object(
  {
    alpha: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 0.5, description: 'False-rollback budget of the whole rollout (default 0.01): roll back at e ≥ 1/α' })),
    errors: Type.Optional(Type.Boolean({ description: 'Compare error rates (default true)' })),
    latency: Type.Optional(
      Type.Union([
        Type.Literal(false),
        Type.Object(
          {
            thresholds: Type.Optional(Type.Array(LatencyThreshold, { maxItems: 10 })),
            minBaselineRequests: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9 })),
          },
          { additionalProperties: false },
        ),
      ], { description: 'Compare counts of slow requests (default: above the control’s p95 and p99); false to skip' }),
    ),
    minCanaryRequests: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9, description: 'Canary requests before the gate can hold (default 300)' })),
    minControlRequests: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9, description: 'Control requests before the gate can hold (default 300)' })),
    srm: Type.Optional(
      Type.Union([
        Type.Literal(false),
        Type.Literal('auto'),
        Type.Object(
          { expectedShare: Type.Optional(Probability('Share of requests the canary should get')), alpha: Type.Optional(Probability('SRM false-alarm budget')), tolerance: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })) },
          { additionalProperties: false },
        ),
      ], { description: 'Sample-ratio-mismatch check (pauses the plan); auto: when the canary share is known (default)' }),
    ),
    sloGuards: Type.Optional(Type.Array(SloGuard, { maxItems: 10 })),
    metricWeights: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.Number({ minimum: 0, maximum: 1000 }))),
    psiGrid: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 1, maximum: 1e6 }), { minItems: 1, maxItems: 32 })),
    psiWeights: Type.Optional(Type.Array(Type.Number({ minimum: 0 }), { minItems: 1, maxItems: 32 })),
    buckets: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 3_600_000 }), { minItems: 1, maxItems: 64, description: 'Latency histogram bounds, ms (must match the SDKs’)' })),
  },
  { additionalProperties: false },
);

export const TemplateStrategySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    title: Type.Optional(Type.String({ maxLength: 255 })),
    disabled: Type.Optional(Type.Boolean()),
    parameters: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.Union([Type.String({ maxLength: 100_000 }), Type.Number()]))),
    constraints: Type.Optional(Type.Array(ConstraintSchema, { maxItems: 100 })),
    segments: Type.Optional(Type.Array(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 255 })]), { maxItems: 100, description: 'Segment ids or names' })),
    variants: Type.Optional(VariantList),
  },
  { additionalProperties: false },
);

export const MilestoneSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    strategies: Type.Array(TemplateStrategySchema, { minItems: 1, maxItems: 50 }),
    bakeMs: Type.Optional(Ms('How long the milestone runs (and its gate holds) before the guardian advances')),
    gate: Type.Optional(HealthGateSchema),
    autoAdvance: Type.Optional(Type.Boolean({ description: 'false: wait for a person to advance when the gate holds (default true)' })),
  },
  { additionalProperties: false },
);

const Rollback = Type.Union([Type.Literal('previous'), Type.Literal('off')], { description: 'previous: back one milestone (before the first: the flag as it was); off: the flag off' });
const OnAlert = Type.Union([Type.Literal('rollback'), Type.Literal('pause')], { description: 'What an inbound alert does to a running plan (default rollback)' });

const TemplateFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  milestones: Type.Array(MilestoneSchema, { minItems: 1, maxItems: 50 }),
  rollback: Type.Optional(Rollback),
  bakeMs: Type.Optional(Ms('Default bake time of every milestone')),
  gate: Type.Optional(HealthGateSchema),
  onAlert: Type.Optional(OnAlert),
};

export const TemplateId = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' });
/** POST and PUT take the same body (one compiled validator); on PUT an `id` must be the path's. */
export const TemplateBody = Type.Object({ id: Type.Optional(TemplateId), ...TemplateFields }, { additionalProperties: false });
export const TemplateParams = Type.Object({ id: TemplateId }, { additionalProperties: false });

const Cohort = Type.String({ minLength: 1, maxLength: 255 });

export const CreatePlanBody = Type.Object(
  {
    flag: FlagName,
    environment: EnvironmentName,
    template: Type.Optional(TemplateId),
    milestones: Type.Optional(Type.Array(MilestoneSchema, { minItems: 1, maxItems: 50 })),
    rollback: Type.Optional(Rollback),
    onAlert: Type.Optional(OnAlert),
    bakeMs: Type.Optional(Ms('Bake time of every milestone (overrides the template)')),
    gate: Type.Optional(HealthGateSchema),
    cohorts: Type.Optional(
      Type.Object({ canary: Type.Optional(Cohort), control: Type.Optional(Cohort) }, { additionalProperties: false, description: 'Cohorts compared (default on vs off; variant names for variant flags)' }),
    ),
    segments: Type.Optional(Type.Record(Type.String({ maxLength: 255 }), Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 255 })]), { description: 'Segment names in the template → your segment ids or names' })),
    start: Type.Optional(Type.Boolean({ description: 'Start the plan right away' })),
  },
  { additionalProperties: false },
);

export const PlanParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export const ActionBody = Type.Object(
  {
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    expectedStep: Type.Optional(Type.Integer({ minimum: 0, description: 'Only if the plan is still at this step (safe retries)' })),
  },
  { additionalProperties: false },
);

const StateList = Type.Union([Type.Literal('active'), ...PLAN_STATES.map((s) => Type.Literal(s))]);
export const ListQuery = Type.Object(
  {
    flag: Type.Optional(FlagName),
    environment: Type.Optional(EnvironmentName),
    project: Type.Optional(ProjectId),
    state: Type.Optional(Type.Array(StateList, { maxItems: 6, description: 'Filter by state (repeatable; "active" = draft, running, paused)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
  },
  { additionalProperties: false },
);

export const SeriesQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'Only checks after this decision id (the `next` of the previous answer)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 2000 })),
  },
  { additionalProperties: false },
);

export const DecisionsQuery = Type.Object(
  {
    source: Type.Optional(Type.Union([Type.Literal('guardian'), Type.Literal('manual'), Type.Literal('alert')])),
    acted: Type.Optional(Type.Boolean({ description: 'Only decisions that changed the plan' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
  },
  { additionalProperties: false },
);
