/**
 * NDR 2.0 encoder (C706 chapter 14). Every primitive is aligned to its own size relative
 * to the start of the stub; the byte order is chosen per stub (the caller's drep).
 * Referent ids of non-NULL embedded/unique pointers are numbered 0x00020000, 0x00020004, ...
 * in marshalling order, as Windows and Samba do, so responses reproduce their bytes; [ptr]
 * (full) pointers get 1, 2, 3, ...
 */
import { NdrCoder } from './coder';
import { NdrError } from './errors';
import { writeGuid } from './guid';
import type { ContextHandle } from './types';

/** The first referent id of a unique or embedded pointer; each next one is 4 more. */
export const FIRST_REFERENT = 0x00020000;

export class NdrWriter extends NdrCoder {
  private buf: Buffer;
  private pos = 0;
  protected referents = 0;

  constructor(readonly littleEndian = true, initialSize = 256) {
    super();
    // Zero-filled, and never rewound: alignment padding and zero runs need no writes.
    // allocUnsafe + fill takes small buffers from Node's shared pool: Buffer.alloc made a new
    // ArrayBuffer per encode (~3× slower here, and garbage the fan-out's GC had to sweep).
    this.buf = Buffer.allocUnsafe(initialSize).fill(0);
  }

  get offset(): number {
    return this.pos;
  }

  /** The encoded stub (a copy-free view of the internal buffer). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  fail(reason: string): never {
    throw new NdrError(reason, this.pos);
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 4;
    while (size < need) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Zero-pad to a multiple of n (n a power of two). */
  align(n: number): void {
    const pad = (n - (this.pos & (n - 1))) & (n - 1);
    if (pad === 0) return;
    this.ensure(pad);
    this.pos += pad;
  }

  private int(v: unknown, min: number, max: number, what: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(`${what} value out of range: ${String(v)}`);
    }
    return v;
  }

  u8(v: number): void {
    this.int(v, 0, 0xff, 'uint8');
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  i8(v: number): void {
    this.int(v, -0x80, 0x7f, 'int8');
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
  }

  bool(v: boolean): void {
    if (typeof v !== 'boolean') this.fail(`boolean expected, got ${typeof v}`);
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  u16(v: number): void {
    this.int(v, 0, 0xffff, 'uint16');
    this.align(2);
    this.ensure(2);
    if (this.littleEndian) this.buf.writeUInt16LE(v, this.pos); else this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  i16(v: number): void {
    this.int(v, -0x8000, 0x7fff, 'int16');
    this.align(2);
    this.ensure(2);
    if (this.littleEndian) this.buf.writeInt16LE(v, this.pos); else this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.int(v, 0, 0xffffffff, 'uint32');
    this.align(4);
    this.ensure(4);
    if (this.littleEndian) this.buf.writeUInt32LE(v, this.pos); else this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  i32(v: number): void {
    this.int(v, -0x80000000, 0x7fffffff, 'int32');
    this.align(4);
    this.ensure(4);
    if (this.littleEndian) this.buf.writeInt32LE(v, this.pos); else this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  u64(v: bigint): void {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) this.fail(`uint64 value out of range: ${String(v)}`);
    this.align(8);
    this.ensure(8);
    if (this.littleEndian) this.buf.writeBigUInt64LE(v, this.pos); else this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }

  i64(v: bigint): void {
    if (typeof v !== 'bigint' || v < -0x8000000000000000n || v > 0x7fffffffffffffffn) this.fail(`int64 value out of range: ${String(v)}`);
    this.align(8);
    this.ensure(8);
    if (this.littleEndian) this.buf.writeBigInt64LE(v, this.pos); else this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  f32(v: number): void {
    if (typeof v !== 'number') this.fail('float expected');
    this.align(4);
    this.ensure(4);
    if (this.littleEndian) this.buf.writeFloatLE(v, this.pos); else this.buf.writeFloatBE(v, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    if (typeof v !== 'number') this.fail('double expected');
    this.align(8);
    this.ensure(8);
    if (this.littleEndian) this.buf.writeDoubleLE(v, this.pos); else this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** Raw bytes, no alignment (byte arrays, override payloads). */
  bytes(b: Buffer): void {
    if (!Buffer.isBuffer(b)) this.fail('Buffer expected');
    this.ensure(b.length);
    if (b.length <= 16) {
      for (let i = 0; i < b.length; i++) this.buf[this.pos + i] = b[i];
    } else b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  /** n zero bytes, no alignment. */
  zeros(n: number): void {
    this.ensure(n);
    this.pos += n;
  }

  /**
   * Reserve n bytes (no alignment) for a hand-written codec to fill in place; returns the
   * buffer and the offset to write at. The bytes start out zero.
   */
  reserve(n: number): { buf: Buffer; off: number } {
    this.ensure(n);
    const off = this.pos;
    this.pos += n;
    return { buf: this.buf, off };
  }

  /** A UUID/GUID (4-aligned, 16 bytes). */
  guid(text: string): void {
    this.align(4);
    this.ensure(16);
    writeGuid(this.buf, this.pos, text, this.littleEndian, this.pos);
    this.pos += 16;
  }

  /** A context handle: u32 attributes + UUID, 20 bytes. */
  contextHandle(h: ContextHandle): void {
    if (h === null || typeof h !== 'object') this.fail('context handle expected');
    this.u32(h.attributes);
    this.guid(h.uuid);
  }

  /**
   * The referent id of a unique/full/embedded-ref pointer: the next id when present, 0 for
   * NULL. Returns whether the pointee must be marshalled.
   */
  pointer(present: boolean): boolean {
    if (present) {
      this.u32(FIRST_REFERENT + 4 * this.referents++);
      return true;
    }
    this.u32(0);
    return false;
  }

  /**
   * The referent id of a [ptr] (full) pointer: 1, 2, 3, ... as MIDL's full-pointer table and
   * Samba number them (Samba shares the counter with unique pointers; so do we). Aliasing is
   * not tracked: every non-NULL full pointer gets a new id and its pointee.
   */
  fullPointer(present: boolean): boolean {
    if (present) {
      this.u32(++this.referents);
      return true;
    }
    this.u32(0);
    return false;
  }

  /** Conformance (max_count) of a conformant array or hoisted conformant struct. */
  conformance(n: number): void {
    this.u32(n);
  }

  /** Variance (offset 0, actual_count) of a varying array. */
  variance(actual: number): void {
    this.u32(0);
    this.u32(actual);
  }

  /** Check the element count of an array value against the count the IDL demands. */
  checkLength(actual: number, expected: number, what: string): void {
    if (actual !== expected) this.fail(`${what}: the array has ${actual} elements but its size/length expression gives ${expected}`);
  }

  /** UTF-16 code units of s plus a NUL, in the stub's byte order (wchar_t is an integer type). */
  wchars(s: string): void {
    const n = s.length + 1;
    this.ensure(2 * n);
    if (this.littleEndian) {
      if (s.length < 48) {
        // Short strings: a plain loop beats the encoder call.
        for (let i = 0, o = this.pos; i < s.length; i++, o += 2) {
          const c = s.charCodeAt(i);
          this.buf[o] = c & 0xff;
          this.buf[o + 1] = c >>> 8;
        }
      } else this.buf.write(s, this.pos, 'utf16le');
    } else {
      for (let i = 0; i < s.length; i++) this.buf.writeUInt16BE(s.charCodeAt(i), this.pos + 2 * i);
    }
    this.pos += 2 * n; // the NUL is already zero
  }

  /** 8-bit characters of s (each code unit must be < 256) plus a NUL. */
  chars(s: string): void {
    this.ensure(s.length + 1);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) this.fail(`character U+${c.toString(16)} does not fit an 8-bit char string`);
      this.buf[this.pos + i] = c;
    }
    this.pos += s.length + 1; // the NUL is already zero
  }

  /** A [string] wchar_t* pointee: conformant varying, max = actual = length + 1. */
  wstring(s: string): void {
    if (typeof s !== 'string') this.fail('string expected');
    this.conformance(s.length + 1);
    this.variance(s.length + 1);
    this.wchars(s);
  }

  /** A [string] char* pointee. */
  cstring(s: string): void {
    if (typeof s !== 'string') this.fail('string expected');
    this.conformance(s.length + 1);
    this.variance(s.length + 1);
    this.chars(s);
  }

  /** A [string] wchar_t x[N] (varying, no conformance); `hoisted` omits nothing: N is implicit. */
  wstringFixed(s: string, n: number): void {
    if (typeof s !== 'string') this.fail('string expected');
    if (s.length + 1 > n) this.fail(`string of ${s.length} characters does not fit [string] array of ${n}`);
    this.variance(s.length + 1);
    this.wchars(s);
  }

  cstringFixed(s: string, n: number): void {
    if (typeof s !== 'string') this.fail('string expected');
    if (s.length + 1 > n) this.fail(`string of ${s.length} characters does not fit [string] array of ${n}`);
    this.variance(s.length + 1);
    this.chars(s);
  }
}
