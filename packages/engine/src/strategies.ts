/**
 * Built-in activation strategies, compiled to closures. Semantics follow unleash-client v6,
 * including its fallbacks to Math.random (so that a seeded Math.random reproduces the Node SDK's
 * decisions call for call), with one deliberate extension: rollout percentages with decimals
 * (see rollout.ts).
 */
import { contextResolver, resolveContextValue } from './context.js';
import { parseV4, v4PrefixEqual, type V4 } from './ip.js';
import { murmur3Suffix, prefixState } from './murmur3.js';
import { bucket10000, rolloutThreshold } from './rollout.js';
import type { Context } from './types.js';

/** `flagName` is only used for flexibleRollout's groupId fallback (`context.featureToggle`). */
export type StrategyCheck = (ctx: Context) => boolean;

export type Params = Record<string, string | number | undefined>;

export interface CompiledStrategyImpl {
  check: StrategyCheck;
  /** 'static' = on for every context; 'split' = hash/random decides; 'targeting' = context decides. */
  kind: 'static' | 'split' | 'targeting';
}

export interface StrategyOptions {
  /** The application's hostname for applicationHostname (else context.hostname / properties.hostname). */
  hostname?: string;
}

const splitList = (s: unknown): string[] => String(s).split(/\s*,\s*/);

function flexibleRandom(): string {
  return `${Math.round(Math.random() * 10000) + 1}`;
}

function gradual(field: 'userId' | 'sessionId', params: Params): CompiledStrategyImpl {
  const threshold = rolloutThreshold(params.percentage);
  const prefix = prefixState(`${params.groupId || ''}:`);
  return {
    kind: threshold >= 10000 ? 'targeting' : 'split',
    check: (ctx) => {
      const id = ctx[field];
      if (!id) return false;
      if (threshold < 1) return false;
      if (threshold >= 10000) return true;
      return bucket10000(murmur3Suffix(prefix, typeof id === 'string' ? id : `${id}`)) <= threshold;
    },
  };
}

function flexibleRollout(params: Params): CompiledStrategyImpl {
  const threshold = rolloutThreshold(params.rollout);
  const stickiness = params.stickiness || 'default';
  const staticGroup = params.groupId;
  const kind = threshold >= 10000 ? 'static' : 'split';
  // Without a groupId parameter, Unleash falls back to context.featureToggle, then ''.
  const dynamicHash = (ctx: Context, id: string): number => murmur3Suffix(prefixState(`${ctx.featureToggle || ''}:`), id);
  // 0 % and 100 % need no hashing; the stickiness value (and any Math.random fallback) is still
  // resolved first, exactly as in Unleash.
  const all = threshold >= 10000;
  const none = threshold < 1;
  let decide: (ctx: Context, id: string) => boolean;
  if (all) decide = () => true;
  else if (none) decide = () => false;
  else if (staticGroup) {
    const prefix = prefixState(`${staticGroup}:`);
    decide = (_ctx, id) => bucket10000(murmur3Suffix(prefix, id)) <= threshold;
  } else decide = (ctx, id) => bucket10000(dynamicHash(ctx, id)) <= threshold;

  if (stickiness === 'default') {
    if (staticGroup && !all && !none) {
      const prefix = prefixState(`${staticGroup}:`);
      return {
        kind,
        check: (ctx) => {
          const id = ctx.userId || ctx.sessionId || flexibleRandom();
          return bucket10000(murmur3Suffix(prefix, typeof id === 'string' ? id : `${id}`)) <= threshold;
        },
      };
    }
    return {
      kind,
      check: (ctx) => {
        const id = ctx.userId || ctx.sessionId || flexibleRandom();
        return decide(ctx, typeof id === 'string' ? id : `${id}`);
      },
    };
  }
  if (stickiness === 'random') {
    return { kind, check: (ctx) => decide(ctx, flexibleRandom()) };
  }
  const resolve = contextResolver(String(stickiness));
  return {
    kind: kind === 'static' ? 'targeting' : kind,
    check: (ctx) => {
      const id = resolve(ctx);
      if (!id) return false;
      return decide(ctx, id);
    },
  };
}

function userWithId(params: Params): CompiledStrategyImpl {
  const ids = new Set<unknown>(params.userIds ? splitList(params.userIds) : []);
  return { kind: 'targeting', check: (ctx) => ctx.userId !== undefined && ids.has(ctx.userId) };
}

function remoteAddress(params: Params): CompiledStrategyImpl {
  if (!params.IPs) return { kind: 'targeting', check: () => false };
  const exact = new Set<unknown>();
  const ranges: V4[] = [];
  for (const r of splitList(params.IPs)) {
    exact.add(r);
    const p = parseV4(r);
    if (p) ranges.push(p);
  }
  return {
    kind: 'targeting',
    check: (ctx) => {
      const ip = ctx.remoteAddress;
      if (exact.has(ip)) return true;
      if (typeof ip !== 'string' || ranges.length === 0) return false;
      const a = parseV4(ip);
      if (a === null) return false;
      for (const r of ranges) if (a.prefix >= r.prefix && v4PrefixEqual(a.addr, r.addr, r.prefix)) return true;
      return false;
    },
  };
}

function applicationHostname(params: Params, opts: StrategyOptions): CompiledStrategyImpl {
  if (!params.hostNames) return { kind: 'targeting', check: () => false };
  const names = new Set(splitList(String(params.hostNames).toLowerCase()));
  if (opts.hostname !== undefined) {
    const on = names.has(opts.hostname.toLowerCase());
    return { kind: on ? 'static' : 'targeting', check: () => on };
  }
  // In a browser there is no host to ask: the application supplies it in the context.
  return {
    kind: 'targeting',
    check: (ctx) => {
      const h = resolveContextValue(ctx, 'hostname');
      return h !== undefined && names.has(h.toLowerCase());
    },
  };
}

function gradualRolloutRandom(params: Params): CompiledStrategyImpl {
  const percentage = Number(params.percentage);
  return {
    kind: percentage >= 100 ? 'static' : 'split',
    check: () => percentage >= Math.floor(Math.random() * 100) + 1,
  };
}

/** Compiles a built-in strategy; null for unknown strategy names (they never match). */
export function compileStrategyImpl(
  name: string,
  params: Params,
  opts: StrategyOptions,
): CompiledStrategyImpl | null {
  switch (name) {
    case 'default':
      return { kind: 'static', check: () => true };
    case 'flexibleRollout':
      return flexibleRollout(params);
    case 'userWithId':
      return userWithId(params);
    case 'gradualRolloutUserId':
      return gradual('userId', params);
    case 'gradualRolloutSessionId':
      return gradual('sessionId', params);
    case 'gradualRolloutRandom':
      return gradualRolloutRandom(params);
    case 'remoteAddress':
      return remoteAddress(params);
    case 'applicationHostname':
      return applicationHostname(params, opts);
    default:
      return null;
  }
}
