export * from './types.js';
export { OPERATORS } from './operators.js';
export { compile, type CompileOptions, type ImpressionEvent } from './compile.js';
export { applyDelta, type DeltaEvent } from './delta.js';
export { murmur3 } from './murmur3.js';
export { bucket100, bucket10000, rolloutThreshold } from './rollout.js';
export { resolveContextValue } from './context.js';
