/**
 * OFREP, the OpenFeature Remote Evaluation Protocol (github.com/open-feature/protocol,
 * service/openapi.yaml + ADR-0008 event streams):
 *
 * - `POST /ofrep/v1/evaluate/flags/{key}`: one flag, for dynamic-context (server) providers;
 * - `POST /ofrep/v1/evaluate/flags`: every flag the token sees, for static-context (web, mobile)
 *   providers, with `ETag`/`If-None-Match` and `eventStreams` pointing at
 * - `GET /ofrep/v1/events`: an SSE stream sending `refetchEvaluation` when the flag set changes.
 *
 * Frontend and backend tokens, as `Authorization: Bearer <token>` (or raw) or `X-API-Key`.
 * Error bodies are the protocol's `{key, errorCode, errorDetails}`, sent as problem+json with
 * the RFC 9457 members alongside, so both kinds of client read them.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import type { Principal } from '../auth/tokens.js';
import { requireToken, tokenFrom } from '../auth/guard.js';
import { flagSetCache, hash } from '../client-api/cache.js';
import { etagMatches } from '../client-api/http-cache.js';
import { ProblemSchema } from '../operations/schemas.js';
import { cors } from '../frontend-api/routes.js';
import { evaluatorFor } from '../frontend-api/evaluate.js';
import { OfrepError, evaluateAllFlags, evaluateFlag, isFailure, ofrepContext, type OfrepFailure } from './evaluate.js';
import { OFREP_STREAM_PATH, openStream, principalFromTicket, refuseStream, revisionFromEtag, ticketFor } from './stream.js';

/** Seconds of client inactivity (hidden tab) after which a web provider closes the stream. */
const INACTIVITY_DELAY_SEC = 120;
/** How long a re-fetch announced by another replica waits for this replica to see that revision. */
const FRESHNESS_WAIT_MS = 500;

const Metadata = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
  description: 'enabled (whether the flag is on for the context), project; single evaluations add flagSetId (environment) and version (revision).',
});

const EvaluationSuccess = Type.Object(
  {
    key: Type.String(),
    value: Type.Optional(Type.Unknown({ description: 'boolean for flags without variants; the variant payload (string, number or JSON) otherwise. Absent: use the code default.' })),
    reason: Type.String({ description: 'STATIC, TARGETING_MATCH, SPLIT, DISABLED or DEFAULT' }),
    variant: Type.String(),
    metadata: Metadata,
  },
  { additionalProperties: false },
);

const EvaluationFailure = Type.Object(
  {
    key: Type.String(),
    errorCode: Type.String({ description: 'FLAG_NOT_FOUND, PARSE_ERROR, INVALID_CONTEXT or GENERAL' }),
    errorDetails: Type.String(),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: true },
);

const OfrepProblem = Type.Object(
  {
    key: Type.Optional(Type.String()),
    errorCode: Type.String(),
    errorDetails: Type.String(),
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
  },
  { additionalProperties: true, description: 'OFREP error body with the RFC 9457 members (application/problem+json).' },
);

const EventStream = Type.Object(
  {
    type: Type.Literal('sse'),
    url: Type.String({ description: 'The SSE stream; carries a ticket for this token (EventSource cannot send headers). Treat as a secret.' }),
    inactivityDelaySec: Type.Integer(),
  },
  { additionalProperties: false },
);

const BulkSuccess = Type.Object(
  {
    flags: Type.Array(Type.Union([EvaluationSuccess, EvaluationFailure])),
    metadata: Type.Object({ flagSetId: Type.String() }, { additionalProperties: true }),
    eventStreams: Type.Array(EventStream),
  },
  { additionalProperties: false },
);

const BulkQuery = Type.Object(
  {
    flagConfigEtag: Type.Optional(Type.String({ description: 'From a refetchEvaluation event (ADR-0008).' })),
    flagConfigLastModified: Type.Optional(Type.String({ description: 'From a refetchEvaluation event (ADR-0008).' })),
  },
  { additionalProperties: true },
);

function sendOfrepError(reply: FastifyReply, status: number, body: OfrepFailure | Omit<OfrepFailure, 'key'>) {
  const title = ({ 400: 'Bad Request', 404: 'Not Found', 413: 'Payload Too Large', 500: 'Internal Server Error' } as Record<number, string>)[status] ?? 'Error';
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ ...body, type: 'about:blank', title, status, detail: body.errorDetails, instance: reply.request.url.split('?')[0] });
}

const routes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const onRequest = requireToken(services.tokens, ['frontend', 'backend']);
  const cache = flagSetCache(services);
  const security = [{ token: [] }];

  app.addHook('onRequest', async (request, reply) => cors(request, reply));

  // OFREP bodies are JSON whatever the content type says (browsers may send text/plain to avoid
  // a preflight), and an empty body is an empty request. Malformed JSON is the protocol's PARSE_ERROR.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new OfrepError(400, 'PARSE_ERROR', `The request body is not valid JSON (${(err as Error).message}); send {"context": {...}}.`), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | OfrepError, request, reply) => {
    const key = (request.params as { key?: string } | undefined)?.key;
    const withKey = <T extends object>(body: T) => (key !== undefined ? { key, ...body } : body);
    if (error instanceof OfrepError) return sendOfrepError(reply, error.status, withKey({ errorCode: error.errorCode, errorDetails: error.errorDetails }));
    if ((error as FastifyError).validation) {
      return sendOfrepError(reply, 400, withKey({ errorCode: 'INVALID_CONTEXT' as const, errorDetails: `Invalid request: ${error.message}.` }));
    }
    const status = (error as FastifyError).statusCode;
    if (status === 413) return sendOfrepError(reply, 413, withKey({ errorCode: 'GENERAL' as const, errorDetails: 'The request body is too large; send a smaller context.' }));
    if (status && status >= 400 && status < 500) return sendOfrepError(reply, status, withKey({ errorCode: 'GENERAL' as const, errorDetails: error.message }));
    request.log.error({ err: error }, 'unhandled error');
    return sendOfrepError(reply, 500, withKey({ errorCode: 'GENERAL' as const, errorDetails: 'Something went wrong on our side; the error has been logged.' }));
  });

  app.options('/ofrep/*', { schema: { tags: ['ofrep'], summary: 'CORS preflight', security: [], hide: true } }, async (_request, reply) => reply.code(204).send());

  /** Unleash context defaults: the caller's address only when the caller is the browser (frontend token). */
  const contextFor = (request: FastifyRequest, principal: Principal, raw: unknown) =>
    ofrepContext(raw, { remoteAddress: principal.type === 'frontend' ? request.ip : undefined, environment: principal.environment });

  const bodyOf = (request: FastifyRequest): Record<string, unknown> => {
    const body = request.body;
    if (body === undefined || body === null) return {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new OfrepError(400, 'PARSE_ERROR', 'The request body must be a JSON object: {"context": {...}}.');
    return body as Record<string, unknown>;
  };

  app.post<{ Params: { key: string } }>(
    '/ofrep/v1/evaluate/flags/:key',
    {
      onRequest,
      schema: {
        tags: ['ofrep'],
        summary: 'OFREP: evaluate one flag for a context',
        security,
        params: Type.Object({ key: Type.String() }),
        response: { 200: EvaluationSuccess, 400: OfrepProblem, 401: ProblemSchema, 403: ProblemSchema, 404: OfrepProblem },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const context = contextFor(request, principal, bodyOf(request).context);
      const set = await evaluatorFor(services, principal);
      const result = evaluateFlag(set, request.params.key, context, { flagSetId: set.environment, version: String(set.revision) });
      reply.header('cache-control', 'no-store');
      if (isFailure(result)) return sendOfrepError(reply, result.errorCode === 'FLAG_NOT_FOUND' ? 404 : 400, result);
      return result;
    },
  );

  app.post<{ Querystring: { flagConfigEtag?: string } }>(
    '/ofrep/v1/evaluate/flags',
    {
      onRequest,
      schema: {
        tags: ['ofrep'],
        summary: 'OFREP: evaluate every flag for a context (ETag / If-None-Match)',
        security,
        querystring: BulkQuery,
        response: { 200: BulkSuccess, 304: Type.Null({ description: 'Not modified.' }), 400: OfrepProblem, 401: ProblemSchema, 403: ProblemSchema },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const context = contextFor(request, principal, bodyOf(request).context);
      // A refetchEvaluation announced by another replica: give this one a moment to hear of it.
      const wanted = revisionFromEtag(request.query.flagConfigEtag);
      if (wanted !== null) {
        const deadline = Date.now() + FRESHNESS_WAIT_MS;
        while ((await cache.currentRevision(principal.environment)) < wanted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      }
      const set = await evaluatorFor(services, principal);
      const ticket = await ticketFor(services, principal);
      const body = JSON.stringify({
        flags: evaluateAllFlags(set, context),
        metadata: { flagSetId: set.environment },
        eventStreams: ticket ? [{ type: 'sse', url: `${origin(request)}${OFREP_STREAM_PATH}?ticket=${encodeURIComponent(ticket)}`, inactivityDelaySec: INACTIVITY_DELAY_SEC }] : [],
      });
      // The evaluated result is the representation: it changes with the flag set's revision
      // and with the context, and a change that does not touch what this context sees is a 304.
      const etag = `"${hash(body).slice(0, 32)}"`;
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  app.get<{ Querystring: { ticket?: string } }>(
    OFREP_STREAM_PATH,
    {
      schema: {
        tags: ['ofrep'],
        summary: 'OFREP event stream (SSE): refetchEvaluation when the flag set changes',
        description:
          'Advertised in the bulk response\'s `eventStreams`. Authenticated by the `ticket` in that URL, or by the token in Authorization / X-API-Key. Events: `data: {"type":"refetchEvaluation","etag":"\\"<revision>\\"","lastModified":<unix seconds>}` with `id: <revision>`.',
        security: [],
        querystring: Type.Object({ ticket: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: true }),
        response: { 401: ProblemSchema, 403: ProblemSchema, 429: ProblemSchema },
      },
    },
    async (request, reply) => {
      let principal: Principal | null = null;
      if (request.query.ticket) {
        principal = await principalFromTicket(services, request.query.ticket);
        if (!principal) return refuseStream(reply, 401, 'This event stream ticket is not valid (the token was deleted or has expired); evaluate the flags again for a new eventStreams URL.');
      } else {
        principal = await services.tokens.resolve(tokenFrom(request));
        if (!principal) return refuseStream(reply, 401, 'Send the ticket from the bulk response\'s eventStreams URL, or a valid API token in the Authorization header.');
        if (principal.type !== 'frontend' && principal.type !== 'backend') {
          return refuseStream(reply, 403, `A ${principal.type} token cannot use OFREP; it needs a frontend or backend token.`);
        }
      }
      return openStream(services, request, reply, principal);
    },
  );
};
export default routes;

/** The origin clients reached us at (honouring a reverse proxy's X-Forwarded-Proto/-Host). */
function origin(request: FastifyRequest): string {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim();
  const proto = first(request.headers['x-forwarded-proto']) || request.protocol || 'http';
  const host = first(request.headers['x-forwarded-host']) || request.headers.host || `${request.hostname}`;
  return `${/^https?$/i.test(proto) ? proto.toLowerCase() : 'http'}://${host}`;
}
