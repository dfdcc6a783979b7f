import { describe, expect, it } from 'vitest';
import { compile } from '@switchyard/engine';
import { toClientPayload, type LoadedPayload } from '../src/client-api/payload.js';

describe('client payload for SDKs without segment support', () => {
  const loaded = {
    revision: 3,
    features: [
      { name: 'known', enabled: true, strategies: [{ name: 'default', constraints: [], segments: [1] }] },
      { name: 'dangling', enabled: true, strategies: [{ name: 'default', constraints: [], segments: [-7] }] },
    ],
    segments: [{ id: 1, name: 'staff', constraints: [{ contextName: 'userId', operator: 'IN', values: ['ada'] }] }],
  } as unknown as LoadedPayload;

  it('inlines existing segments and never widens the audience for a missing one', () => {
    const doc = toClientPayload(loaded, 'inline', {});
    expect(doc.segments).toBeUndefined();
    const flags = compile(doc as any);
    expect(flags.isEnabled('known', { userId: 'ada' })).toBe(true);
    expect(flags.isEnabled('known', { userId: 'bob' })).toBe(false);
    expect(flags.isEnabled('dangling', { userId: 'ada' })).toBe(false);
    expect(flags.isEnabled('dangling', {})).toBe(false);
    // The segment-aware flavour agrees.
    const modern = compile(toClientPayload(loaded, 'segments', {}) as any);
    expect(modern.isEnabled('dangling', { userId: 'ada' })).toBe(false);
  });
});
