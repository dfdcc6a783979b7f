import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from './guard.js';
import type { Principal } from './tokens.js';
import { badRequest } from '../http/problem.js';
import { ProblemSchema as Problem } from '../operations/schemas.js';

const TokenType = Type.Union([Type.Literal('admin'), Type.Literal('backend'), Type.Literal('frontend')]);

export const TokenView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    type: TokenType,
    environment: Type.String({ description: 'The environment the token reads; `*` for admin tokens.' }),
    projects: Type.Array(Type.String(), { description: '`["*"]` for all projects.' }),
    createdAt: Type.String(),
    expiresAt: Type.Union([Type.String(), Type.Null()]),
    lastSeenAt: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

const CreateToken = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    type: TokenType,
    environment: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    projects: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 })),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

/** Who made a change, for the audit log: the token's name (never its secret), as on every other route. */
export function actorOf(principal: Principal | undefined): string {
  return principal?.name ?? 'anonymous';
}

/** `GET/POST /api/admin/tokens`, `DELETE /api/admin/tokens/:id` — admin tokens only. */
const routes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { tokens } = services;
  const onRequest = requireToken(tokens, ['admin']);
  const common = { tags: ['tokens'], security: [{ token: [] }] };

  app.get(
    '/api/admin/tokens',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'List API tokens (secrets are never shown again)',
        response: { 200: Type.Object({ tokens: Type.Array(TokenView) }, { additionalProperties: false }), 401: Problem, 403: Problem },
      },
    },
    async () => ({ tokens: await tokens.list() }),
  );

  app.post<{ Body: Static<typeof CreateToken> }>(
    '/api/admin/tokens',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Create an API token; the secret is in this response only',
        body: CreateToken,
        response: {
          201: Type.Object({ secret: Type.String(), token: TokenView }, { additionalProperties: false }),
          400: Problem,
          401: Problem,
          403: Problem,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.type !== 'admin' && !body.environment) {
        throw badRequest(`A ${body.type} token reads one environment; pass "environment" (for example "development").`);
      }
      if (body.expiresAt && new Date(body.expiresAt).getTime() <= Date.now()) {
        throw badRequest('"expiresAt" is in the past; give a future date-time or leave it out for a token that never expires.');
      }
      const created = await tokens.create(actorOf(request.principal), {
        name: body.name,
        type: body.type,
        environment: body.environment,
        projects: body.projects,
        expiresAt: body.expiresAt ? new Date(body.expiresAt).toISOString() : undefined,
      });
      return reply.code(201).send(created);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/admin/tokens/:id',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'Revoke an API token',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await tokens.delete(actorOf(request.principal), request.params.id);
      return reply.code(204).send();
    },
  );
};
export default routes;
