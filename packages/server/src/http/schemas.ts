import { OPERATORS } from '@switchyard/engine';
import { Type, type Static } from 'typebox';

/**
 * Shared request schemas (TypeBox → plain JSON schema) for the shapes of the Unleash client API
 * that the admin API takes as input: constraints, strategies, variants, dependencies. Shape only;
 * the semantic checks (operators, regexes, CIDRs, weights…) live in `flags/validation.ts`.
 */

/** Constraint operators: the list lives in the engine, which evaluates them. */
export { OPERATORS };

/** Strategies every Unleash SDK implements. */
export const BUILTIN_STRATEGIES = [
  'default',
  'flexibleRollout',
  'userWithId',
  'gradualRolloutUserId',
  'gradualRolloutSessionId',
  'gradualRolloutRandom',
  'remoteAddress',
  'applicationHostname',
] as const;

export const ENVIRONMENT_TYPES = ['development', 'test', 'staging', 'production'] as const;

/** Flag names: any printable, non-space characters except `/` (names travel in URL paths). UTF-8 is fine. */
export const FLAG_NAME_PATTERN = '^[^\\s/\\p{Cc}\\p{Cf}]+$';
export const PROJECT_ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,99}$';
export const ENVIRONMENT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$';

export const FlagName = Type.String({ minLength: 1, maxLength: 255, pattern: FLAG_NAME_PATTERN, description: 'Flag name (URL-safe; UTF-8 allowed, no spaces or slashes)' });
export const ProjectId = Type.String({ minLength: 1, maxLength: 100, pattern: PROJECT_ID_PATTERN, description: 'Project id' });
export const EnvironmentName = Type.String({ minLength: 1, maxLength: 100, pattern: ENVIRONMENT_NAME_PATTERN, description: 'Environment name' });
export const Description = Type.String({ maxLength: 2000 });
export const ShortText = Type.String({ maxLength: 255 });
export const ContextName = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' });

export const ConstraintSchema = Type.Object(
  {
    contextName: ContextName,
    operator: Type.String({ minLength: 1, maxLength: 50, description: `One of ${OPERATORS.join(', ')}` }),
    values: Type.Optional(Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 10000 })),
    value: Type.Optional(Type.String({ maxLength: 1000 })),
    inverted: Type.Optional(Type.Boolean()),
    caseInsensitive: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ConstraintInput = Static<typeof ConstraintSchema>;

export const PayloadSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('string'), Type.Literal('json'), Type.Literal('csv'), Type.Literal('number')]),
    value: Type.String({ maxLength: 100_000 }),
  },
  { additionalProperties: false },
);

export const OverrideSchema = Type.Object(
  {
    contextName: ContextName,
    values: Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 10000 }),
  },
  { additionalProperties: false },
);

export const VariantSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' }),
    weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'Out of 1000; recomputed for variable variants' })),
    weightType: Type.Optional(Type.Union([Type.Literal('variable'), Type.Literal('fix')])),
    stickiness: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    payload: Type.Optional(PayloadSchema),
    overrides: Type.Optional(Type.Array(OverrideSchema, { maxItems: 100 })),
  },
  { additionalProperties: false },
);
export type VariantInput = Static<typeof VariantSchema>;
export const VariantList = Type.Array(VariantSchema, { maxItems: 100 });

export const StrategyInputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: `One of ${BUILTIN_STRATEGIES.join(', ')}` }),
    title: Type.Optional(Type.String({ maxLength: 255 })),
    disabled: Type.Optional(Type.Boolean()),
    parameters: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.Union([Type.String({ maxLength: 100_000 }), Type.Number()]))),
    constraints: Type.Optional(Type.Array(ConstraintSchema, { maxItems: 100 })),
    segments: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 100 })),
    variants: Type.Optional(VariantList),
    sortOrder: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type StrategyInput = Static<typeof StrategyInputSchema>;

export const DependencySchema = Type.Object(
  {
    feature: FlagName,
    enabled: Type.Optional(Type.Boolean()),
    variants: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 100 })),
  },
  { additionalProperties: false },
);
export type DependencyInput = Static<typeof DependencySchema>;

export const FlagNameParams = Type.Object({ name: FlagName }, { additionalProperties: false });
export const FlagEnvParams = Type.Object({ name: FlagName, env: EnvironmentName }, { additionalProperties: false });
export const FlagEnvStrategyParams = Type.Object(
  { name: FlagName, env: EnvironmentName, id: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);
