/**
 * MurmurHash3, x86 32-bit variant — our own implementation.
 *
 * Byte semantics deliberately match the `murmurhash3js` package that the official Unleash Node
 * SDK (unleash-client) uses: every UTF-16 code unit of the JavaScript string contributes its
 * low 8 bits (`charCodeAt(i) & 0xff`) and the length mixed in at the end is the number of code
 * units. For ASCII input this is exactly murmur3 over the UTF-8 bytes; for non-ASCII input it is
 * what the Node SDK computes (and therefore what decides which users a rollout selects there),
 * so we reproduce it bit-for-bit rather than hashing UTF-8.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** murmur3 x86_32 of `key` with `seed`, as an unsigned 32-bit integer. */
export function murmur3(key: string, seed = 0): number {
  const len = key.length;
  const blocks = len & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    const k =
      (key.charCodeAt(i) & 0xff) |
      ((key.charCodeAt(i + 1) & 0xff) << 8) |
      ((key.charCodeAt(i + 2) & 0xff) << 16) |
      ((key.charCodeAt(i + 3) & 0xff) << 24);
    h = mixH(h, k);
  }
  let k = 0;
  switch (len & 3) {
    case 3:
      k ^= (key.charCodeAt(i + 2) & 0xff) << 16;
    // falls through
    case 2:
      k ^= (key.charCodeAt(i + 1) & 0xff) << 8;
    // falls through
    case 1:
      k ^= key.charCodeAt(i) & 0xff;
      h ^= mixK(k);
  }
  h ^= len;
  return fmix(h);
}

/**
 * The hash state after a fixed prefix (e.g. `"groupId:"`), so that hashing `prefix + s` at
 * evaluation time needs neither a string concatenation nor re-hashing the prefix.
 */
export interface PrefixState {
  /** h1 after all complete 4-byte blocks of the prefix. */
  readonly h: number;
  /** Pending bytes of the incomplete last block, little-endian. */
  readonly k: number;
  /** Number of pending bytes (0–3). */
  readonly n: number;
  /** Prefix length in code units. */
  readonly len: number;
}

export function prefixState(prefix: string, seed = 0): PrefixState {
  const len = prefix.length;
  const blocks = len & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    const k =
      (prefix.charCodeAt(i) & 0xff) |
      ((prefix.charCodeAt(i + 1) & 0xff) << 8) |
      ((prefix.charCodeAt(i + 2) & 0xff) << 16) |
      ((prefix.charCodeAt(i + 3) & 0xff) << 24);
    h = mixH(h, k);
  }
  let k = 0;
  let n = 0;
  for (; i < len; i++, n++) k |= (prefix.charCodeAt(i) & 0xff) << (8 * n);
  return { h, k, n, len };
}

/** murmur3(prefix + s, seed) where `p = prefixState(prefix, seed)`. */
export function murmur3Suffix(p: PrefixState, s: string): number {
  const slen = s.length;
  let h = p.h;
  let k = p.k;
  let n = p.n;
  let i = 0;
  if (n !== 0) {
    while (n < 4 && i < slen) {
      k |= (s.charCodeAt(i++) & 0xff) << (8 * n);
      n++;
    }
    if (n === 4) {
      h = mixH(h, k);
      k = 0;
      n = 0;
    }
  }
  if (n === 0) {
    const end = i + ((slen - i) & ~3);
    for (; i < end; i += 4) {
      const b =
        (s.charCodeAt(i) & 0xff) |
        ((s.charCodeAt(i + 1) & 0xff) << 8) |
        ((s.charCodeAt(i + 2) & 0xff) << 16) |
        ((s.charCodeAt(i + 3) & 0xff) << 24);
      h = mixH(h, b);
    }
    for (; i < slen; i++, n++) k |= (s.charCodeAt(i) & 0xff) << (8 * n);
  }
  if (n !== 0) h ^= mixK(k);
  h ^= p.len + slen;
  return fmix(h);
}
