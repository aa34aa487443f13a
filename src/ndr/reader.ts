/**
 * NDR 2.0 decoder. Every read is bounds-checked against the stub; counts are checked
 * against the bytes left before anything is allocated, so a hostile stub ends in one
 * NdrError (offset + field path), never another exception, a large allocation or a hang.
 */
import { NdrCoder } from './coder';
import { NdrError } from './errors';
import { readGuid } from './guid';
import type { ContextHandle } from './types';

export class NdrReader extends NdrCoder {
  pos: number;
  readonly end: number;

  constructor(readonly buf: Buffer, readonly littleEndian = true, start = 0, end = buf.length) {
    super();
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string, at = this.pos): never {
    throw new NdrError(reason, at);
  }

  private need(n: number): void {
    if (this.pos + n > this.end) {
      this.fail(`truncated stub: need ${n} byte(s), ${this.end - this.pos} left`);
    }
  }

  align(n: number): void {
    const pad = (n - (this.pos & (n - 1))) & (n - 1);
    if (pad === 0) return;
    this.need(pad);
    this.pos += pad;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  i8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    this.need(1);
    return this.buf[this.pos++] !== 0;
  }

  u16(): number {
    this.align(2);
    this.need(2);
    const v = this.littleEndian ? this.buf.readUInt16LE(this.pos) : this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  i16(): number {
    this.align(2);
    this.need(2);
    const v = this.littleEndian ? this.buf.readInt16LE(this.pos) : this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.align(4);
    this.need(4);
    const v = this.littleEndian ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.align(4);
    this.need(4);
    const v = this.littleEndian ? this.buf.readInt32LE(this.pos) : this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.align(8);
    this.need(8);
    const v = this.littleEndian ? this.buf.readBigUInt64LE(this.pos) : this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint {
    this.align(8);
    this.need(8);
    const v = this.littleEndian ? this.buf.readBigInt64LE(this.pos) : this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  f32(): number {
    this.align(4);
    this.need(4);
    const v = this.littleEndian ? this.buf.readFloatLE(this.pos) : this.buf.readFloatBE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.align(8);
    this.need(8);
    const v = this.littleEndian ? this.buf.readDoubleLE(this.pos) : this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** n raw bytes, copied out of the stub (the caller may keep them after the stub is reused). */
  bytes(n: number): Buffer {
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }

  /** Skip n bytes (bounds-checked). */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  guid(): string {
    this.align(4);
    this.need(16);
    const s = readGuid(this.buf, this.pos, this.littleEndian);
    this.pos += 16;
    return s;
  }

  contextHandle(): ContextHandle {
    const attributes = this.u32();
    return { attributes, uuid: this.guid() };
  }

  /** A referent id: 0 for NULL, otherwise any non-zero value (aliasing is not supported). */
  pointer(): number {
    return this.u32();
  }

  /** A ref pointer embedded in a construct: its referent id must not be 0. */
  refPointer(): number {
    const at = this.pos;
    const id = this.u32();
    if (id === 0) this.fail('NULL referent id for a [ref] pointer', at);
    return id;
  }

  /** A conformance (max_count) as it travels; count() also bounds it by the bytes left. */
  conformance(): number {
    return this.u32();
  }

  /**
   * A max_count (or actual_count) of `minElemSize`-byte elements: it must fit in what is
   * left of the stub, which bounds every allocation by the stub size.
   */
  count(minElemSize: number): number {
    const at = this.pos;
    const n = this.conformance();
    this.checkFits(n, minElemSize, at);
    return n;
  }

  checkFits(n: number, minElemSize: number, at = this.pos): void {
    if (n * Math.max(minElemSize, 1) > this.end - this.pos) {
      this.fail(`count ${n} exceeds the ${this.end - this.pos} byte(s) left in the stub`, at);
    }
  }

  /** Variance of a varying array: offset must be 0, actual_count within maxCount. */
  variance(maxCount: number, minElemSize: number): number {
    const at = this.pos;
    const offset = this.conformance();
    if (offset !== 0) this.fail(`varying array offset ${offset} (only 0 is supported)`, at);
    const actualAt = this.pos;
    const actual = this.conformance();
    if (actual > maxCount) this.fail(`actual_count ${actual} exceeds max_count ${maxCount}`, actualAt);
    this.checkFits(actual, minElemSize, actualAt);
    return actual;
  }

  /** Check a decoded count against the value its size_is/length_is expression gives. */
  checkCount(wire: number, expected: number, what: string, at = this.pos): void {
    if (wire !== expected) this.fail(`${what} is ${wire} on the wire but the IDL expression gives ${expected}`, at);
  }

  /** n UTF-16 code units, the last of which must be NUL; returns the text before it. */
  wchars(n: number): string {
    const at = this.pos;
    if (n === 0) this.fail('[string] with actual_count 0 (no terminating NUL)', at);
    this.need(2 * n);
    const last = this.littleEndian ? this.buf.readUInt16LE(this.pos + 2 * n - 2) : this.buf.readUInt16BE(this.pos + 2 * n - 2);
    if (last !== 0) this.fail('[string] not terminated by NUL', at);
    let s: string;
    if (this.littleEndian) {
      s = this.buf.toString('utf16le', this.pos, this.pos + 2 * n - 2);
    } else {
      const parts: string[] = [];
      for (let i = 0; i < n - 1; i++) parts.push(String.fromCharCode(this.buf.readUInt16BE(this.pos + 2 * i)));
      s = parts.join('');
    }
    this.pos += 2 * n;
    return s;
  }

  /** n 8-bit characters, the last of which must be NUL. */
  chars(n: number): string {
    const at = this.pos;
    if (n === 0) this.fail('[string] with actual_count 0 (no terminating NUL)', at);
    this.need(n);
    if (this.buf[this.pos + n - 1] !== 0) this.fail('[string] not terminated by NUL', at);
    const s = this.buf.toString('latin1', this.pos, this.pos + n - 1);
    this.pos += n;
    return s;
  }

  /** A [string] wchar_t* pointee (conformant varying). */
  wstring(): string {
    // max_count is not allocated (only actual_count elements travel), so it is not bounded.
    const max = this.conformance();
    const actual = this.variance(max, 2);
    return this.wchars(actual);
  }

  cstring(): string {
    const max = this.conformance();
    const actual = this.variance(max, 1);
    return this.chars(actual);
  }

  /** A [string] wchar_t x[N] (varying only). */
  wstringFixed(n: number): string {
    return this.wchars(this.variance(n, 2));
  }

  cstringFixed(n: number): string {
    return this.chars(this.variance(n, 1));
  }
}
