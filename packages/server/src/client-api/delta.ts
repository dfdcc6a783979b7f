import type { FeatureConfig, Segment } from '@switchyard/engine';
import { Document, hash, scopeKey, type FlagSetCache } from './cache.js';
import type { LoadedPayload, ProjectScope } from './payload.js';

/** One version of a flag set, remembered by fingerprints only (to diff against later versions). */
interface Version {
  etag: string;
  revision: number;
  features: Map<string, string>;
  segments: Map<number, string>;
}

type DeltaEvent =
  | { eventId: number; type: 'hydration'; features: FeatureConfig[]; segments: Segment[] }
  | { eventId: number; type: 'feature-updated'; feature: FeatureConfig }
  | { eventId: number; type: 'feature-removed'; featureName: string; project?: string }
  | { eventId: number; type: 'segment-updated'; segment: Segment }
  | { eventId: number; type: 'segment-removed'; segmentId: number };

const VERSIONS_KEPT = 16;
const KEYS_KEPT = 1024;

/**
 * The Unleash delta API (`GET /api/client/delta`): an SDK that sends the ETag of a version this
 * server still remembers gets only what changed since (`feature-updated`, `feature-removed`,
 * `segment-updated`, `segment-removed`); any other SDK gets a `hydration` event with everything.
 * The ETag names the resulting state, so every answer for the same state carries the same one.
 */
export class DeltaService {
  /** scope key → recent versions, newest last. */
  private readonly history = new Map<string, Version[]>();

  constructor(private readonly cache: FlagSetCache) {}

  private current(environment: string, scope: ProjectScope, namePrefix: string | undefined): Promise<{ version: Version; loaded: LoadedPayload }> {
    const key = `${environment}\0${scopeKey(scope)}\0${namePrefix ?? ''}`;
    return this.cache.memo(environment, `delta-state\0${key}`, async () => {
      const loaded = await this.cache.loaded(environment, scope, namePrefix);
      const features = new Map(loaded.features.map((f) => [f.name, hash(JSON.stringify(f))]));
      const segments = new Map(loaded.segments.map((s) => [s.id, hash(JSON.stringify(s))]));
      const etag = `"d-${hash(JSON.stringify([...features, ...segments])).slice(0, 32)}"`;
      const version: Version = { etag, revision: loaded.revision, features, segments };
      const versions = this.history.get(key) ?? [];
      if (!versions.some((v) => v.etag === etag)) {
        versions.push(version);
        if (versions.length > VERSIONS_KEPT) versions.shift();
      }
      this.history.delete(key);
      this.history.set(key, versions);
      if (this.history.size > KEYS_KEPT) this.history.delete(this.history.keys().next().value!);
      return { revision: loaded.revision, value: { version, loaded } };
    });
  }

  /** The delta document for an SDK at `since` (its If-None-Match), or the current ETag when it is up to date. */
  async document(
    environment: string,
    scope: ProjectScope,
    namePrefix: string | undefined,
    since: string | undefined,
  ): Promise<Document | { unchanged: string }> {
    const { version, loaded } = await this.current(environment, scope, namePrefix);
    const known = since ? since.split(',').map((s) => s.trim().replace(/^W\//i, '')) : [];
    if (known.includes(version.etag)) return { unchanged: version.etag };
    const key = `${environment}\0${scopeKey(scope)}\0${namePrefix ?? ''}`;
    const base = this.history.get(key)?.find((v) => known.includes(v.etag));
    return this.cache.memo(environment, `delta-doc\0${key}\0${base?.etag ?? ''}`, async () => {
      const eventId = loaded.revision;
      let events: DeltaEvent[];
      if (!base) {
        events = [{ eventId, type: 'hydration', features: loaded.features, segments: loaded.segments }];
      } else {
        events = [];
        // segments first, so a feature never references a segment the SDK has not got yet
        for (const s of loaded.segments) if (base.segments.get(s.id) !== version.segments.get(s.id)) events.push({ eventId, type: 'segment-updated', segment: s });
        for (const f of loaded.features) if (base.features.get(f.name) !== version.features.get(f.name)) events.push({ eventId, type: 'feature-updated', feature: f });
        for (const name of base.features.keys()) if (!version.features.has(name)) events.push({ eventId, type: 'feature-removed', featureName: name });
        for (const id of base.segments.keys()) if (!version.segments.has(id)) events.push({ eventId, type: 'segment-removed', segmentId: id });
      }
      const body = Buffer.from(JSON.stringify({ events }), 'utf8');
      return { revision: loaded.revision, value: new Document(loaded.revision, version.etag, body) };
    });
  }
}

const services = new WeakMap<FlagSetCache, DeltaService>();
export function deltaService(cache: FlagSetCache): DeltaService {
  let d = services.get(cache);
  if (!d) {
    d = new DeltaService(cache);
    services.set(cache, d);
  }
  return d;
}
