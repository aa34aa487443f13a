/**
 * Byte-order aware reading and writing of PDU fields. The drep byte of each PDU decides the
 * integer byte order; UUIDs follow NDR (time fields in that order, the last 8 bytes raw).
 */
import type { SyntaxId } from '../ndr/dispatch';

/** A PDU that cannot be parsed: the connection answers with a protocol error. */
export class PduError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PduError';
  }
}

const HEX = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Text UUID → 16 bytes in NDR order for the given byte order. */
export function uuidToWire(uuid: string, le: boolean, out: Buffer = Buffer.alloc(16), off = 0): Buffer {
  const u = uuid.toLowerCase();
  if (!HEX.test(u)) throw new Error(`not a UUID: ${uuid}`);
  const hex = u.replace(/-/g, '');
  const timeLow = parseInt(hex.slice(0, 8), 16);
  const timeMid = parseInt(hex.slice(8, 12), 16);
  const timeHi = parseInt(hex.slice(12, 16), 16);
  if (le) {
    out.writeUInt32LE(timeLow, off);
    out.writeUInt16LE(timeMid, off + 4);
    out.writeUInt16LE(timeHi, off + 6);
  } else {
    out.writeUInt32BE(timeLow, off);
    out.writeUInt16BE(timeMid, off + 4);
    out.writeUInt16BE(timeHi, off + 6);
  }
  Buffer.from(hex.slice(16), 'hex').copy(out, off + 8);
  return out;
}

/** 16 wire bytes → lower-case text UUID. */
export function uuidFromWire(buf: Buffer, off: number, le: boolean): string {
  const timeLow = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
  const timeMid = le ? buf.readUInt16LE(off + 4) : buf.readUInt16BE(off + 4);
  const timeHi = le ? buf.readUInt16LE(off + 6) : buf.readUInt16BE(off + 6);
  const rest = buf.toString('hex', off + 8, off + 16);
  return (
    timeLow.toString(16).padStart(8, '0') + '-' +
    timeMid.toString(16).padStart(4, '0') + '-' +
    timeHi.toString(16).padStart(4, '0') + '-' +
    rest.slice(0, 4) + '-' + rest.slice(4)
  );
}

export function syntaxEquals(a: SyntaxId, b: SyntaxId): boolean {
  return a.uuid === b.uuid && a.major === b.major && a.minor === b.minor;
}

export function syntaxToString(s: SyntaxId): string {
  return `${s.uuid}/${s.major}.${s.minor}`;
}

/** Bounds-checked sequential reader over [start, end) of a PDU buffer. */
export class WireReader {
  off: number;
  constructor(readonly buf: Buffer, start: number, readonly end: number, readonly le: boolean) {
    this.off = start;
  }
  private need(n: number): void {
    if (this.off + n > this.end) throw new PduError(`PDU truncated at offset ${this.off} (need ${n})`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.off++];
  }
  u16(): number {
    this.need(2);
    const v = this.le ? this.buf.readUInt16LE(this.off) : this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.le ? this.buf.readUInt32LE(this.off) : this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  uuid(): string {
    this.need(16);
    const v = uuidFromWire(this.buf, this.off, this.le);
    this.off += 16;
    return v;
  }
  /** p_syntax_id_t: uuid + u32 version (major in the low 16 bits, minor in the high). */
  syntax(): SyntaxId {
    const uuid = this.uuid();
    const version = this.u32();
    return { uuid, major: version & 0xffff, minor: version >>> 16 };
  }
  /** Raw bytes of the syntax (for echoing features back). */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.off += n;
  }
  /** Align relative to the start of the PDU (offset 0 of buf). */
  align(n: number): void {
    const pad = (n - (this.off % n)) % n;
    this.skip(pad);
  }
}

/** Sequential writer into a preallocated buffer. */
export class WireWriter {
  off = 0;
  constructor(readonly buf: Buffer, readonly le: boolean) {}
  u8(v: number): this {
    this.buf[this.off++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    if (this.le) this.buf.writeUInt16LE(v & 0xffff, this.off);
    else this.buf.writeUInt16BE(v & 0xffff, this.off);
    this.off += 2;
    return this;
  }
  u32(v: number): this {
    if (this.le) this.buf.writeUInt32LE(v >>> 0, this.off);
    else this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
    return this;
  }
  uuid(u: string): this {
    uuidToWire(u, this.le, this.buf, this.off);
    this.off += 16;
    return this;
  }
  syntax(s: SyntaxId): this {
    return this.uuid(s.uuid).u32(((s.minor & 0xffff) << 16 | (s.major & 0xffff)) >>> 0);
  }
  bytes(b: Buffer): this {
    b.copy(this.buf, this.off);
    this.off += b.length;
    return this;
  }
  zeros(n: number): this {
    this.buf.fill(0, this.off, this.off + n);
    this.off += n;
    return this;
  }
  alignZero(n: number): this {
    return this.zeros((n - (this.off % n)) % n);
  }
}
