/**
 * NDR64 (transfer syntax 71710533-beba-4937-8319-b5dbef9ccc36 v1, MS-RPCE 2.2.5) as far as
 * the runtime is concerned: referent ids, conformances, offsets and actual counts are 8 bytes,
 * 8-aligned (MS-RPCE 2.2.5.3.1, 2.2.5.3.3). Everything else a codec writes (primitives, GUIDs,
 * context handles, strings' characters) is coded as in NDR 2.0; the alignments and sizes of
 * constructed types differ too, and those the generator's NDR64 back end bakes into the
 * generated code. Hand-written overrides get one of these writers or readers and, by
 * calling pointer()/conformance()/variance(), work for both syntaxes unchanged.
 */
import { NdrReader } from './reader';
import { FIRST_REFERENT, NdrWriter } from './writer';

const TWO_32 = 0x100000000;

export class NdrWriter64 extends NdrWriter {
  /** A 64-bit count or referent id from a JS number (≤ 2^53). */
  private u3264(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > Number.MAX_SAFE_INTEGER) this.fail(`uint3264 value out of range: ${String(n)}`);
    this.u64(BigInt(n));
  }

  override pointer(present: boolean): boolean {
    // The same numbering as NDR 2.0 (Samba's NDR64 does so too), widened to 8 bytes.
    this.u3264(present ? FIRST_REFERENT + 4 * this.referents++ : 0);
    return present;
  }

  override fullPointer(present: boolean): boolean {
    this.u3264(present ? ++this.referents : 0);
    return present;
  }

  override conformance(n: number): void {
    this.u3264(n);
  }

  override variance(actual: number): void {
    this.u3264(0);
    this.u3264(actual);
  }
}

export class NdrReader64 extends NdrReader {
  /** A 64-bit count: above 2^32 it cannot describe anything in a stub, so it is refused. */
  override conformance(): number {
    this.align(8);
    const at = this.pos;
    const lo = this.u32();
    const hi = this.u32();
    const [low, high] = this.littleEndian ? [lo, hi] : [hi, lo];
    if (high !== 0) this.fail(`64-bit count 0x${high.toString(16)}${low.toString(16).padStart(8, '0')} is out of range`, at);
    return low;
  }

  /** A referent id: 0 for NULL, otherwise any non-zero 64-bit value (returned as non-zero). */
  override pointer(): number {
    this.align(8);
    const lo = this.u32();
    const hi = this.u32();
    return lo !== 0 ? lo : hi !== 0 ? TWO_32 : 0;
  }

  override refPointer(): number {
    const at = this.pos + ((8 - (this.pos & 7)) & 7);
    const id = this.pointer();
    if (id === 0) this.fail('NULL referent id for a [ref] pointer', at);
    return id;
  }
}
