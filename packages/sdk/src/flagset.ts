/**
 * Checking flag data before it replaces the last good set, and working out which flags a new set
 * changed (for the `changed` event).
 */
import type { ClientFeaturesPayload, DeltaEvent, FeatureConfig, Segment, Variant } from '@switchyard/engine';
import { MalformedDataError } from './http.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optArray = (v: unknown) => v === undefined || v === null || Array.isArray(v);

function checkFeature(f: unknown, where: string): FeatureConfig {
  if (!isObject(f)) throw new MalformedDataError(`${where}: a flag is not an object`);
  if (typeof f.name !== 'string' || f.name.length === 0) throw new MalformedDataError(`${where}: a flag has no name`);
  if (f.enabled !== undefined && typeof f.enabled !== 'boolean') throw new MalformedDataError(`${where}: flag "${f.name}" has a non-boolean "enabled"`);
  if (!optArray(f.strategies)) throw new MalformedDataError(`${where}: flag "${f.name}" has non-array "strategies"`);
  if (!optArray(f.variants)) throw new MalformedDataError(`${where}: flag "${f.name}" has non-array "variants"`);
  if (Array.isArray(f.strategies) && f.strategies.some((s) => !isObject(s) || typeof s.name !== 'string')) {
    throw new MalformedDataError(`${where}: flag "${f.name}" has a strategy without a name`);
  }
  return f as unknown as FeatureConfig;
}

function checkSegment(s: unknown, where: string): Segment {
  if (!isObject(s) || typeof s.id !== 'number' || !optArray(s.constraints)) throw new MalformedDataError(`${where}: a segment is malformed`);
  return s as unknown as Segment;
}

/** A client-API payload (`GET /api/client/features`), checked. */
export function checkPayload(p: unknown, where = 'flag set'): ClientFeaturesPayload {
  if (!isObject(p)) throw new MalformedDataError(`${where}: not a JSON object`);
  if (!Array.isArray(p.features)) throw new MalformedDataError(`${where}: "features" is not an array`);
  for (const f of p.features) checkFeature(f, where);
  if (!optArray(p.segments)) throw new MalformedDataError(`${where}: "segments" is not an array`);
  for (const s of (p.segments as unknown[] | undefined) ?? []) checkSegment(s, where);
  return p as unknown as ClientFeaturesPayload;
}

const KNOWN_EVENTS = new Set(['hydration', 'feature-updated', 'feature-removed', 'segment-updated', 'segment-removed']);

/** Delta events (`{events: [...]}` of the stream and `/api/client/delta`), checked; unknown event types are dropped. */
export function checkDeltaEvents(body: unknown, where = 'delta'): DeltaEvent[] {
  if (!isObject(body) || !Array.isArray(body.events)) throw new MalformedDataError(`${where}: no "events" array`);
  const out: DeltaEvent[] = [];
  for (const e of body.events) {
    if (!isObject(e) || typeof e.type !== 'string') throw new MalformedDataError(`${where}: an event has no type`);
    if (!KNOWN_EVENTS.has(e.type)) continue;
    switch (e.type) {
      case 'hydration':
        if (!Array.isArray(e.features)) throw new MalformedDataError(`${where}: hydration without "features"`);
        for (const f of e.features) checkFeature(f, where);
        if (!optArray(e.segments)) throw new MalformedDataError(`${where}: hydration "segments" is not an array`);
        for (const s of (e.segments as unknown[] | undefined) ?? []) checkSegment(s, where);
        break;
      case 'feature-updated':
        checkFeature(e.feature, where);
        break;
      case 'feature-removed':
        if (typeof e.featureName !== 'string') throw new MalformedDataError(`${where}: feature-removed without "featureName"`);
        break;
      case 'segment-updated':
        checkSegment(e.segment, where);
        break;
      case 'segment-removed':
        if (typeof e.segmentId !== 'number') throw new MalformedDataError(`${where}: segment-removed without "segmentId"`);
        break;
    }
    out.push(e as unknown as DeltaEvent);
  }
  return out;
}

/** A toggle of the frontend API (`GET /api/frontend`). */
export interface FrontendToggle {
  name: string;
  enabled: boolean;
  variant: Variant;
  impressionData?: boolean;
  /** Present when the server reports why (not sent by Unleash servers). */
  reason?: string;
}

export function checkToggles(body: unknown, where = 'frontend API'): FrontendToggle[] {
  if (!isObject(body) || !Array.isArray(body.toggles)) throw new MalformedDataError(`${where}: no "toggles" array`);
  for (const t of body.toggles) {
    if (!isObject(t) || typeof t.name !== 'string' || typeof t.enabled !== 'boolean' || !isObject(t.variant) || typeof t.variant.name !== 'string') {
      throw new MalformedDataError(`${where}: a toggle is malformed`);
    }
  }
  return body.toggles as FrontendToggle[];
}

/** Fingerprints of a flag set, to tell later sets what changed. */
export interface Fingerprints {
  features: Map<string, string>;
  segments: Map<number, string>;
}

export function fingerprintPayload(p: ClientFeaturesPayload): Fingerprints {
  return {
    features: new Map(p.features.map((f) => [f.name, JSON.stringify(f)])),
    segments: new Map((p.segments ?? []).map((s) => [s.id, JSON.stringify(s)])),
  };
}

export function fingerprintToggles(toggles: FrontendToggle[]): Fingerprints {
  return { features: new Map(toggles.map((t) => [t.name, JSON.stringify(t)])), segments: new Map() };
}

/**
 * Names of the flags whose answers may differ between two sets: added, removed or edited flags,
 * flags using an edited segment, and flags depending on any of those.
 */
export function changedFlags(before: Fingerprints | undefined, after: Fingerprints, payload?: ClientFeaturesPayload): string[] {
  const changed = new Set<string>();
  if (!before) return [...after.features.keys()].sort();
  for (const [name, fp] of after.features) if (before.features.get(name) !== fp) changed.add(name);
  for (const name of before.features.keys()) if (!after.features.has(name)) changed.add(name);
  if (payload) {
    const segs = new Set<number>();
    for (const [id, fp] of after.segments) if (before.segments.get(id) !== fp) segs.add(id);
    for (const id of before.segments.keys()) if (!after.segments.has(id)) segs.add(id);
    for (const f of payload.features) {
      if (segs.size && f.strategies?.some((s) => s.segments?.some((id) => segs.has(id)))) changed.add(f.name);
    }
    if (changed.size) {
      for (const f of payload.features) if (f.dependencies?.some((d) => changed.has(d.feature))) changed.add(f.name);
    }
  }
  return [...changed].sort();
}
