import type { Document, FlagSetCache } from '../client-api/cache.js';
import { scopeKey } from '../client-api/cache.js';
import { deltaService } from '../client-api/delta.js';
import type { ProjectScope } from '../client-api/payload.js';
import { sseFrame, type StreamUpdate, type SubscribeOptions } from './hub.js';

const REVISIONS_KEPT = 64;
const CHANNELS_KEPT = 4096;

/**
 * Unleash's streaming protocol (`GET /api/client/streaming`) over the delta API: the first event
 * of a connection is `unleash-connected` (a `hydration`, or — when `Last-Event-ID` names a state
 * this server remembers — only what changed since, possibly nothing), then `unleash-updated` with
 * delta events whenever the visible flag set changes. Every event's SSE `id` is the environment
 * revision it brings the client to; the data is exactly a delta API document (`{events:[…]}`).
 */
export class UnleashStreams {
  /** channel → revision → delta ETag of the state an SDK holds after the event with that id. */
  private readonly states = new Map<string, Map<number, string>>();
  private readonly frames = new WeakMap<Document, Buffer>();
  private readonly connected = new WeakMap<Document, Buffer>();

  constructor(private readonly cache: FlagSetCache) {}

  options(environment: string, scope: ProjectScope, namePrefix: string | undefined, preamble?: Buffer): SubscribeOptions {
    const delta = deltaService(this.cache);
    const channel = `unleash\0${scopeKey(scope)}\0${namePrefix ?? ''}`;
    return {
      environment,
      channel,
      kind: 'unleash',
      initial: async (lastEventId) => {
        const base = lastEventId !== undefined && /^\d+$/.test(lastEventId) ? this.states.get(channel)?.get(Number(lastEventId)) : undefined;
        const doc = await delta.document(environment, scope, namePrefix, base);
        let frame: Buffer;
        let state: string;
        let revision: number;
        if ('unchanged' in doc) {
          state = doc.unchanged;
          revision = Number(lastEventId);
          frame = sseFrame({ event: 'unleash-connected', id: revision, data: '{"events":[]}' });
        } else {
          state = doc.etag;
          revision = doc.revision;
          this.remember(channel, doc);
          // One Buffer per document, shared by every SDK that connects at this revision.
          frame = this.connected.get(doc) ?? sseFrame({ event: 'unleash-connected', id: doc.revision, data: doc.body.toString('utf8') });
          this.connected.set(doc, frame);
        }
        return { state, revision, frames: preamble ? [preamble, frame] : frame };
      },
      update: async (from): Promise<StreamUpdate> => {
        const doc = await delta.document(environment, scope, namePrefix, from);
        if ('unchanged' in doc) return { state: from, revision: 0, frames: null };
        this.remember(channel, doc);
        let frame = this.frames.get(doc);
        if (!frame) {
          frame = sseFrame({ event: 'unleash-updated', id: doc.revision, data: doc.body.toString('utf8') });
          this.frames.set(doc, frame);
        }
        return { state: doc.etag, revision: doc.revision, frames: frame };
      },
    };
  }

  private remember(channel: string, doc: Document) {
    let revs = this.states.get(channel);
    if (!revs) {
      revs = new Map();
      this.states.set(channel, revs);
      if (this.states.size > CHANNELS_KEPT) this.states.delete(this.states.keys().next().value!);
    }
    revs.set(doc.revision, doc.etag);
    if (revs.size > REVISIONS_KEPT) revs.delete(revs.keys().next().value!);
  }
}
