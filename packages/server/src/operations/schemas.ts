import { Type } from 'typebox';

/** RFC 9457 problem document, as every error is answered. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, description: 'application/problem+json (RFC 9457)' },
);

/** Headers the Unleash SDKs send; accepted and documented, none required. */
export const UnleashHeaders = Type.Object(
  {
    'unleash-appname': Type.Optional(Type.String()),
    'unleash-instanceid': Type.Optional(Type.String()),
    'unleash-sdk': Type.Optional(Type.String()),
    'unleash-connection-id': Type.Optional(Type.String()),
    'unleash-client-spec': Type.Optional(Type.String()),
    'if-none-match': Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
