/**
 * The DER types Kerberos messages are made of (RFC 4120 §5.2), on top of src/auth/der.ts:
 * INTEGER (Int32/UInt32), KerberosString, KerberosTime, BIT STRING flags, and a SEQUENCE's
 * context-tagged fields. Every decoder is bounds-checked by der.ts; bad input is a DerError.
 */
import { DerError, Tag, children, content, expectTlv, readTlv, tlv, type Tlv } from '../der';

export const KTag = {
  GeneralString: 0x1b,
  GeneralizedTime: 0x18,
  application: (n: number) => 0x60 | n,
} as const;

/** A SEQUENCE's fields by context tag number; tags must ascend (DER) and not repeat. */
export class Fields {
  private readonly byTag = new Map<number, Tlv>();

  constructor(readonly buf: Buffer, seq: Tlv, readonly what: string) {
    let last = -1;
    for (const f of children(buf, seq, 16)) {
      if ((f.tag & 0xe0) !== 0xa0) throw new DerError(`${what}: field with tag 0x${f.tag.toString(16)}`);
      const n = f.tag & 0x1f;
      if (n <= last) throw new DerError(`${what}: fields out of order`);
      last = n;
      // The explicit tag wraps exactly one element.
      const inner = readTlv(buf, f.contentStart, f.end);
      if (inner.end !== f.end) throw new DerError(`${what}: trailing bytes in field [${n}]`);
      this.byTag.set(n, inner);
    }
  }

  has(n: number): boolean {
    return this.byTag.has(n);
  }

  optional(n: number): Tlv | undefined {
    return this.byTag.get(n);
  }

  required(n: number): Tlv {
    const t = this.byTag.get(n);
    if (!t) throw new DerError(`${this.what}: field [${n}] missing`);
    return t;
  }
}

/** Open `[APPLICATION app] SEQUENCE {…}` (or a bare SEQUENCE when app is undefined) spanning exactly `buf[pos, limit)`. */
export function openSequence(buf: Buffer, pos: number, limit: number, app: number | undefined, what: string): Fields {
  let t = readTlv(buf, pos, limit);
  if (app !== undefined) {
    if (t.tag !== KTag.application(app)) throw new DerError(`${what}: expected [APPLICATION ${app}], found tag 0x${t.tag.toString(16)}`);
    const inner = expectTlv(buf, t.contentStart, Tag.SEQUENCE, t.end);
    if (inner.end !== t.end) throw new DerError(`${what}: trailing bytes`);
    t = inner;
  } else if (t.tag !== Tag.SEQUENCE) {
    throw new DerError(`${what}: expected SEQUENCE, found tag 0x${t.tag.toString(16)}`);
  }
  return new Fields(buf, t, what);
}

export function decodeInteger(buf: Buffer, t: Tlv, what: string): number {
  if (t.tag !== Tag.INTEGER) throw new DerError(`${what}: expected INTEGER`);
  const c = content(buf, t);
  if (c.length === 0 || c.length > 5) throw new DerError(`${what}: INTEGER of ${c.length} bytes`);
  let v = 0;
  for (const b of c) v = v * 256 + b;
  if (c[0] & 0x80) v -= 2 ** (8 * c.length); // two's complement
  if (v < -0x80000000 || v > 0xffffffff) throw new DerError(`${what}: INTEGER out of range`);
  return v;
}

/** UInt32 fields (kvno, seq-number): some encoders write large values as negative Int32; take them modulo 2^32. */
export function decodeUInt32(buf: Buffer, t: Tlv, what: string): number {
  return decodeInteger(buf, t, what) >>> 0;
}

export function decodeOctets(buf: Buffer, t: Tlv, what: string): Buffer {
  if (t.tag !== Tag.OCTET_STRING) throw new DerError(`${what}: expected OCTET STRING`);
  return Buffer.from(content(buf, t));
}

export function decodeKerberosString(buf: Buffer, t: Tlv, what: string): string {
  if (t.tag !== KTag.GeneralString) throw new DerError(`${what}: expected GeneralString`);
  if (t.end - t.contentStart > 1024) throw new DerError(`${what}: string too long`);
  return content(buf, t).toString('utf8');
}

/** KerberosTime: GeneralizedTime "YYYYMMDDHHMMSSZ" (RFC 4120 §5.2.3), as milliseconds since the epoch. */
export function decodeTime(buf: Buffer, t: Tlv, what: string): number {
  if (t.tag !== KTag.GeneralizedTime) throw new DerError(`${what}: expected GeneralizedTime`);
  const s = content(buf, t).toString('latin1');
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s);
  if (!m) throw new DerError(`${what}: bad KerberosTime ${JSON.stringify(s.slice(0, 20))}`);
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (Number.isNaN(ms)) throw new DerError(`${what}: bad KerberosTime`);
  return ms;
}

/** The first 32 bits of a BIT STRING (KerberosFlags), bit 0 = most significant. */
export function decodeFlags(buf: Buffer, t: Tlv, what: string): number {
  if (t.tag !== Tag.BIT_STRING) throw new DerError(`${what}: expected BIT STRING`);
  const c = content(buf, t);
  if (c.length < 1 || c[0] > 7) throw new DerError(`${what}: bad BIT STRING`);
  let v = 0;
  for (let i = 0; i < 4; i++) v = v * 256 + (c[1 + i] ?? 0);
  return v >>> 0;
}

// ------------------------------------------------------------------------ encoders

export function encodeInteger(n: number): Buffer {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) throw new RangeError(`INTEGER ${n}`);
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(((v % 256) + 256) % 256);
    v = Math.floor(v / 256);
  } while (v !== 0 && v !== -1);
  // Add a sign byte when the top bit disagrees with the sign.
  if (n >= 0 && bytes[0] & 0x80) bytes.unshift(0);
  if (n < 0 && !(bytes[0] & 0x80)) bytes.unshift(0xff);
  return tlv(Tag.INTEGER, Buffer.from(bytes));
}

export function encodeKerberosString(s: string): Buffer {
  return tlv(KTag.GeneralString, Buffer.from(s, 'utf8'));
}

export function encodeTime(ms: number): Buffer {
  const s = new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return tlv(KTag.GeneralizedTime, Buffer.from(s, 'latin1'));
}

export function encodeFlags(v: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(v >>> 0, 1);
  return tlv(Tag.BIT_STRING, b);
}

export function encodeOctets(b: Buffer): Buffer {
  return tlv(Tag.OCTET_STRING, b);
}

/** SEQUENCE of context-tagged fields; undefined entries are left out (OPTIONAL). */
export function encodeSequence(fields: (Buffer | undefined)[], app?: number): Buffer {
  const parts: Buffer[] = [];
  fields.forEach((f, i) => {
    if (f !== undefined) parts.push(tlv(Tag.context(i), f));
  });
  const seq = tlv(Tag.SEQUENCE, ...parts);
  return app === undefined ? seq : tlv(KTag.application(app), seq);
}
