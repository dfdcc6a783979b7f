import { Type, type Static } from 'typebox';
import { HISTOGRAM_SIZE } from './buckets.js';

const Count = Type.Integer({ minimum: 0, maximum: 1e12 });

/** One cohort's counts in one metrics report. */
export const CohortCountsSchema = Type.Object(
  {
    requests: Count,
    errors: Count,
    latency: Type.Optional(
      Type.Array(Count, {
        minItems: HISTOGRAM_SIZE,
        maxItems: HISTOGRAM_SIZE,
        description: `Per-bucket counts (not cumulative) for the bounds 5,10,25,50,75,100,150,200,250,300,400,500,750,1000,1500,2000,3000,5000,10000 ms and +Inf (${HISTOGRAM_SIZE} counts).`,
      }),
    ),
  },
  { additionalProperties: true },
);
export type CohortCountsBody = Static<typeof CohortCountsSchema>;

/**
 * `bucket.cohorts` of a metrics report (a Switchyard extension; Unleash servers ignore it):
 * flag → cohort (variant name, `on` or `off`) → counts.
 */
export const CohortOutcomesSchema = Type.Record(
  Type.String({ minLength: 1, maxLength: 255 }),
  Type.Record(Type.String({ minLength: 1, maxLength: 255 }), CohortCountsSchema, { maxProperties: 50 }),
  { maxProperties: 1000, description: 'Switchyard cohort outcomes: flag → cohort → {requests, errors, latency}. See docs/signals.md.' },
);
export type CohortOutcomesBody = Static<typeof CohortOutcomesSchema>;

const LabelSet = Type.Record(Type.String({ maxLength: 1024 }), Type.String({ maxLength: 16_384 }), { maxProperties: 200 });

/** One alert of an Alertmanager webhook notification. */
export const AlertmanagerAlert = Type.Object(
  {
    status: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
    labels: LabelSet,
    annotations: Type.Optional(LabelSet),
    startsAt: Type.Optional(Type.String({ maxLength: 64 })),
    endsAt: Type.Optional(Type.String({ maxLength: 64 })),
    generatorURL: Type.Optional(Type.String({ maxLength: 4096 })),
    fingerprint: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: true },
);
export type AlertmanagerAlert = Static<typeof AlertmanagerAlert>;

/** Prometheus Alertmanager's webhook body (`version: "4"`). */
export const AlertmanagerWebhook = Type.Object(
  {
    version: Type.String({ maxLength: 16 }),
    groupKey: Type.Optional(Type.String({ maxLength: 16_384 })),
    truncatedAlerts: Type.Optional(Type.Integer({ minimum: 0 })),
    status: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
    receiver: Type.Optional(Type.String({ maxLength: 1024 })),
    groupLabels: Type.Optional(LabelSet),
    commonLabels: Type.Optional(LabelSet),
    commonAnnotations: Type.Optional(LabelSet),
    externalURL: Type.Optional(Type.String({ maxLength: 4096 })),
    alerts: Type.Array(AlertmanagerAlert, { maxItems: 1000 }),
  },
  { additionalProperties: true },
);
export type AlertmanagerWebhook = Static<typeof AlertmanagerWebhook>;
