/**
 * aes128-cts-hmac-sha256-128 and aes256-cts-hmac-sha384-192 (RFC 8009): keys derived with
 * KDF-HMAC-SHA2 (SP 800-108 counter mode, §3), encrypt-then-MAC over IV ‖ ciphertext (§5),
 * PBKDF2 string-to-key with the enctype name in the salt (§4). Tickets and AP messages only:
 * the acceptor subkey, and so the per-message tokens, stay aes-sha1 (cfx.ts).
 */
import { createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { AesCts } from './aes-cts';
import { DeriveKind, KrbCryptoError, derivedFor, equalBytes, usageConstant, type Enctype } from './rfc3961';

const BLOCK = 16;
const ZERO_IV = Buffer.alloc(BLOCK);

/** KDF-HMAC-SHA2(key, label, k) = the first k bits of HMAC(key, 00000001 ‖ label ‖ 00 ‖ k). */
export function kdfHmacSha2(hash: 'sha256' | 'sha384', key: Buffer, label: Uint8Array, bits: number): Buffer {
  const k = Buffer.alloc(4);
  k.writeUInt32BE(bits);
  return createHmac(hash, key).update(Buffer.from([0, 0, 0, 1])).update(label).update(Buffer.from([0])).update(k).digest().subarray(0, bits / 8);
}

export function aesSha2Profile(id: number, name: string, hash: 'sha256' | 'sha384', checksumType: number): Enctype {
  const keyLength = hash === 'sha256' ? 16 : 32;
  const macLength = hash === 'sha256' ? 16 : 24;
  const derive = (key: Buffer, usage: number, kind: number, bytes: number) => {
    if (key.length !== keyLength) throw new KrbCryptoError(`${name} key of ${key.length} bytes`);
    return kdfHmacSha2(hash, key, usageConstant(usage, kind), bytes * 8);
  };
  // Once per key and usage (enctypes.ts derivedFor): Ke as a key-bound cipher, Ki, Kc.
  const ke = (key: Buffer, usage: number) => derivedFor(key, id, 0, usage, () => new AesCts(derive(key, usage, DeriveKind.encryption, keyLength)));
  const ki = (key: Buffer, usage: number) => derivedFor(key, id, 1, usage, () => derive(key, usage, DeriveKind.integrity, macLength));
  const kc = (key: Buffer, usage: number) => derivedFor(key, id, 2, usage, () => derive(key, usage, DeriveKind.checksum, macLength));
  const mac = (ki: Buffer, c: Buffer) => createHmac(hash, ki).update(ZERO_IV).update(c).digest().subarray(0, macLength);
  return {
    id, name, keyLength, checksumType, checksumLength: macLength, confounderLength: BLOCK,
    encrypt(key, usage, plain, confounder = randomBytes(BLOCK)) {
      const c = ke(key, usage).encrypt(Buffer.concat([confounder, plain]));
      return Buffer.concat([c, mac(ki(key, usage), c)]);
    },
    decrypt(key, usage, cipher) {
      if (cipher.length < BLOCK + macLength) throw new KrbCryptoError(`${name} ciphertext of ${cipher.length} bytes is too short`);
      const c = cipher.subarray(0, cipher.length - macLength);
      if (!equalBytes(mac(ki(key, usage), c), cipher.subarray(c.length))) {
        throw new KrbCryptoError(`${name} integrity check failed (wrong key or tampered data)`);
      }
      return ke(key, usage).decrypt(c).subarray(BLOCK);
    },
    checksum(key, usage, data) {
      return createHmac(hash, kc(key, usage)).update(data).digest().subarray(0, macLength);
    },
    stringToKey(password, salt, params) {
      const iterations = params && params.length === 4 ? params.readUInt32BE(0) : 32768;
      if (iterations < 1 || iterations > 10_000_000) throw new KrbCryptoError(`string-to-key iteration count ${iterations}`);
      const saltp = Buffer.concat([Buffer.from(name), Buffer.from([0]), typeof salt === 'string' ? Buffer.from(salt, 'utf8') : salt]);
      const tkey = pbkdf2Sync(Buffer.from(password, 'utf8'), saltp, iterations, keyLength, hash);
      return kdfHmacSha2(hash, tkey, Buffer.from('kerberos'), keyLength * 8);
    },
    randomKey: () => randomBytes(keyLength),
  };
}
