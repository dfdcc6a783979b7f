/**
 * IP address parsing for the remoteAddress strategy and the IN_CIDR operator.
 *
 * IPv4 follows the exact acceptance rules of the `ip-address` package the Unleash Node SDK uses
 * (four dotted decimal octets 0–255 without leading zeroes, optional `/0`–`/32` suffix of one or
 * two digits). We parse it by hand: ipaddr.js is deliberately lenient for IPv4 ("10.1",
 * hex/octal octets), which would change which contexts match. IPv6 is parsed with ipaddr.js.
 */
import ipaddr from 'ipaddr.js';

export interface V4 {
  /** Address as an unsigned 32-bit integer. */
  readonly addr: number;
  /** Prefix length, 32 when absent. */
  readonly prefix: number;
}

export interface V6 {
  /** Eight 16-bit parts. */
  readonly parts: readonly number[];
  /** Prefix length, 128 when absent. */
  readonly prefix: number;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Parses `a.b.c.d` or `a.b.c.d/n` the way ip-address's Address4 does; null when invalid. */
export function parseV4(s: string): V4 | null {
  let end = s.length;
  let prefix = 32;
  const slash = s.lastIndexOf('/');
  if (slash !== -1) {
    const digits = end - slash - 1;
    if (digits < 1 || digits > 2) return null;
    prefix = 0;
    for (let i = slash + 1; i < end; i++) {
      const c = s.charCodeAt(i);
      if (!isDigit(c)) return null;
      prefix = prefix * 10 + (c - 48);
    }
    if (prefix > 32) return null;
    end = slash;
  }
  let addr = 0;
  let octets = 0;
  let i = 0;
  while (octets < 4) {
    const start = i;
    let v = 0;
    while (i < end && isDigit(s.charCodeAt(i))) {
      v = v * 10 + (s.charCodeAt(i) - 48);
      i++;
    }
    const n = i - start;
    if (n === 0 || n > 3 || v > 255) return null;
    if (n > 1 && s.charCodeAt(start) === 48) return null; // leading zero
    addr = addr * 256 + v;
    octets++;
    if (octets < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return null;
      i++;
    }
  }
  if (i !== end) return null;
  return { addr, prefix };
}

/** Whether the first `prefix` bits of two IPv4 addresses agree. */
export function v4PrefixEqual(a: number, b: number, prefix: number): boolean {
  if (prefix <= 0) return true;
  const shift = 32 - prefix;
  return Math.floor(a / 2 ** shift) === Math.floor(b / 2 ** shift);
}

/** Parses an IPv6 address with optional `/n` suffix (0–128); null when invalid. */
export function parseV6(s: string): V6 | null {
  let addr = s;
  let prefix = 128;
  const slash = s.lastIndexOf('/');
  if (slash !== -1) {
    const digits = s.length - slash - 1;
    if (digits < 1 || digits > 3) return null;
    prefix = 0;
    for (let i = slash + 1; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (!isDigit(c)) return null;
      prefix = prefix * 10 + (c - 48);
    }
    if (prefix > 128) return null;
    addr = s.slice(0, slash);
  }
  if (addr.indexOf(':') === -1 || !ipaddr.IPv6.isValid(addr)) return null;
  try {
    const parsed = ipaddr.IPv6.parse(addr);
    return { parts: parsed.parts.slice(), prefix };
  } catch {
    return null;
  }
}

/** Whether the first `prefix` bits of two IPv6 addresses agree. */
export function v6PrefixEqual(a: readonly number[], b: readonly number[], prefix: number): boolean {
  let bits = prefix;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    if (bits >= 16) {
      if (a[i] !== b[i]) return false;
    } else {
      const shift = 16 - bits;
      return a[i] >>> shift === b[i] >>> shift;
    }
  }
  return true;
}

export function v6Equal(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false;
  return true;
}
