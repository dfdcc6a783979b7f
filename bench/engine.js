#!/usr/bin/env node
// Evaluation-engine benchmark: Switchyard's compiled evaluator vs the official Unleash Node SDK
// (offline: its UnleashClient evaluator, and a full `Unleash` instance bootstrapped with the same
// payload) vs GrowthBook (the same flags translated to GrowthBook features).
//
// Same 200 flags and 10 000 contexts for every peer. Switchyard's answers are checked to be
// identical to unleash-client's for every flag × context before anything is timed.
//
//   npx tsc -b packages/engine && node bench/engine.js
//   (bench/run.js calls runEngineBench())
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { compile } from '../packages/engine/dist/index.js';

const require = createRequire(import.meta.url);

const FLAGS = 200;
const CONTEXTS = 10_000;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 700);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

// ---------------------------------------------------------------- data (deterministic)
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeData(seed = 42) {
  const r = mulberry32(seed);
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  const features = [];
  for (let i = 0; i < FLAGS; i++) {
    const name = `flag-${i}`;
    const rollout = int(0, 100);
    const constraints = [];
    switch (i % 5) {
      case 1:
        constraints.push({ contextName: 'userId', operator: 'IN', values: Array.from({ length: 20 }, () => `user-${int(0, CONTEXTS - 1)}`) });
        break;
      case 2:
        constraints.push({ contextName: 'email', operator: 'STR_STARTS_WITH', values: ['a', 'b', 'c', 'd'].slice(0, int(1, 4)) });
        break;
      case 3:
        constraints.push({ contextName: 'age', operator: 'NUM_GT', value: String(int(10, 60)) });
        constraints.push({ contextName: 'appVersion', operator: 'SEMVER_GT', value: `1.${int(0, 9)}.0` });
        break;
      case 4:
        constraints.push({ contextName: 'appVersion', operator: 'SEMVER_GT', value: `1.${int(0, 9)}.0` });
        break;
    }
    const f = {
      name,
      enabled: r() < 0.9,
      strategies: [{ name: 'flexibleRollout', parameters: { rollout: String(i % 5 === 1 ? 100 : rollout), stickiness: 'default', groupId: name }, constraints }],
    };
    if (i % 4 === 0) {
      const n = int(2, 3);
      f.variants = Array.from({ length: n }, (_, k) => ({
        name: `v${k}`,
        weight: Math.floor(1000 / n) + (k === 0 ? 1000 % n : 0),
        weightType: 'variable',
        stickiness: 'default',
        payload: { type: 'string', value: `payload-${k}` },
      }));
    }
    features.push(f);
  }
  const payload = { version: 2, features, segments: [] };
  const contexts = [];
  for (let j = 0; j < CONTEXTS; j++) {
    contexts.push({
      userId: `user-${j}`,
      properties: {
        email: `${'abcdefghij'[int(0, 9)]}user${j}@example.com`,
        age: String(int(5, 80)),
        appVersion: `1.${int(0, 12)}.${int(0, 5)}`,
      },
    });
  }
  return { payload, contexts };
}

// ---------------------------------------------------------------- GrowthBook translation
function toGrowthBook(payload) {
  const features = {};
  for (const f of payload.features) {
    const s = f.strategies[0];
    const condition = {};
    for (const c of s.constraints) {
      if (c.operator === 'IN') condition.id = { $in: c.values };
      else if (c.operator === 'STR_STARTS_WITH') condition.email = { $regex: `^(${c.values.join('|')})` };
      else if (c.operator === 'NUM_GT') condition.age = { $gt: Number(c.value) };
      else if (c.operator === 'SEMVER_GT') condition.appVersion = { $vgt: c.value };
    }
    const coverage = Number(s.parameters.rollout) / 100;
    const cond = Object.keys(condition).length ? { condition } : {};
    features[f.name] = {
      defaultValue: false,
      rules: f.enabled ? [{ ...cond, force: true, coverage, hashAttribute: 'id', seed: f.name }] : [],
    };
    features[`${f.name}::variant`] = {
      defaultValue: 'disabled',
      rules:
        f.enabled && f.variants
          ? [{ ...cond, key: f.name, coverage, hashAttribute: 'id', variations: f.variants.map((v) => v.name), weights: f.variants.map((v) => v.weight / 1000) }]
          : [],
    };
  }
  return features;
}

// ---------------------------------------------------------------- peers
async function makePeers(payload, contexts) {
  const UnleashClient = require('unleash-client/lib/client').default;
  const { defaultStrategies } = require('unleash-client/lib/strategy');
  const { Unleash, InMemStorageProvider } = require('unleash-client');
  const { GrowthBookClient } = await import('@growthbook/growthbook');

  const sy = compile(payload);

  const data = Object.fromEntries(payload.features.map((f) => [f.name, f]));
  const uc = new UnleashClient({ getToggle: (n) => data[n], getSegment: () => undefined }, defaultStrategies);
  uc.on('warn', () => {});

  const unleash = new Unleash({
    url: 'http://127.0.0.1:9/api/',
    appName: 'switchyard-bench',
    refreshInterval: 0,
    disableMetrics: true,
    skipInstanceCountWarning: true,
    bootstrap: { data: payload.features },
    storageProvider: new InMemStorageProvider(),
  });
  unleash.on('error', () => {});
  unleash.on('warn', () => {});
  await new Promise((resolve) => (unleash.isSynchronized?.() || unleash.ready ? resolve() : unleash.once('ready', resolve)));

  const gb = new GrowthBookClient({});
  gb.initSync({ payload: { features: toGrowthBook(payload) } });
  const gbContexts = contexts.map((c) => ({
    attributes: { id: c.userId, email: c.properties.email, age: Number(c.properties.age), appVersion: c.properties.appVersion },
  }));

  return [
    {
      name: 'switchyard',
      isEnabled: (f, j) => sy.isEnabled(f, contexts[j]),
      getVariant: (f, j) => sy.getVariant(f, contexts[j]).name,
    },
    {
      name: 'unleash-client (evaluator)',
      isEnabled: (f, j) => uc.isEnabled(f, contexts[j], () => false),
      getVariant: (f, j) => uc.getVariant(f, contexts[j]).name,
    },
    {
      name: 'unleash-client (Unleash instance)',
      isEnabled: (f, j) => unleash.isEnabled(f, contexts[j]),
      getVariant: (f, j) => unleash.getVariant(f, contexts[j]).name,
      close: () => unleash.destroy(),
    },
    {
      name: 'growthbook',
      isEnabled: (f, j) => gb.isOn(f, gbContexts[j]),
      getVariant: (f, j) => gb.getFeatureValue(`${f}::variant`, 'disabled', gbContexts[j]),
    },
  ];
}

// ---------------------------------------------------------------- measurement
// Every flag against every 4th context (500 000 pairs) for the evaluator, every 40th for the
// full Unleash instance: isEnabled and the variant name must be identical.
function verify(peers, names) {
  const [sy, uc, un] = peers;
  let checked = 0;
  let variantsOn = 0;
  let enabledOn = 0;
  for (let j = 0; j < CONTEXTS; j += 4) {
    for (let i = 0; i < names.length; i++) {
      const f = names[i];
      const e = sy.isEnabled(f, j);
      const v = sy.getVariant(f, j);
      const viaInstance = j % 40 === 0;
      if (e !== uc.isEnabled(f, j) || v !== uc.getVariant(f, j) || (viaInstance && (e !== un.isEnabled(f, j) || v !== un.getVariant(f, j)))) {
        throw new Error(`switchyard and unleash-client disagree on ${f} for context #${j}`);
      }
      checked++;
      if (e) enabledOn++;
      if (v !== 'disabled') variantsOn++;
    }
  }
  return { checked, enabledOn, variantsOn };
}

function timeOne(fn, names) {
  const nf = names.length;
  let sink = 0;
  let ops = 0;
  let k = 0;
  const start = performance.now();
  const deadline = start + ROUND_MS;
  let now = start;
  while (now < deadline) {
    for (let b = 0; b < 4096; b++) {
      const r = fn(names[k % nf], (k * 7919) % CONTEXTS);
      if (r === true || (typeof r === 'string' && r.length > 8)) sink++;
      k++;
    }
    ops += 4096;
    now = performance.now();
  }
  globalThis.__benchSink = sink;
  return (ops / (now - start)) * 1000;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function runEngineBench({ log = console.log } = {}) {
  const { payload, contexts } = makeData();
  const names = payload.features.map((f) => f.name);
  const peers = await makePeers(payload, contexts);
  const t0 = performance.now();
  const v = verify(peers, names);
  log(
    `verified: switchyard = unleash-client on all ${v.checked.toLocaleString('en-US')} flag × context pairs ` +
      `(isEnabled and getVariant; ${((100 * v.enabledOn) / v.checked).toFixed(1)} % enabled, ` +
      `${((100 * v.variantsOn) / v.checked).toFixed(1)} % with a variant) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const results = {};
  for (const op of ['isEnabled', 'getVariant']) {
    for (const p of peers) timeOne(p[op], names.slice(0, 20)); // warm-up
    const samples = Object.fromEntries(peers.map((p) => [p.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Interleave peers each round so machine noise hits everyone alike.
      for (const p of peers) samples[p.name].push(timeOne(p[op], names));
    }
    for (const p of peers) (results[p.name] ??= {})[op] = median(samples[p.name]);
  }
  for (const p of peers) p.close?.();
  const base = results['unleash-client (evaluator)'];
  const inst = results['unleash-client (Unleash instance)'];
  const rows = peers.map((p) => ({
    engine: p.name,
    'isEnabled ops/s': Math.round(results[p.name].isEnabled),
    'getVariant ops/s': Math.round(results[p.name].getVariant),
    'isEnabled × unleash evaluator': results[p.name].isEnabled / base.isEnabled,
    'getVariant × unleash evaluator': results[p.name].getVariant / base.getVariant,
    'isEnabled × Unleash#isEnabled': results[p.name].isEnabled / inst.isEnabled,
    'getVariant × Unleash#getVariant': results[p.name].getVariant / inst.getVariant,
  }));
  const fmt = (x, col) => (typeof x === 'number' ? (col.includes('×') ? `${x.toFixed(2)}×` : x.toLocaleString('en-US')) : x);
  const cols = Object.keys(rows[0]);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c], c).length)));
  log(cols.map((c, i) => c.padEnd(widths[i])).join('  '));
  for (const r of rows) log(cols.map((c, i) => (i === 0 ? fmt(r[c], c).padEnd(widths[i]) : fmt(r[c], c).padStart(widths[i]))).join('  '));
  log(`(${FLAGS} flags × ${CONTEXTS.toLocaleString('en-US')} contexts; median of ${ROUNDS} rounds of ${ROUND_MS} ms; ratios vs unleash-client's internal evaluator and vs its public Unleash instance API)`);
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runEngineBench();
}
