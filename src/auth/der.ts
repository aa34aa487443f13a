/**
 * The small DER subset SPNEGO needs (RFC 4178 over X.690): single-byte tags, definite
 * lengths up to 4 length bytes, OIDs, OCTET STRING, ENUMERATED, context tags. Every read is
 * bounds-checked against the enclosing element; bad input is a DerError.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export interface Tlv {
  readonly tag: number;
  /** Offset of the first header byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset one past the last content byte. */
  readonly end: number;
}

export const Tag = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  ENUMERATED: 0x0a,
  SEQUENCE: 0x30,
  APPLICATION_0: 0x60,
  context: (n: number) => 0xa0 | n,
} as const;

/** Read the element at `pos`, which must end by `limit`. */
export function readTlv(buf: Buffer, pos: number, limit = buf.length): Tlv {
  if (pos + 2 > limit) throw new DerError('element header truncated');
  const tag = buf[pos];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let p = pos + 1;
  let len = buf[p++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('indefinite length is not DER');
    if (n > 4) throw new DerError('length of length too large');
    if (p + n > limit) throw new DerError('length truncated');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
  }
  if (p + len > limit) throw new DerError(`element of ${len} bytes runs past its container`);
  return { tag, start: pos, contentStart: p, end: p + len };
}

/** Read one element and require the tag. */
export function expectTlv(buf: Buffer, pos: number, tag: number, limit = buf.length): Tlv {
  const t = readTlv(buf, pos, limit);
  if (t.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)}`);
  return t;
}

/** The children of a constructed element. */
export function children(buf: Buffer, parent: Tlv, max = 64): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.contentStart;
  while (p < parent.end) {
    if (out.length >= max) throw new DerError('too many elements');
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

export function content(buf: Buffer, t: Tlv): Buffer {
  return buf.subarray(t.contentStart, t.end);
}

export function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map((s) => {
    if (!/^\d+$/.test(s)) throw new DerError(`bad OID ${oid}`);
    return Number(s);
  });
  if (arcs.length < 2) throw new DerError(`bad OID ${oid}`);
  const out = [arcs[0] * 40 + arcs[1]];
  for (const a of arcs.slice(2)) {
    const b: number[] = [a & 0x7f];
    let v = Math.floor(a / 128);
    while (v > 0) {
      b.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...b);
  }
  return tlv(Tag.OID, Buffer.from(out));
}

export function decodeOid(c: Buffer): string {
  if (c.length === 0) throw new DerError('empty OID');
  const arcs: number[] = [];
  let v = 0;
  let inArc = false;
  for (let i = 0; i < c.length; i++) {
    const b = c[i];
    if (v > 0x1fffffffff) throw new DerError('OID arc too large');
    v = v * 128 + (b & 0x7f);
    inArc = (b & 0x80) !== 0;
    if (!inArc) {
      if (arcs.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        arcs.push(first, v - first * 40);
      } else {
        arcs.push(v);
      }
      v = 0;
    }
  }
  if (inArc) throw new DerError('OID ends inside an arc');
  return arcs.join('.');
}
