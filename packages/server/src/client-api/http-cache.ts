import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Document, Encoding } from './cache.js';

/** The best encoding the client accepts: br, then gzip, else none. Honours `q=0` and `*`. */
export function negotiateEncoding(header: string | string[] | undefined): Encoding | null {
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (!raw) return null;
  const q = new Map<string, number>();
  for (const part of raw.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name.trim(), Number.isFinite(weight) ? weight : 0);
  }
  const weightOf = (enc: string) => q.get(enc) ?? q.get('*') ?? 0;
  const br = weightOf('br');
  const gz = weightOf('gzip');
  if (br > 0 && br >= gz) return 'br';
  if (gz > 0) return 'gzip';
  return null;
}

/** Whether `If-None-Match` names `etag` (weak comparison: `W/` prefixes ignored, lists and `*` understood). */
export function etagMatches(header: string | string[] | undefined, etag: string): boolean {
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (!raw) return false;
  const bare = etag.replace(/^W\//, '');
  for (const candidate of raw.split(',')) {
    const c = candidate.trim();
    if (c === '*') return true;
    const stripped = c.replace(/^W\//i, '');
    if (stripped === bare || stripped === bare.slice(1, -1)) return true;
  }
  return false;
}

/**
 * Sends a cached JSON document: 304 when `If-None-Match` matches, otherwise the body in the
 * best accepted encoding, with a strong ETag and `Vary: Accept-Encoding`.
 */
export async function sendDocument(request: FastifyRequest, reply: FastifyReply, doc: Document) {
  reply.header('etag', doc.etag).header('vary', 'Accept-Encoding');
  if (etagMatches(request.headers['if-none-match'], doc.etag)) {
    return reply.code(304).send();
  }
  reply.type('application/json; charset=utf-8');
  const encoding = negotiateEncoding(request.headers['accept-encoding']);
  if (encoding && request.method !== 'HEAD') {
    const body = await doc.encode(encoding);
    return reply.header('content-encoding', encoding).send(body);
  }
  return reply.send(doc.body);
}
