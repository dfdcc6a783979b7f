/**
 * The OFREP event stream (ADR-0008 `eventStreams`): an SSE stream per token that sends
 * `{"type":"refetchEvaluation"}` whenever the flag set the token sees changes, so that static-
 * context providers (the web provider) re-fetch the bulk evaluation at once instead of polling.
 *
 * Browsers' EventSource cannot send an Authorization header, so the stream URL the bulk
 * response advertises carries a ticket instead of the token: `<token id>.<HMAC>`, keyed by the
 * token's stored hash. It reveals nothing about the token, works on every replica (they share
 * the database), and stops working when the token is deleted or expires. Clients that can send
 * headers may use `Authorization`/`X-API-Key` as on the other OFREP routes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import type { Principal } from '../auth/tokens.js';
import { flagSetCache, scopeKey } from '../client-api/cache.js';
import { deltaService } from '../client-api/delta.js';
import { sendProblem } from '../http/problem.js';
import { sseFrame, streamingHub } from '../streaming/hub.js';

export const OFREP_STREAM_PATH = '/ofrep/v1/events';
const TICKET_CONTEXT = 'switchyard ofrep event stream v1\0';

/** The stream ticket of a token: its id and an HMAC keyed by its stored hash. */
export function streamTicket(tokenId: string, secretHash: string): string {
  const mac = createHmac('sha256', secretHash).update(TICKET_CONTEXT + tokenId).digest('base64url');
  return `${tokenId}.${mac}`;
}

/** The token a ticket names, if the ticket is genuine and the token still valid for OFREP. */
export async function principalFromTicket(services: Services, ticket: string): Promise<Principal | null> {
  const dot = ticket.lastIndexOf('.');
  if (dot <= 0 || ticket.length > 200) return null;
  const id = ticket.slice(0, dot);
  const row = await services.storage.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (row.type !== 'frontend' && row.type !== 'backend')) return null;
  if (row.expires_at && row.expires_at < new Date().toISOString()) return null;
  const expected = Buffer.from(streamTicket(row.id, row.secret_hash));
  const given = Buffer.from(ticket);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  const projects = JSON.parse(row.projects) as string[];
  return { type: row.type, environment: row.environment, projects: projects.includes('*') ? '*' : projects, tokenId: row.id, name: row.name };
}

/**
 * The stored hash of a token, for minting its ticket (the principal carries only the id). Kept
 * per token id; a token's hash never changes.
 */
const hashes = new WeakMap<Services, Map<string, string>>();
export async function ticketFor(services: Services, principal: Principal): Promise<string | null> {
  let known = hashes.get(services);
  if (!known) hashes.set(services, (known = new Map()));
  let hash = known.get(principal.tokenId);
  if (hash === undefined) {
    const row = await services.storage.db.selectFrom('api_tokens').select('secret_hash').where('id', '=', principal.tokenId).executeTakeFirst();
    if (!row) return null;
    hash = row.secret_hash;
    if (known.size > 10_000) known.clear();
    known.set(principal.tokenId, hash);
  }
  return streamTicket(principal.tokenId, hash);
}

/** The SSE message that tells a provider to re-fetch; `etag` names the environment revision. */
export function refetchFrame(revision: number): Buffer {
  return sseFrame({
    event: 'message',
    id: revision,
    data: JSON.stringify({ type: 'refetchEvaluation', etag: `"${revision}"`, lastModified: Math.floor(Date.now() / 1000) }),
  });
}

/** The revision an SSE `etag` (sent back as `flagConfigEtag`) names, if it is one of ours. */
export function revisionFromEtag(etag: unknown): number | null {
  if (typeof etag !== 'string') return null;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(etag.trim());
  return m ? Number(m[1]) : null;
}

/**
 * Opens the stream on the streaming hub. On connect it sends a `refetchEvaluation` unless the
 * client's `Last-Event-ID` already names the current revision: a change made between the bulk
 * evaluation and the stream's opening is never missed (the re-fetch is a cheap 304 otherwise).
 * Afterwards one message per change of the flag set the token sees (changes to other projects'
 * flags send nothing).
 */
export function openStream(services: Services, request: FastifyRequest, reply: FastifyReply, principal: Principal) {
  const hub = streamingHub(services);
  const delta = deltaService(flagSetCache(services));
  const env = principal.environment;
  const scope = principal.projects;
  const frames = new Map<number, Buffer>();
  const frameFor = (revision: number) => {
    let f = frames.get(revision);
    if (!f) {
      f = refetchFrame(revision);
      frames.clear();
      frames.set(revision, f);
    }
    return f;
  };
  return hub.subscribe(request, reply, {
    environment: env,
    channel: `ofrep\0${scopeKey(scope)}`,
    kind: 'ofrep',
    headers: { 'access-control-allow-origin': '*' },
    initial: async (lastEventId) => {
      const doc = await delta.document(env, scope, undefined, undefined);
      if ('unchanged' in doc) throw new Error('unreachable: no ETag was sent');
      const upToDate = lastEventId !== undefined && lastEventId === String(doc.revision);
      return { state: doc.etag, revision: doc.revision, frames: upToDate ? sseFrame({ retry: 2000 }) : Buffer.concat([sseFrame({ retry: 2000 }), frameFor(doc.revision)]) };
    },
    update: async (from) => {
      const doc = await delta.document(env, scope, undefined, from);
      if ('unchanged' in doc) return { state: from, revision: await flagSetCache(services).currentRevision(env), frames: null };
      return { state: doc.etag, revision: doc.revision, frames: frameFor(doc.revision) };
    },
  });
}

/** 401/403 for the stream, as problem+json (also readable by EventSource implementations that report it). */
export function refuseStream(reply: FastifyReply, status: 401 | 403, detail: string) {
  reply.header('access-control-allow-origin', '*');
  return sendProblem(reply, status, status === 401 ? 'Unauthorized' : 'Forbidden', detail);
}
