/**
 * Per-message HMAC and buffer helpers for the sealing paths (RFC 4121 Wrap/MIC in krb5/cfx.ts,
 * NTLMSSP signatures in ntlm-crypto.ts), where a fan-out protects one response per client:
 *
 * - OneShotHmac: HMAC (RFC 2104: H(K⊕opad ‖ H(K⊕ipad ‖ m))) under one key as two one-shot
 *   hashes over bytes laid out in a scratch buffer. createHmac builds a keyed object per
 *   message: ~25,700 instructions for HMAC-SHA1 of a 200-byte message against ~19,800 this way
 *   (callgrind, Node 20). crypto.hash is Node ≥ 20.12; without it, createHmac.
 * - Scratch: a process-wide buffer for synchronous use that keeps its last [0, n) view:
 *   messages of one size reuse the view instead of making one each.
 * - put: a byte loop for pieces of a few blocks. In Node 20, Buffer.copy of part of a Buffer
 *   makes a Uint8Array for the source range (with a lookup of its ArrayBuffer), which cost more
 *   than the loop for 16-32 bytes.
 * - keep / keepZeroed: the small buffers a security context holds for its whole life (derived
 *   keys, HMAC pads, CBC chains) side by side in slabs that hold nothing else. Taken from Node's
 *   buffer pool, each key pinned the 8 KB pool the handshake had churned through (8.5 KB of
 *   ArrayBuffers per Kerberos context at 10,000 contexts), and a context's pieces were spread
 *   over as many allocations: sealing one response each for 10,000 contexts cost 8.5 µs a
 *   response against 4.8 µs for one context sealing 10,000 (cache misses).
 */
import * as crypto from 'node:crypto';
import { createHmac } from 'node:crypto';

export class Scratch {
  private buf: Buffer = Buffer.allocUnsafe(4096);
  private last: Buffer = this.buf.subarray(0, 0);

  /** The buffer, at least n bytes long (its contents are whatever was left in it). */
  of(n: number): Buffer {
    if (this.buf.length < n) {
      this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.last = this.buf.subarray(0, 0);
    }
    return this.buf;
  }

  /** of(n)'s first n bytes as a Buffer of their own. */
  view(n: number): Buffer {
    if (this.last.length !== n || this.buf.length < n) this.last = this.of(n).subarray(0, n);
    return this.last;
  }
}

const SLAB = 16 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB);
let slabAt = 0;

/** n bytes for long-lived state, next to the state allocated just before (see the header); contents undefined. */
function slabSlice(n: number): Buffer {
  if (n > SLAB / 4) return Buffer.allocUnsafeSlow(n);
  if (slabAt + n > SLAB) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    slabAt = 0;
  }
  const b = slab.subarray(slabAt, slabAt + n);
  // 8-byte steps keep each piece word-aligned.
  slabAt += (n + 7) & ~7;
  return b;
}

/** A long-lived copy of `src` (a key) in a state slab. */
export function keep(src: Uint8Array): Buffer {
  const b = slabSlice(src.length);
  b.set(src);
  return b;
}

/** `n` long-lived bytes filled with `fill` (0 by default), in a state slab. */
export function keepFilled(n: number, fill = 0): Buffer {
  return slabSlice(n).fill(fill);
}

/** dst[dAt, dAt + n) = src[sAt, sAt + n), by a loop (see the header). */
export function put(dst: Uint8Array, dAt: number, src: Uint8Array, sAt: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dAt + i] = src[sAt + i];
}

const oneShotHash = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'binary') => string }).hash;
/** SHA-1's and MD5's block. */
const BLOCK = 64;
/** Where a message starts in begin()'s buffer. */
export const HMAC_MESSAGE_AT = BLOCK;
const macScratch = new Scratch();

export class OneShotHmac {
  private readonly ipad: Buffer;
  private readonly outer: Buffer;
  private readonly digestLength: number;
  private readonly key: Buffer;

  constructor(private readonly alg: 'sha1' | 'md5', key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError(`HMAC key of ${key.length} bytes`);
    this.digestLength = alg === 'sha1' ? 20 : 16;
    this.key = keep(key);
    this.ipad = keepFilled(BLOCK, 0x36);
    this.outer = keepFilled(BLOCK + this.digestLength, 0x5c);
    for (let i = 0; i < key.length; i++) {
      this.ipad[i] ^= key[i];
      this.outer[i] ^= key[i];
    }
  }

  /**
   * The buffer to lay a message out in: K⊕ipad in its first 64 bytes, room for `n` message
   * bytes from HMAC_MESSAGE_AT on. Callers copy the pieces in with offsets, then end(n, …).
   */
  begin(n: number): Buffer {
    const m = macScratch.of(HMAC_MESSAGE_AT + n);
    m.set(this.ipad);
    return m;
  }

  /**
   * Write the first `len` bytes of the HMAC of the `n` message bytes laid out after begin() to
   * out[at]. The digests travel as 'binary' (latin1) strings: a Buffer made in C++ per digest
   * cost twice as much (its backing store is tracked and swept by the GC), a short string is cheap.
   */
  end(n: number, out: Buffer, at: number, len: number): void {
    if (!oneShotHash) {
      createHmac(this.alg, this.key).update(macScratch.view(HMAC_MESSAGE_AT + n).subarray(HMAC_MESSAGE_AT)).digest().copy(out, at, 0, len);
      return;
    }
    // The digests' characters are their bytes; charCodeAt in a loop cost less than Buffer.write's call.
    const inner = oneShotHash(this.alg, macScratch.view(HMAC_MESSAGE_AT + n), 'binary');
    const outer = this.outer;
    for (let i = 0; i < this.digestLength; i++) outer[BLOCK + i] = inner.charCodeAt(i);
    const mac = oneShotHash(this.alg, outer, 'binary');
    for (let i = 0; i < len; i++) out[at + i] = mac.charCodeAt(i);
  }
}
