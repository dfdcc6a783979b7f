import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { TokenType } from '../storage/schema.js';
import type { Principal, TokenService } from './tokens.js';
import { sendProblem } from '../http/problem.js';
import { sessionPrincipal } from './session.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Reads the token from `Authorization` (raw or Bearer) or `X-API-Key`. */
export function tokenFrom(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? request.headers['x-api-key'];
  return Array.isArray(header) ? header[0] : header;
}

/** An onRequest hook that admits only the given token types and sets `request.principal`. */
export function requireToken(tokens: TokenService, allowed: TokenType[]): onRequestHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = tokenFrom(request);
    // No token header: the web UI's session cookie (auth/session.ts; CSRF-checked for writes) may stand in for an admin token.
    const principal = (await tokens.resolve(raw)) ?? (raw === undefined && allowed.includes('admin') ? await sessionPrincipal(tokens, request) : null);
    if (!principal) {
      return sendProblem(reply, 401, 'Unauthorized', 'Send a valid API token in the Authorization header.');
    }
    if (!allowed.includes(principal.type)) {
      return sendProblem(reply, 403, 'Forbidden', `A ${principal.type} token cannot use this API; it needs a ${allowed.join(' or ')} token.`);
    }
    request.principal = principal;
  };
}

export function canSeeProject(principal: Principal, project: string): boolean {
  return principal.projects === '*' || principal.projects.includes(project);
}
