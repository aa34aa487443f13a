/**
 * AES in CBC mode with ciphertext stealing (RFC 3962 §5, the CBC-CS3 variant): the last two
 * blocks are swapped and the final one truncated, so ciphertext length equals plaintext
 * length; exactly one block is plain CBC (ECB with the IV). Node gives AES-ECB/CBC; the
 * stealing is done here.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { KrbCryptoError } from './rfc3961';

const BLOCK = 16;
const ZERO_IV = Buffer.alloc(BLOCK);

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

function aesDecryptBlock(key: Buffer, block: Buffer): Buffer {
  const d = createDecipheriv(cipherName(key, 'ecb'), key, null);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(block), d.final()]);
}

function cbc(key: Buffer, data: Buffer, iv: Buffer, encrypt: boolean): Buffer {
  const c = encrypt ? createCipheriv(cipherName(key, 'cbc'), key, iv) : createDecipheriv(cipherName(key, 'cbc'), key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

export function ctsEncrypt(key: Buffer, plain: Buffer, iv: Buffer = ZERO_IV): Buffer {
  const n = plain.length;
  if (n < BLOCK) throw new KrbCryptoError(`CTS needs at least one block, got ${n} bytes`);
  if (n === BLOCK) return cbc(key, plain, iv, true);
  const blocks = Math.ceil(n / BLOCK);
  const padded = Buffer.alloc(blocks * BLOCK);
  plain.copy(padded);
  const c = cbc(key, padded, iv, true);
  const lastLen = n - (blocks - 1) * BLOCK;
  return Buffer.concat([
    c.subarray(0, (blocks - 2) * BLOCK),
    c.subarray((blocks - 1) * BLOCK),
    c.subarray((blocks - 2) * BLOCK, (blocks - 2) * BLOCK + lastLen),
  ]);
}

export function ctsDecrypt(key: Buffer, ct: Buffer, iv: Buffer = ZERO_IV): Buffer {
  const n = ct.length;
  if (n < BLOCK) throw new KrbCryptoError(`CTS ciphertext of ${n} bytes is shorter than a block`);
  if (n === BLOCK) return cbc(key, ct, iv, false);
  const blocks = Math.ceil(n / BLOCK);
  const lastLen = n - (blocks - 1) * BLOCK;
  const head = ct.subarray(0, (blocks - 2) * BLOCK);
  const cLast = ct.subarray((blocks - 2) * BLOCK, (blocks - 1) * BLOCK); // CBC's final block, moved forward
  const partial = ct.subarray((blocks - 1) * BLOCK); // the first lastLen bytes of CBC's second-to-last block
  // Decrypting cLast gives (P_last ‖ zeros) XOR C_{n-1}: its tail is the stolen tail of C_{n-1}.
  const d = aesDecryptBlock(key, cLast);
  const cPrev = Buffer.concat([partial, d.subarray(lastLen)]);
  const plain = cbc(key, Buffer.concat([head, cPrev, cLast]), iv, false);
  return plain.subarray(0, n);
}
