import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../services.js';
import { requireToken, tokenFrom } from '../auth/guard.js';
import { actorOf } from '../auth/routes.js';
import { sendProblem, notFound, badRequest } from '../http/problem.js';
import { ProblemSchema as Problem } from '../operations/schemas.js';
import { AlertmanagerWebhook } from './schema.js';
import { createSignalToken, deleteSignalToken, listSignalTokens, readAlerts, receiveAlertmanager, resolveSignalToken, type AlertPoster } from './alerts.js';
import { signalsFor } from './service.js';
import { LATENCY_BUCKETS_MS } from './buckets.js';
import { aggregateCohorts, pruneSignals, readCohortBatches } from './store.js';

declare module 'fastify' {
  interface FastifyRequest {
    alertPoster?: AlertPoster;
  }
}

const SignalTokenView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    environment: Type.Union([Type.String(), Type.Null()], { description: 'The only environment the token may post alerts for; null: any.' }),
    createdAt: Type.String(),
    lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

const CreateSignalToken = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    environment: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

const ReceivedAlert = Type.Object({
  id: Type.Integer(),
  status: Type.String(),
  alertname: Type.Union([Type.String(), Type.Null()]),
  fingerprint: Type.Union([Type.String(), Type.Null()]),
  flag: Type.Union([Type.String(), Type.Null()]),
  environment: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String({ description: 'emitted (stops the flag’s active plan), resolved, no-flag, unknown-flag, unknown-environment, forbidden-environment' }),
});

/** Reads the poster from `Authorization` (raw, Bearer, or Basic with the token as password). */
function credential(request: FastifyRequest): string | undefined {
  const raw = tokenFrom(request)?.trim();
  if (!raw) return undefined;
  const basic = /^Basic\s+(.+)$/i.exec(raw);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i >= 0 ? decoded.slice(i + 1) : decoded;
  }
  return raw.replace(/^Bearer\s+/i, '');
}

/**
 * Signals: the Alertmanager webhook (`POST /api/signals/alertmanager`, admin or signal token),
 * signal tokens (`/api/admin/signal-tokens`, admin), and read access to stored cohort outcomes
 * and alerts (`/api/admin/signals/…`, admin). See docs/signals.md.
 */
const routes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const signals = signalsFor(services);
  signals.onError = (err, what) => app.log.warn({ err }, `signals: ${what} failed`);
  app.addHook('onClose', async () => signals.close());
  const db = services.storage.db;
  const admin = requireToken(services.tokens, ['admin']);

  const posterAuth = async (request: FastifyRequest, reply: FastifyReply) => {
    const secret = credential(request);
    if (!secret) return sendProblem(reply, 401, 'Unauthorized', 'Send an admin token or a signal token (POST /api/admin/signal-tokens) in the Authorization header (Bearer, raw, or as the Basic auth password).');
    const token = await resolveSignalToken(db, secret);
    if (token) {
      request.alertPoster = token;
      return;
    }
    const principal = await services.tokens.resolve(secret);
    if (!principal) return sendProblem(reply, 401, 'Unauthorized', 'The token is not a valid admin or signal token.');
    if (principal.type !== 'admin') return sendProblem(reply, 403, 'Forbidden', `A ${principal.type} token cannot post alerts; use an admin token or a signal token (POST /api/admin/signal-tokens).`);
    request.alertPoster = { kind: 'admin', name: principal.name, environment: null };
  };

  app.post<{ Body: AlertmanagerWebhook; Querystring: { environment?: string } }>(
    '/api/signals/alertmanager',
    {
      onRequest: posterAuth,
      schema: {
        tags: ['signals'],
        security: [{ token: [] }],
        summary: 'Prometheus Alertmanager webhook: a firing alert labelled with a flag stops that flag’s active rollout at once',
        description:
          'Alertmanager webhook_config body (version "4"). Each alert is stored; a firing alert whose labels name a flag (`switchyard_flag` or `flag`) and optionally an environment (`switchyard_environment` or `environment`, else `?environment=`, else the signal token’s) is handed to the rollout engine, which stops the flag’s active plan. Resolved alerts are stored only.',
        querystring: Type.Object({ environment: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Environment for alerts without an environment label.' })) }, { additionalProperties: true }),
        body: AlertmanagerWebhook,
        response: {
          200: Type.Object({
            received: Type.Integer(),
            alerts: Type.Array(ReceivedAlert),
            handlers: Type.Object({ handled: Type.Integer(), failed: Type.Integer() }),
          }),
          400: Problem,
          401: Problem,
          403: Problem,
        },
      },
    },
    async (request) => {
      const poster = request.alertPoster!;
      const env = request.query.environment ?? null;
      if (poster.environment !== null && env !== null && env !== poster.environment) {
        throw badRequest(`This signal token may only post alerts for environment "${poster.environment}", not "${env}".`);
      }
      const result = await receiveAlertmanager(db, signals, request.body, poster, env);
      const emitted = result.alerts.filter((a) => a.outcome === 'emitted');
      if (emitted.length) request.log.info({ alerts: emitted, poster: poster.name }, 'alerts received: stopping rollouts');
      if (signals.pruneDue()) void pruneSignals(db, signals.options).catch((err) => request.log.warn({ err }, 'pruning old signals failed'));
      return result;
    },
  );

  const common = { tags: ['signals'], security: [{ token: [] }] };

  app.get(
    '/api/admin/signal-tokens',
    { onRequest: admin, schema: { ...common, summary: 'List signal tokens (secrets are never shown again)', response: { 200: Type.Object({ tokens: Type.Array(SignalTokenView) }), 401: Problem, 403: Problem } } },
    async () => ({ tokens: await listSignalTokens(db) }),
  );

  app.post<{ Body: Static<typeof CreateSignalToken> }>(
    '/api/admin/signal-tokens',
    {
      onRequest: admin,
      schema: {
        ...common,
        summary: 'Create a signal token: it may only post alerts (Alertmanager), optionally for one environment; the secret is shown once',
        body: CreateSignalToken,
        response: { 201: Type.Object({ ...SignalTokenView.properties, secret: Type.String() }), 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request, reply) => {
      const environment = request.body.environment ?? null;
      if (environment !== null) {
        const env = await db.selectFrom('environments').select('name').where('name', '=', environment).executeTakeFirst();
        if (!env) throw badRequest(`No environment "${environment}".`);
      }
      const created = await services.changes.write(actorOf(request.principal), async (trx, change) => {
        const t = await createSignalToken(trx, request.body.name, environment);
        change.event({ type: 'signal-token-created', environment, after: { id: t.id, name: t.name, environment } });
        return t;
      });
      return reply.code(201).send(created);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/admin/signal-tokens/:id',
    {
      onRequest: admin,
      schema: { ...common, summary: 'Delete a signal token', params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }), response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem } },
    },
    async (request, reply) => {
      const deleted = await services.changes.write(actorOf(request.principal), async (trx, change) => {
        const t = await deleteSignalToken(trx, request.params.id);
        if (t) change.event({ type: 'signal-token-deleted', environment: t.environment, before: t });
        return t;
      });
      if (!deleted) throw notFound(`No signal token "${request.params.id}".`);
      return reply.code(204).send();
    },
  );

  const OutcomesQuery = Type.Object(
    {
      flag: Type.String({ minLength: 1, maxLength: 255 }),
      environment: Type.String({ minLength: 1, maxLength: 100 }),
      since: Type.String({ format: 'date-time' }),
      until: Type.Optional(Type.String({ format: 'date-time' })),
      batches: Type.Optional(Type.Boolean({ description: 'Include every batch (default false: totals only).' })),
    },
    { additionalProperties: false },
  );
  const Totals = Type.Object({
    requests: Type.Integer(),
    errors: Type.Integer(),
    latency: Type.Array(Type.Integer()),
    batches: Type.Integer(),
    instances: Type.Integer(),
    from: Type.Union([Type.String(), Type.Null()]),
    to: Type.Union([Type.String(), Type.Null()]),
  });

  app.get<{ Querystring: Static<typeof OutcomesQuery> }>(
    '/api/admin/signals/outcomes',
    {
      onRequest: admin,
      schema: {
        ...common,
        summary: 'Stored cohort outcomes of a flag in an environment received in [since, until): totals per cohort (and the batches)',
        querystring: OutcomesQuery,
        response: {
          200: Type.Object({
            flag: Type.String(),
            environment: Type.String(),
            bucketsMs: Type.Array(Type.Number()),
            cohorts: Type.Record(Type.String(), Totals),
            batches: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
          }),
          400: Problem,
          401: Problem,
          403: Problem,
        },
      },
    },
    async (request) => {
      const { flag, environment, since, until, batches } = request.query;
      const rows = await readCohortBatches(db, { flag, environment, since, until });
      return { flag, environment, bucketsMs: [...LATENCY_BUCKETS_MS], cohorts: aggregateCohorts(rows), ...(batches ? { batches: rows } : {}) };
    },
  );

  const AlertsQuery = Type.Object(
    {
      flag: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      environment: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      since: Type.Optional(Type.String({ format: 'date-time' })),
      unhandled: Type.Optional(Type.Boolean()),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    },
    { additionalProperties: false },
  );

  app.get<{ Querystring: Static<typeof AlertsQuery> }>(
    '/api/admin/signals/alerts',
    {
      onRequest: admin,
      schema: {
        ...common,
        summary: 'Stored alerts (oldest first); `unhandled=true`: firing flag alerts no rollout runner has acted on yet',
        querystring: AlertsQuery,
        response: { 200: Type.Object({ alerts: Type.Array(Type.Object({}, { additionalProperties: true })) }), 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => ({ alerts: await readAlerts(db, request.query) }),
  );
};
export default routes;
