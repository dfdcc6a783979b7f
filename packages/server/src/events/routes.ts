import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { requireToken } from '../auth/guard.js';
import { queryEvents } from './service.js';

const tags = ['Audit'];
const Text = Type.String({ minLength: 1, maxLength: 255 });

const Query = Type.Object(
  {
    flag: Type.Optional(Text),
    type: Type.Optional(Text),
    actor: Type.Optional(Text),
    project: Type.Optional(Text),
    environment: Type.Optional(Text),
    since: Type.Optional(Type.String({ maxLength: 64, description: 'ISO-8601; events at or after' })),
    until: Type.Optional(Type.String({ maxLength: 64, description: 'ISO-8601; events at or before' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
  },
  { additionalProperties: false },
);

const routes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', requireToken(services.tokens, ['admin']));

  app.get(
    '/api/admin/events',
    { schema: { tags, summary: 'The audit log, newest first: who changed what, with before/after', querystring: Query } },
    async (request) => queryEvents(services.storage.db, request.query),
  );
};

export default routes;
