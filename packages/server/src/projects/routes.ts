import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../services.js';

const routes: FastifyPluginAsync<{ services: Services }> = async () => {};
export default routes;
