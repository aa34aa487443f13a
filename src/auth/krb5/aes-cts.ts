/**
 * AES in CBC mode with ciphertext stealing (RFC 3962 §5, the CBC-CS3 variant): the last two
 * blocks are swapped and the final one truncated, so ciphertext length equals plaintext
 * length; exactly one block is plain CBC (ECB with the IV). Node gives AES-ECB/CBC; the
 * stealing is done here.
 *
 * `AesCts` is bound to one key and keeps its OpenSSL cipher objects for the key's life: a
 * security context seals every message with one derived key, and creating a cipher object
 * (createCipheriv, ~3.7 µs here) cost more than encrypting a 200-byte response with it
 * (~0.8 µs). Node cannot reset a cipher's IV, so each message continues the CBC chain of the
 * previous one; XOR-ing the first block with the chain's last ciphertext block (on the way in
 * when encrypting, on the way out when decrypting) makes that the same as starting from IV 0.
 */
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { Scratch, keep, keepFilled } from '../one-shot-hmac';
import { KrbCryptoError } from './rfc3961';

const BLOCK = 16;

function cipherName(key: Buffer, mode: 'cbc' | 'ecb'): string {
  if (key.length !== 16 && key.length !== 32) throw new KrbCryptoError(`AES key of ${key.length} bytes`);
  return `aes-${key.length * 8}-${mode}`;
}

/** An AES block encryptor bound to `key`: ECB has no chaining, so one cipher object serves every block. */
export function aesBlockEncryptor(key: Buffer): (block: Buffer) => Buffer {
  const c = createCipheriv(cipherName(key, 'ecb'), key, null);
  c.setAutoPadding(false);
  return (block) => c.update(block);
}

/** Block-aligned input for the cipher objects; one per process (everything here is synchronous). */
const scratch = new Scratch();

function xorBlock(b: Buffer, at: number, x: Buffer): void {
  for (let i = 0; i < BLOCK; i++) b[at + i] ^= x[i];
}

/** AES-CTS with IV 0 under one key; the cipher objects are made on first use of each direction. */
export class AesCts {
  private enc: Cipher | undefined;
  private dec: Decipher | undefined;
  private ecbDec: Decipher | undefined;
  /** The last ciphertext block each CBC object has seen (its IV for the next message); zero at first. */
  private encChain: Buffer | undefined;
  private decChain: Buffer | undefined;

  private readonly key: Buffer;

  constructor(key: Buffer) {
    cipherName(key, 'cbc');
    // Kept for the life of a security context, beside its other state (../one-shot-hmac.ts keep).
    this.key = keep(key);
  }

  private encryptor(): Cipher {
    if (!this.enc) {
      this.enc = createCipheriv(cipherName(this.key, 'cbc'), this.key, Buffer.alloc(BLOCK));
      this.enc.setAutoPadding(false);
      this.encChain = keepFilled(BLOCK);
    }
    return this.enc;
  }

  /**
   * Plain CBC with IV 0 over all of `blocks` (a whole number of blocks), without the CTS swap:
   * for block-aligned input the CTS ciphertext is this with its last two blocks exchanged, which
   * a caller that copies the ciphertext out anyway can do while copying (a DCE Wrap token's
   * plaintext is always aligned). Changes the first block of `blocks` (the chain's XOR).
   */
  cbcAligned(blocks: Buffer): Buffer {
    const n = blocks.length;
    if (n === 0 || n % BLOCK !== 0) throw new KrbCryptoError(`CBC input of ${n} bytes is not whole blocks`);
    const enc = this.encryptor();
    const chain = this.encChain!;
    xorBlock(blocks, 0, chain);
    const c = enc.update(blocks);
    for (let i = 0; i < BLOCK; i++) chain[i] = c[n - BLOCK + i];
    return c;
  }

  /**
   * The inverse of cbcAligned: plain CBC decryption with IV 0 of `blocks` (whole blocks, in
   * CBC order: a caller that copies an aligned CTS ciphertext in anyway swaps its last two
   * blocks back while copying).
   */
  cbcAlignedDecrypt(blocks: Buffer): Buffer {
    const n = blocks.length;
    if (n === 0 || n % BLOCK !== 0) throw new KrbCryptoError(`CBC input of ${n} bytes is not whole blocks`);
    const dec = this.decryptor();
    const chain = this.decChain!;
    const p = dec.update(blocks);
    for (let i = 0; i < BLOCK; i++) {
      p[i] ^= chain[i];
      chain[i] = blocks[n - BLOCK + i];
    }
    return p;
  }

  private decryptor(): Decipher {
    if (!this.dec) {
      this.dec = createDecipheriv(cipherName(this.key, 'cbc'), this.key, Buffer.alloc(BLOCK));
      this.dec.setAutoPadding(false);
      this.decChain = keepFilled(BLOCK);
    }
    return this.dec;
  }

  /** CTS ciphertext of plain[0, n). */
  encrypt(plain: Buffer, n = plain.length): Buffer {
    if (n < BLOCK) throw new KrbCryptoError(`CTS needs at least one block, got ${n} bytes`);
    this.encryptor();
    const blocks = Math.ceil(n / BLOCK);
    const padded = blocks * BLOCK;
    const buf = scratch.of(padded);
    plain.copy(buf, 0, 0, n);
    buf.fill(0, n, padded);
    xorBlock(buf, 0, this.encChain!);
    const c = this.enc!.update(buf.subarray(0, padded));
    c.copy(this.encChain!, 0, padded - BLOCK);
    if (blocks === 1) return c;
    // Swap the last two blocks; the (new) last one keeps only as many bytes as the plaintext's last block.
    const a = (blocks - 2) * BLOCK;
    const prev = Buffer.from(c.subarray(a, a + BLOCK));
    c.copy(c, a, a + BLOCK, padded);
    prev.copy(c, a + BLOCK, 0, n - a - BLOCK);
    return n === padded ? c : c.subarray(0, n);
  }

  /** Plaintext of the CTS ciphertext ct[0, n). */
  decrypt(ct: Buffer, n = ct.length): Buffer {
    if (n < BLOCK) throw new KrbCryptoError(`CTS ciphertext of ${n} bytes is shorter than a block`);
    const dec = this.decryptor();
    const blocks = Math.ceil(n / BLOCK);
    const padded = blocks * BLOCK;
    const buf = scratch.of(padded);
    if (blocks === 1) ct.copy(buf, 0, 0, n);
    else {
      const a = (blocks - 2) * BLOCK;
      const lastLen = n - a - BLOCK;
      ct.copy(buf, 0, 0, a);
      ct.copy(buf, a + BLOCK, a, a + BLOCK); // CBC's final block, moved forward by the sender
      ct.copy(buf, a, a + BLOCK, n); // the first lastLen bytes of CBC's second-to-last block
      if (lastLen < BLOCK) {
        // Decrypting the final block gives (P_last ‖ zeros) XOR C_{n-1}: its tail is the stolen tail of C_{n-1}.
        if (!this.ecbDec) {
          this.ecbDec = createDecipheriv(cipherName(this.key, 'ecb'), this.key, null);
          this.ecbDec.setAutoPadding(false);
        }
        this.ecbDec.update(buf.subarray(a + BLOCK, padded)).copy(buf, a + lastLen, lastLen);
      }
    }
    const p = dec.update(buf.subarray(0, padded));
    xorBlock(p, 0, this.decChain!);
    buf.copy(this.decChain!, 0, padded - BLOCK, padded);
    return n === padded ? p : p.subarray(0, n);
  }
}

export function ctsEncrypt(key: Buffer, plain: Buffer): Buffer {
  return new AesCts(key).encrypt(plain);
}

export function ctsDecrypt(key: Buffer, ct: Buffer): Buffer {
  return new AesCts(key).decrypt(ct);
}
