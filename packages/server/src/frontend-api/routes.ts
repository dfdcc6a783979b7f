import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { hash } from '../client-api/cache.js';
import { etagMatches } from '../client-api/http-cache.js';
import { MetricsBody, RegisterBody, identify, recordMetrics, recordRegistration } from '../client-api/metrics.js';
import { serverMetrics } from '../operations/prom.js';
import { ProblemSchema, UnleashHeaders } from '../operations/schemas.js';
import { buildContext, evaluateAll, evaluateOne, evaluatorFor } from './evaluate.js';

const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'if-none-match',
  'x-api-key',
  'unleash-appname',
  'unleash-instanceid',
  'unleash-sdk',
  'unleash-connection-id',
  'unleash-client-spec',
  'unleash-interval',
  'switchyard-include-disabled',
];

/** Browsers call the frontend API from any origin; tokens travel in headers, never cookies. */
export function cors(request: FastifyRequest, reply: FastifyReply) {
  reply.header('access-control-allow-origin', '*');
  reply.header('access-control-expose-headers', 'ETag');
  if (request.method === 'OPTIONS') {
    const requested = String(request.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h.length > 0 && (ALLOWED_HEADERS.includes(h) || h.startsWith('unleash-')));
    reply.header('access-control-allow-methods', 'GET, POST, OPTIONS');
    reply.header('access-control-allow-headers', [...new Set([...ALLOWED_HEADERS, ...requested])].join(', '));
    reply.header('access-control-max-age', '86400');
  }
}

const ContextQuery = Type.Object(
  {
    appName: Type.Optional(Type.String({ maxLength: 255 })),
    userId: Type.Optional(Type.String({ maxLength: 1000 })),
    sessionId: Type.Optional(Type.String({ maxLength: 1000 })),
    remoteAddress: Type.Optional(Type.String({ maxLength: 255 })),
    environment: Type.Optional(Type.String({ maxLength: 255 })),
    currentTime: Type.Optional(Type.String({ maxLength: 64 })),
    includeDisabled: Type.Optional(Type.Boolean({ description: 'Also answer flags that are off (`enabled: false`); overrides the server default. Not part of the context.' })),
  },
  { additionalProperties: true, description: 'Unleash context; `properties[name]=value` and other keys become properties.' },
);

const IncludeDisabledQuery = Type.Object(
  { includeDisabled: Type.Optional(Type.Boolean({ description: 'Also answer flags that are off (`enabled: false`); overrides the server default.' })) },
  { additionalProperties: true },
);

const FrontendHeaders = Type.Object(
  {
    ...UnleashHeaders.properties,
    'switchyard-include-disabled': Type.Optional(
      Type.Boolean({ description: 'Same as the `includeDisabled` query parameter, for SDKs that can add headers but not query parameters.' }),
    ),
  },
  { additionalProperties: true },
);

/**
 * Whether to answer flags that are off: the `includeDisabled` query parameter, else the
 * `Switchyard-Include-Disabled` header, else the server default (SWITCHYARD_FRONTEND_INCLUDE_DISABLED,
 * off: Unleash answers only flags that are on).
 */
export function includeDisabledFor(request: FastifyRequest, serverDefault: boolean): boolean {
  const q = (request.query as Record<string, unknown> | undefined)?.includeDisabled;
  if (typeof q === 'boolean') return q;
  const h = (request.headers as Record<string, unknown>)['switchyard-include-disabled'];
  if (typeof h === 'boolean') return h;
  return serverDefault;
}

const ContextBody = Type.Object(
  {
    context: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Unleash context (userId, sessionId, properties, …).' })),
  },
  { additionalProperties: true },
);

const Toggle = Type.Object(
  {
    name: Type.String(),
    enabled: Type.Boolean({ description: 'Always true unless disabled flags were asked for.' }),
    variant: Type.Object(
      {
        name: Type.String(),
        enabled: Type.Boolean(),
        payload: Type.Optional(Type.Object({ type: Type.String(), value: Type.String() }, { additionalProperties: false })),
        feature_enabled: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    impressionData: Type.Boolean(),
  },
  { additionalProperties: false },
);

const TogglesResponse = Type.Object(
  { toggles: Type.Array(Toggle) },
  { additionalProperties: false, description: 'Flags that are on for the context (with `includeDisabled`, every flag).' },
);

/**
 * The Unleash frontend API for browser and mobile SDKs: frontend tokens only. Flags are
 * evaluated here with the same engine the SDKs use, over the token's environment and projects.
 */
const routes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const onRequest = requireToken(services.tokens, ['frontend']);
  const prom = serverMetrics(services);
  const common = { tags: ['frontend-api'], security: [{ token: [] }], headers: FrontendHeaders };
  const serverDefault = () => services.config.frontendIncludeDisabled ?? false;

  app.addHook('onRequest', async (request, reply) => cors(request, reply));

  for (const url of ['/api/frontend', '/api/frontend/*']) {
    app.options(url, { schema: { tags: ['frontend-api'], summary: 'CORS preflight', security: [], hide: url.endsWith('*') } }, async (_request, reply) =>
      reply.code(204).send(),
    );
  }

  const answer = async (request: FastifyRequest, reply: FastifyReply, raw: Record<string, unknown>) => {
    const principal = request.principal!;
    const evaluator = await evaluatorFor(services, principal);
    const { includeDisabled: _flag, ...contextFields } = raw;
    const context = buildContext(contextFields, { remoteAddress: request.ip, environment: principal.environment });
    const body = JSON.stringify({ toggles: evaluateAll(evaluator, context, { includeDisabled: includeDisabledFor(request, serverDefault()) }) });
    const etag = `"${hash(body).slice(0, 32)}"`;
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(body);
  };

  app.get<{ Querystring: Record<string, unknown> }>(
    '/api/frontend',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Evaluate every flag for a context given as query parameters',
        querystring: ContextQuery,
        response: { 200: TogglesResponse, 304: Type.Null({ description: 'Not modified.' }), 401: ProblemSchema, 403: ProblemSchema },
      },
    },
    (request, reply) => answer(request, reply, request.query ?? {}),
  );

  app.post<{ Body: { context?: Record<string, unknown> } }>(
    '/api/frontend',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Evaluate every flag for a context given in the body',
        querystring: IncludeDisabledQuery,
        body: ContextBody,
        response: { 200: TogglesResponse, 304: Type.Null({ description: 'Not modified.' }), 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema },
      },
    },
    (request, reply) => answer(request, reply, request.body?.context ?? {}),
  );

  app.get<{ Params: { name: string }; Querystring: Record<string, unknown> }>(
    '/api/frontend/features/:name',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Evaluate one flag for a context given as query parameters',
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }),
        querystring: ContextQuery,
        response: { 200: Toggle, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const evaluator = await evaluatorFor(services, principal);
      const { includeDisabled: _flag, ...contextFields } = request.query ?? {};
      const context = buildContext(contextFields, { remoteAddress: request.ip, environment: principal.environment });
      const includeDisabled = includeDisabledFor(request, serverDefault());
      const toggle = evaluateOne(evaluator, request.params.name, context, { includeDisabled });
      if (!toggle) {
        // Unleash answers 404 for flags that are off, so a browser cannot tell off from unknown;
        // with includeDisabled, 404 means unknown.
        const detail = includeDisabled
          ? `No flag "${request.params.name}" in environment "${principal.environment}" for this token's projects.`
          : `Flag "${request.params.name}" is not enabled for this context or does not exist (add includeDisabled=true to tell the two apart).`;
        return reply
          .code(404)
          .type('application/problem+json')
          .send({ type: 'about:blank', title: 'Not Found', status: 404, detail, instance: request.url });
      }
      return toggle;
    },
  );

  app.post<{ Body: MetricsBody }>(
    '/api/frontend/client/metrics',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Report flag usage counts from a frontend SDK',
        body: MetricsBody,
        response: { 202: Type.Null({ description: 'Accepted.' }), 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema },
      },
    },
    async (request, reply) => {
      const stored = await recordMetrics(services.storage.db, request.principal!, identify(request.body, request.headers), request.body);
      prom.metricsPosts.inc({ api: 'frontend' });
      prom.metricsToggles.inc({ api: 'frontend' }, stored);
      return reply.code(202).send();
    },
  );

  app.post<{ Body: RegisterBody }>(
    '/api/frontend/client/register',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Register a frontend SDK instance',
        body: RegisterBody,
        response: { 200: Type.Null({ description: 'Registered.' }), 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema },
      },
    },
    async (request, reply) => {
      await recordRegistration(services.storage.db, request.principal!.environment, identify(request.body, request.headers), request.body);
      prom.registrations.inc({ api: 'frontend' });
      return reply.code(200).send();
    },
  );
};
export default routes;
