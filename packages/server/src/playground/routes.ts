import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { EnvironmentName, ProjectId } from '../http/schemas.js';
import { PlaygroundService } from './service.js';

const Text = Type.String({ maxLength: 1000 });

const ContextSchema = Type.Object(
  {
    userId: Type.Optional(Text),
    sessionId: Type.Optional(Text),
    remoteAddress: Type.Optional(Text),
    currentTime: Type.Optional(Type.String({ maxLength: 64, description: 'ISO-8601 date-time; default: now' })),
    environment: Type.Optional(Text),
    appName: Type.Optional(Text),
    properties: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Text, { maxProperties: 100 })),
  },
  { additionalProperties: false, description: 'Unleash context, used exactly as given (`environment` is not filled in for you)' },
);

const Body = Type.Object(
  {
    context: ContextSchema,
    environments: Type.Optional(Type.Array(EnvironmentName, { maxItems: 100, description: 'Default: every environment' })),
    projects: Type.Optional(Type.Array(ProjectId, { maxItems: 100, description: 'Default: every project' })),
  },
  { additionalProperties: false },
);

/** `POST /api/admin/playground`: every flag's result and reason for one context, per environment. */
const routes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', requireToken(services.tokens, ['admin']));
  const playground = new PlaygroundService(services);

  app.post(
    '/api/admin/playground',
    {
      schema: {
        tags: ['Playground'],
        summary: 'Evaluate every flag for a context in every environment (enabled, variant, reason), as an SDK would',
        body: Body,
      },
    },
    async (request) => playground.evaluate(request.body),
  );
};

export default routes;
