/** IPv4/IPv6 text ↔ network-order bytes, for the MS-SWN address fields. */
import { NdrError } from '../errors';

const V4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parse dotted-quad text into out[off..off+4); false when it is not an IPv4 address. */
export function parseIpv4Into(text: string, out: Buffer, off: number): boolean {
  if (typeof text !== 'string' || text.length < 7 || text.length > 15) return false;
  let part = 0, digits = 0, n = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || n > 255 || part > 3) return false;
      out[off + part++] = n;
      n = 0; digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && n === 0) return false; // no leading zeros
      n = n * 10 + (c - 48);
      if (++digits > 3) return false;
    } else return false;
  }
  return part === 4;
}

export function ipv4ToBytes(text: string, at: number): Buffer {
  const b = Buffer.alloc(4);
  if (!parseIpv4Into(text, b, 0)) throw new NdrError(`not an IPv4 address: ${JSON.stringify(text)}`, at);
  return b;
}

export function ipv4FromBytes(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Parse IPv6 text (with :: compression and an optional trailing dotted quad) to 16 bytes. */
const V6_CACHE = new Map<string, Buffer>();
const V6_CACHE_MAX = 4096;

/** IPv6 text to 16 bytes; recent results are cached (servers send the same addresses again and again). */
export function ipv6ToBytes(text: string, at: number): Buffer {
  const hit = V6_CACHE.get(text);
  if (hit) return hit;
  const b = parseIpv6(text, at);
  if (V6_CACHE.size >= V6_CACHE_MAX) V6_CACHE.clear();
  V6_CACHE.set(text, b);
  return b;
}

function parseIpv6(text: string, at: number): Buffer {
  const bad = (): never => {
    throw new NdrError(`not an IPv6 address: ${JSON.stringify(text)}`, at);
  };
  if (typeof text !== 'string' || text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) bad();
  let s = text;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = s.slice(lastColon + 1);
    if (!V4_RE.test(v4)) bad();
    const q = v4.split('.').map(Number);
    tail = [(q[0] << 8) | q[1], (q[2] << 8) | q[3]];
    s = s.slice(0, lastColon + 1) + (s[lastColon - 1] === ':' ? '' : '0');
    if (!s.endsWith('::') && s.endsWith(':0')) s = s.slice(0, -2);
    else if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) bad();
  const parse = (h: string): number[] => (h === '' ? [] : h.split(':').map((g) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) bad();
    return parseInt(g, 16);
  }));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fixed = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (fixed > 7) bad();
    groups = [...head, ...new Array(8 - fixed).fill(0), ...rest, ...tail];
  } else {
    groups = [...head, ...tail];
    if (groups.length !== 8) bad();
  }
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
  return b;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as ::. */
export function ipv6FromBytes(b: Buffer, off: number): string {
  let zero = true;
  for (let i = 0; i < 16; i++) if (b[off + i] !== 0) { zero = false; break; }
  if (zero) return '::';
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(off + 2 * i));
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}
