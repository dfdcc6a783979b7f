import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { flagSetCache } from './cache.js';
import { effectiveProjects, flavourFor } from './payload.js';
import { sendDocument } from './http-cache.js';
import { deltaService } from './delta.js';
import { MetricsBody, RegisterBody, identify, recordMetrics, recordRegistration } from './metrics.js';
import { serverMetrics } from '../operations/prom.js';
import { ProblemSchema, UnleashHeaders } from '../operations/schemas.js';
import { checkMetricsCohorts, ingestMetricsCohorts } from '../signals/ingest.js';

const FeaturesQuery = Type.Object(
  {
    project: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100, description: 'Only these projects (within the token’s).' })),
    namePrefix: Type.Optional(Type.String({ maxLength: 255, description: 'Only flags whose name starts with this.' })),
  },
  // SDKs and proxies add their own query parameters; ignore them.
  { additionalProperties: true },
);

const Strategy = Type.Object(
  {
    id: Type.Optional(Type.String()),
    name: Type.String(),
    title: Type.Optional(Type.String()),
    parameters: Type.Record(Type.String(), Type.Unknown()),
    constraints: Type.Array(Type.Unknown()),
    segments: Type.Optional(Type.Array(Type.Integer())),
    variants: Type.Optional(Type.Array(Type.Unknown())),
  },
  { additionalProperties: true },
);

const Feature = Type.Object(
  {
    name: Type.String(),
    type: Type.String(),
    description: Type.String(),
    project: Type.String(),
    enabled: Type.Boolean(),
    stale: Type.Boolean(),
    impressionData: Type.Boolean(),
    strategies: Type.Array(Strategy),
    variants: Type.Array(Type.Unknown()),
    dependencies: Type.Optional(
      Type.Array(Type.Object({ feature: Type.String(), enabled: Type.Optional(Type.Boolean()), variants: Type.Optional(Type.Array(Type.String())) })),
    ),
  },
  { additionalProperties: true },
);

/** Documentation only: the body is a pre-serialized Buffer and never goes through a serializer. */
const FeaturesResponse = Type.Object(
  {
    version: Type.Integer(),
    features: Type.Array(Feature),
    segments: Type.Optional(Type.Array(Type.Object({ id: Type.Integer(), name: Type.Optional(Type.String()), constraints: Type.Array(Type.Unknown()) }))),
    query: Type.Record(Type.String(), Type.Unknown()),
    meta: Type.Object({ revisionId: Type.Integer(), etag: Type.String(), queryHash: Type.String() }),
  },
  { description: 'The flag set of the token’s environment and projects (Unleash client API v2).' },
);

const Accepted = Type.Null({ description: 'Accepted.' });

/**
 * The Unleash client API, unchanged for the official server-side SDKs: backend tokens only.
 * Admin tokens are refused (403) here: they carry no environment, so there is no flag set
 * they could mean.
 */
const routes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const onRequest = requireToken(services.tokens, ['backend']);
  const cache = flagSetCache(services);
  const prom = serverMetrics(services);
  const common = { tags: ['client-api'], security: [{ token: [] }], headers: UnleashHeaders };

  app.get<{ Querystring: { project?: string[]; namePrefix?: string } }>(
    '/api/client/features',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Flag configuration for server-side SDKs (ETag/304, gzip/br)',
        querystring: FeaturesQuery,
        response: { 200: FeaturesResponse, 304: Type.Null({ description: 'Not modified.' }), 401: ProblemSchema, 403: ProblemSchema },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const requested = request.query.project?.length ? [...new Set(request.query.project)].sort() : undefined;
      const scope = effectiveProjects(principal.projects, requested);
      const flavour = flavourFor(request.headers['unleash-client-spec']);
      const doc = await cache.document(principal.environment, scope, { projects: requested, namePrefix: request.query.namePrefix || undefined }, flavour);
      return sendDocument(request, reply, doc);
    },
  );

  const delta = deltaService(cache);
  app.get<{ Querystring: { project?: string[]; namePrefix?: string } }>(
    '/api/client/delta',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Flag configuration changes since the SDK’s ETag (Unleash delta API)',
        querystring: FeaturesQuery,
        response: {
          200: Type.Object(
            { events: Type.Array(Type.Object({ eventId: Type.Integer(), type: Type.String() }, { additionalProperties: true })) },
            { description: '`hydration` (everything) for an unknown ETag, otherwise feature-updated/-removed and segment-updated/-removed events.' },
          ),
          304: Type.Null({ description: 'Not modified.' }),
          401: ProblemSchema,
          403: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const requested = request.query.project?.length ? [...new Set(request.query.project)].sort() : undefined;
      const scope = effectiveProjects(principal.projects, requested);
      const inm = request.headers['if-none-match'];
      const doc = await delta.document(principal.environment, scope, request.query.namePrefix || undefined, Array.isArray(inm) ? inm.join(',') : inm);
      if ('unchanged' in doc) return reply.header('etag', doc.unchanged).header('vary', 'Accept-Encoding').code(304).send();
      return sendDocument(request, reply, doc);
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/client/features/:name',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'One flag’s configuration for server-side SDKs',
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }),
        response: { 200: Feature, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const flavour = flavourFor(request.headers['unleash-client-spec']);
      const loaded = await cache.loaded(principal.environment, principal.projects);
      const feature = loaded.features.find((f) => f.name === request.params.name);
      if (!feature) {
        return reply
          .code(404)
          .type('application/problem+json')
          .send({
            type: 'about:blank',
            title: 'Not Found',
            status: 404,
            detail: `No flag "${request.params.name}" in this token's environment and projects.`,
            instance: request.url,
          });
      }
      if (flavour === 'segments') return feature;
      const byId = new Map(loaded.segments.map((s) => [s.id, s]));
      return {
        ...feature,
        strategies: (feature.strategies ?? []).map(({ segments, ...s }) => ({
          ...s,
          constraints: [...(s.constraints ?? []), ...(segments ?? []).flatMap((id) => byId.get(id)?.constraints ?? [])],
        })),
      };
    },
  );

  app.post<{ Body: RegisterBody }>(
    '/api/client/register',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Register a server-side SDK instance',
        body: RegisterBody,
        response: { 202: Accepted, 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      await recordRegistration(services.storage.db, principal.environment, identify(request.body, request.headers), request.body);
      prom.registrations.inc({ api: 'client' });
      return reply.code(202).send();
    },
  );

  app.post<{ Body: MetricsBody }>(
    '/api/client/metrics',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Report flag usage counts (and @switchyard/sdk cohort outcomes) from a server-side SDK',
        body: MetricsBody,
        response: { 202: Accepted, 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      checkMetricsCohorts(request.body);
      const id = identify(request.body, request.headers);
      const stored = await recordMetrics(services.storage.db, principal, id, request.body);
      // Cohort outcomes of guarded flags, and the report interval asked while a guarded plan is active.
      await ingestMetricsCohorts(services, principal, id, request.body, reply, request.log);
      prom.metricsPosts.inc({ api: 'client' });
      prom.metricsToggles.inc({ api: 'client' }, stored);
      return reply.code(202).send();
    },
  );
};
export default routes;
