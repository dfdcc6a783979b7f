// A deterministic, realistic flag set for benchmarks, as an Unleash client-API payload
// ({version, features, segments}): flexibleRollout 0–100 %, constraints on userId IN,
// email STR_STARTS_WITH, age NUM_GT and appVersion SEMVER_GT, a few segments, some variants.
// Shared by the engine and HTTP benchmarks so both measure the same thing.

/** mulberry32: a tiny seeded PRNG, so every run measures the same flags. */
export function prng(seed = 42) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONSTRAINT_KINDS = [
  (r) => ({ contextName: 'userId', operator: 'IN', values: Array.from({ length: 1 + Math.floor(r() * 50) }, (_, i) => `user-${Math.floor(r() * 10_000) + i}`) }),
  (r) => ({ contextName: 'email', operator: 'STR_STARTS_WITH', values: [`team${Math.floor(r() * 10)}`, 'qa-'], caseInsensitive: r() < 0.5 }),
  (r) => ({ contextName: 'age', operator: 'NUM_GT', value: String(18 + Math.floor(r() * 40)) }),
  (r) => ({ contextName: 'appVersion', operator: 'SEMVER_GT', value: `${1 + Math.floor(r() * 3)}.${Math.floor(r() * 10)}.0` }),
];

/**
 * @param {{count?: number, seed?: number, segments?: number}} [opts]
 * @returns {{version: number, features: any[], segments: any[]}}
 */
export function generateFlagSet({ count = 200, seed = 42, segments: segmentCount = 5 } = {}) {
  const r = prng(seed);
  const pick = (arr) => arr[Math.floor(r() * arr.length)];
  const segments = Array.from({ length: segmentCount }, (_, i) => ({
    id: i + 1,
    name: `bench-segment-${i + 1}`,
    constraints: [pick(CONSTRAINT_KINDS)(r)],
  }));
  const features = [];
  for (let i = 0; i < count; i++) {
    const name = `bench.flag.${String(i).padStart(3, '0')}`;
    const strategies = [];
    const strategyCount = 1 + Math.floor(r() * 3);
    for (let s = 0; s < strategyCount; s++) {
      const rollout = pick([0, 5, 10, 25, 50, 75, 100, Math.floor(r() * 101)]);
      const constraints = Array.from({ length: Math.floor(r() * 3) }, () => pick(CONSTRAINT_KINDS)(r));
      const strategy = {
        name: 'flexibleRollout',
        parameters: { rollout: String(rollout), stickiness: pick(['default', 'userId', 'sessionId']), groupId: name },
        constraints,
      };
      if (segmentCount && r() < 0.15) strategy.segments = [1 + Math.floor(r() * segmentCount)];
      if (r() < 0.2) {
        strategy.variants = [
          { name: 'on-a', weight: 500, weightType: 'variable', stickiness: 'default', payload: { type: 'string', value: 'a' } },
          { name: 'on-b', weight: 500, weightType: 'variable', stickiness: 'default', payload: { type: 'string', value: 'b' } },
        ];
      }
      strategies.push(strategy);
    }
    const feature = {
      name,
      type: pick(['release', 'release', 'experiment', 'operational', 'kill-switch']),
      enabled: r() < 0.85,
      project: 'default',
      stale: false,
      impressionData: false,
      strategies,
      variants: [],
    };
    if (r() < 0.3) {
      const n = 2 + Math.floor(r() * 3);
      feature.variants = Array.from({ length: n }, (_, v) => ({
        name: `variant-${v}`,
        weight: Math.floor(1000 / n),
        weightType: 'variable',
        stickiness: 'default',
        payload: { type: 'json', value: JSON.stringify({ v, color: pick(['red', 'green', 'blue']) }) },
      }));
    }
    features.push(feature);
  }
  return { version: 2, features, segments };
}

/** A plausible evaluation context for user `i` (deterministic). */
export function contextFor(i) {
  return {
    userId: `user-${i % 10_000}`,
    sessionId: `session-${i}`,
    appName: 'bench',
    environment: 'production',
    properties: {
      email: `${i % 3 === 0 ? 'qa-' : `team${i % 10}`}person${i}@example.com`,
      age: String(10 + (i % 60)),
      appVersion: `${1 + (i % 4)}.${i % 10}.${i % 7}`,
    },
  };
}
