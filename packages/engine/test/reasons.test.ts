/** evaluate(): OpenFeature reasons, strategy index, variants, impression data. */
import { describe, expect, it, vi } from 'vitest';
import { compile, type ClientFeaturesPayload } from '@switchyard/engine';

const payload: ClientFeaturesPayload = {
  version: 2,
  segments: [{ id: 1, name: 'beta', constraints: [{ contextName: 'plan', operator: 'IN', values: ['beta'] }] }],
  features: [
    { name: 'static-no-strategies', enabled: true, strategies: [] },
    { name: 'static-default', enabled: true, strategies: [{ name: 'default', parameters: {} }] },
    { name: 'static-full-rollout', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'default', groupId: 'g' } }] },
    { name: 'off', enabled: false, strategies: [{ name: 'default' }] },
    {
      name: 'constrained',
      enabled: true,
      strategies: [
        { name: 'default', constraints: [{ contextName: 'country', operator: 'IN', values: ['NO'] }] },
        { name: 'default', constraints: [{ contextName: 'country', operator: 'IN', values: ['SE'] }] },
      ],
    },
    { name: 'segmented', enabled: true, strategies: [{ name: 'default', segments: [1] }] },
    { name: 'missing-segment', enabled: true, strategies: [{ name: 'default', segments: [42] }] },
    { name: 'user-list', enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'alice, bob' } }] },
    { name: 'half', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'userId', groupId: 'half' } }] },
    {
      name: 'ab',
      enabled: true,
      strategies: [{ name: 'default' }],
      variants: [
        { name: 'a', weight: 500, stickiness: 'userId', payload: { type: 'string', value: 'A' } },
        { name: 'b', weight: 500, stickiness: 'userId', overrides: [{ contextName: 'userId', values: ['vip'] }] },
      ],
    },
    {
      name: 'single-variant',
      enabled: true,
      strategies: [{ name: 'default', constraints: [{ contextName: 'country', operator: 'IN', values: ['NO'] }] }],
      variants: [{ name: 'only', weight: 1000 }],
    },
    {
      name: 'strategy-variants',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '100', stickiness: 'userId', groupId: 'sv' },
          variants: [
            { name: 'x', weight: 500, stickiness: 'userId' },
            { name: 'y', weight: 500, stickiness: 'userId' },
          ],
        },
      ],
    },
    { name: 'child', enabled: true, strategies: [{ name: 'default' }], dependencies: [{ feature: 'off' }] },
    { name: 'child-of-disabled', enabled: true, strategies: [{ name: 'default' }], dependencies: [{ feature: 'off', enabled: false }] },
    { name: 'unknown-strategy', enabled: true, strategies: [{ name: 'myCustomStrategy', parameters: {} }] },
    { name: 'impressions', enabled: true, impressionData: true, strategies: [] },
  ],
};

const ev = compile(payload);

describe('reasons', () => {
  it('STATIC: no strategies, an unconstrained default strategy, a 100 % rollout', () => {
    for (const flag of ['static-no-strategies', 'static-default', 'static-full-rollout']) {
      const d = ev.evaluate(flag, { userId: 'u1' });
      expect(d).toMatchObject({ flag, value: true, reason: 'STATIC' });
      expect(d.variant).toEqual({ name: 'disabled', enabled: false, feature_enabled: true, featureEnabled: true });
    }
    expect(ev.evaluate('static-no-strategies').strategyIndex).toBeUndefined();
    expect(ev.evaluate('static-default').strategyIndex).toBe(0);
  });

  it('TARGETING_MATCH: constraints, segments, user lists, variant overrides', () => {
    expect(ev.evaluate('constrained', { properties: { country: 'NO' } })).toMatchObject({ value: true, reason: 'TARGETING_MATCH', strategyIndex: 0 });
    expect(ev.evaluate('constrained', { properties: { country: 'SE' } })).toMatchObject({ value: true, reason: 'TARGETING_MATCH', strategyIndex: 1 });
    expect(ev.evaluate('segmented', { properties: { plan: 'beta' } })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(ev.evaluate('user-list', { userId: 'bob' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    const vip = ev.evaluate('ab', { userId: 'vip' });
    expect(vip).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(vip.variant.name).toBe('b');
    // A single-variant "split" is not a split: the constraint decided.
    expect(ev.evaluate('single-variant', { properties: { country: 'NO' } })).toMatchObject({ reason: 'TARGETING_MATCH', variant: { name: 'only' } });
  });

  it('SPLIT: a partial rollout or a variant split decided', () => {
    const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const on = users.map((userId) => ev.evaluate('half', { userId }));
    expect(on.some((d) => d.value && d.reason === 'SPLIT')).toBe(true);
    expect(on.some((d) => !d.value && d.reason === 'DEFAULT')).toBe(true);
    const ab = users.map((userId) => ev.evaluate('ab', { userId }));
    expect(ab.every((d) => d.reason === 'SPLIT' && d.value)).toBe(true);
    expect(new Set(ab.map((d) => d.variant.name))).toEqual(new Set(['a', 'b']));
    const sv = ev.evaluate('strategy-variants', { userId: 'u7' });
    expect(sv.reason).toBe('SPLIT');
    expect(['x', 'y']).toContain(sv.variant.name);
  });

  it('DISABLED: flag off, or a parent dependency unmet', () => {
    expect(ev.evaluate('off', { userId: 'u' })).toMatchObject({ value: false, reason: 'DISABLED', variant: { name: 'disabled', feature_enabled: false } });
    expect(ev.evaluate('child', { userId: 'u' })).toMatchObject({ value: false, reason: 'DISABLED' });
    expect(ev.evaluate('child-of-disabled', { userId: 'u' })).toMatchObject({ value: true, reason: 'STATIC' });
  });

  it('DEFAULT: on, but no strategy matched', () => {
    expect(ev.evaluate('constrained', { properties: { country: 'US' } })).toMatchObject({ value: false, reason: 'DEFAULT' });
    expect(ev.evaluate('missing-segment', { properties: { plan: 'beta' } })).toMatchObject({ value: false, reason: 'DEFAULT' });
    expect(ev.evaluate('unknown-strategy')).toMatchObject({ value: false, reason: 'DEFAULT' });
    expect(ev.evaluate('user-list', { userId: 'carol' }).strategyIndex).toBeUndefined();
  });

  it('ERROR / FLAG_NOT_FOUND for unknown flags', () => {
    expect(ev.evaluate('nope')).toEqual({
      flag: 'nope',
      value: false,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
      variant: { name: 'disabled', enabled: false, feature_enabled: false, featureEnabled: false },
    });
    expect(ev.isEnabled('nope')).toBe(false);
    expect(ev.getVariant('nope')).toEqual({ name: 'disabled', enabled: false, feature_enabled: false, featureEnabled: false });
    expect(ev.has('nope')).toBe(false);
    expect(ev.has('ab')).toBe(true);
    expect(ev.flagNames()).toHaveLength(payload.features.length);
  });

  it('evaluate agrees with isEnabled and getVariant', () => {
    for (const flag of ev.flagNames()) {
      for (const ctx of [{ userId: 'u0', sessionId: 's0' }, { userId: 'vip' }, { userId: 'u3', properties: { country: 'NO', plan: 'beta' } }]) {
        const d = ev.evaluate(flag, ctx);
        expect(d.value).toBe(ev.isEnabled(flag, ctx));
        expect(d.variant).toEqual(ev.getVariant(flag, ctx));
      }
    }
  });

  it('variants carry payloads and are immutable shared objects', () => {
    const v = ev.getVariant('ab', { userId: 'user-1' });
    expect(v.feature_enabled).toBe(true);
    expect(v.featureEnabled).toBe(true);
    expect(Object.isFrozen(v)).toBe(true);
    const a = ['user-1', 'user-2', 'user-3', 'user-4', 'user-5'].map((userId) => ev.getVariant('ab', { userId })).find((x) => x.name === 'a');
    expect(a?.payload).toEqual({ type: 'string', value: 'A' });
  });

  it('impressionData is reported on the detail and through onImpression', () => {
    const onImpression = vi.fn();
    const e = compile(payload, { onImpression });
    expect(e.evaluate('impressions').impressionData).toBe(true);
    expect(e.evaluate('static-default').impressionData).toBeUndefined();
    e.isEnabled('impressions', { userId: 'u' });
    e.getVariant('impressions', { userId: 'u' });
    e.isEnabled('static-default');
    expect(onImpression).toHaveBeenCalledTimes(2);
    expect(onImpression.mock.calls[0][0]).toMatchObject({ eventType: 'isEnabled', featureName: 'impressions', enabled: true });
    expect(onImpression.mock.calls[1][0]).toMatchObject({ eventType: 'getVariant', featureName: 'impressions', enabled: false, variant: 'disabled' });
  });

  it('applicationHostname: from the compile option, else from the context', () => {
    const p: ClientFeaturesPayload = { version: 2, features: [{ name: 'h', enabled: true, strategies: [{ name: 'applicationHostname', parameters: { hostNames: 'web-1, Web-2' } }] }] };
    expect(compile(p).isEnabled('h')).toBe(false);
    expect(compile(p).isEnabled('h', { properties: { hostname: 'WEB-2' } })).toBe(true);
    expect(compile(p, { hostname: 'web-1' }).isEnabled('h')).toBe(true);
    expect(compile(p, { hostname: 'db-1' }).isEnabled('h', { properties: { hostname: 'web-1' } })).toBe(false);
  });
});
