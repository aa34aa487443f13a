/**
 * Byte-order aware reading and writing of PDU fields. The drep byte of each PDU decides the
 * integer byte order; UUIDs follow NDR (time fields in that order, the last 8 bytes raw).
 */
import type { SyntaxId } from '../ndr/dispatch';
import { readGuid, writeGuid } from '../ndr/guid';

/** A PDU that cannot be parsed: the connection answers with a protocol error. */
export class PduError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PduError';
  }
}

/** Text UUID → 16 bytes in NDR order for the given byte order (the NDR runtime's table codec). */
export function uuidToWire(uuid: string, le: boolean, out: Buffer = Buffer.alloc(16), off = 0): Buffer {
  writeGuid(out, off, uuid, le, off);
  return out;
}

/** 16 wire bytes → lower-case text UUID. */
export function uuidFromWire(buf: Buffer, off: number, le: boolean): string {
  return readGuid(buf, off, le);
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
