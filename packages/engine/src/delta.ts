/**
 * Unleash delta API (`GET /api/client/delta`) events applied to a client-API payload — the same
 * state transitions as unleash-client's repository: hydration replaces everything,
 * feature-updated / feature-removed / segment-updated / segment-removed patch it.
 */
import type { ClientFeaturesPayload, FeatureConfig, Segment } from './types.js';

export type DeltaEvent =
  | { eventId?: number; type: 'hydration'; features: FeatureConfig[]; segments?: Segment[] }
  | { eventId?: number; type: 'feature-updated'; feature: FeatureConfig }
  | { eventId?: number; type: 'feature-removed'; featureName: string; project?: string }
  | { eventId?: number; type: 'segment-updated'; segment: Segment }
  | { eventId?: number; type: 'segment-removed'; segmentId: number };

/** Returns a new payload; `base` is not modified. Unknown event types are ignored. */
export function applyDelta(
  base: ClientFeaturesPayload | undefined,
  events: readonly DeltaEvent[],
): ClientFeaturesPayload {
  let features = new Map<string, FeatureConfig>((base?.features ?? []).map((f) => [f.name, f]));
  let segments = new Map<number, Segment>((base?.segments ?? []).map((s) => [s.id, s]));
  for (const e of events) {
    switch (e.type) {
      case 'hydration':
        features = new Map((e.features ?? []).map((f) => [f.name, f]));
        segments = new Map((e.segments ?? []).map((s) => [s.id, s]));
        break;
      case 'feature-updated':
        features.set(e.feature.name, e.feature);
        break;
      case 'feature-removed':
        features.delete(e.featureName);
        break;
      case 'segment-updated':
        segments.set(e.segment.id, e.segment);
        break;
      case 'segment-removed':
        segments.delete(e.segmentId);
        break;
      default:
        break;
    }
  }
  return { version: base?.version ?? 2, features: [...features.values()], segments: [...segments.values()] };
}
