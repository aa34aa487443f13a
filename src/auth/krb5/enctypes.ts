/**
 * The enctypes the acceptor supports, behind one shape: aes128/aes256-cts-hmac-sha1-96
 * (RFC 3962 on RFC 3961's simplified profile), aes128-cts-hmac-sha256-128 and
 * aes256-cts-hmac-sha384-192 (RFC 8009, aes-sha2.ts) and rc4-hmac (RFC 4757).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { md4 } from '../md4';
import { Rc4 } from '../rc4';
import { AesCts, aesBlockEncryptor } from './aes-cts';
import { aesSha2Profile } from './aes-sha2';
import { DeriveKind, KrbCryptoError, derivedFor, deriveRandom, equalBytes, usageConstant, type Enctype } from './rfc3961';

/** Encryption type numbers (RFC 3961 §8, RFC 3962, RFC 4757). */
export const EncType = {
  AES128_CTS_HMAC_SHA1_96: 17,
  AES256_CTS_HMAC_SHA1_96: 18,
  AES128_CTS_HMAC_SHA256_128: 19,
  AES256_CTS_HMAC_SHA384_192: 20,
  RC4_HMAC: 23,
} as const;

/** Checksum type numbers (RFC 3961 §8, RFC 3962, RFC 4757). */
export const ChecksumType = {
  HMAC_SHA1_96_AES128: 15,
  HMAC_SHA1_96_AES256: 16,
  HMAC_SHA256_128_AES128: 19,
  HMAC_SHA384_192_AES256: 20,
  HMAC_MD5: -138,
  GSSAPI: 0x8003,
} as const;

export type { Enctype } from './rfc3961';
export { equalBytes } from './rfc3961';

const AES_BLOCK = 16;
const AES_MAC = 12;

/** DK(key, usage ‖ kind) for the AES enctypes (random-to-key is the identity). Callers that reuse a key keep the result. */
export function aesDerive(key: Buffer, usage: number, kind: number): Buffer {
  return deriveRandom(aesBlockEncryptor, key, usageConstant(usage, kind), AES_BLOCK, key.length);
}

export function hmacSha1_96(key: Buffer, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha1', key);
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, AES_MAC);
}

interface AesUsageKeys {
  readonly ke: AesCts;
  readonly ki: Buffer;
}

function aesUsageKeys(id: number, key: Buffer, usage: number): AesUsageKeys {
  return derivedFor(key, id, 0, usage, () => ({
    ke: new AesCts(aesDerive(key, usage, DeriveKind.encryption)),
    ki: aesDerive(key, usage, DeriveKind.integrity),
  }));
}

function aesProfile(id: number, name: string, keyLength: number, checksumType: number): Enctype {
  const checkKey = (key: Buffer) => {
    if (key.length !== keyLength) throw new KrbCryptoError(`${name} key of ${key.length} bytes`);
  };
  return {
    id, name, keyLength, checksumType, checksumLength: AES_MAC, confounderLength: AES_BLOCK,
    encrypt(key, usage, plain, confounder = randomBytes(AES_BLOCK)) {
      checkKey(key);
      const k = aesUsageKeys(id, key, usage);
      const p = Buffer.concat([confounder, plain]);
      return Buffer.concat([k.ke.encrypt(p), hmacSha1_96(k.ki, p)]);
    },
    decrypt(key, usage, cipher) {
      checkKey(key);
      if (cipher.length < AES_BLOCK + AES_MAC) throw new KrbCryptoError(`${name} ciphertext of ${cipher.length} bytes is too short`);
      const body = cipher.subarray(0, cipher.length - AES_MAC);
      const k = aesUsageKeys(id, key, usage);
      const p = k.ke.decrypt(body);
      const mac = hmacSha1_96(k.ki, p);
      if (!equalBytes(mac, cipher.subarray(cipher.length - AES_MAC))) throw new KrbCryptoError(`${name} integrity check failed (wrong key or tampered data)`);
      return p.subarray(AES_BLOCK);
    },
    checksum(key, usage, data) {
      checkKey(key);
      return hmacSha1_96(derivedFor(key, id, 1, usage, () => aesDerive(key, usage, DeriveKind.checksum)), data);
    },
    stringToKey(password, salt, params) {
      // RFC 3962 §4: PBKDF2-HMAC-SHA1 (iteration count from s2kparams, default 4096), then DK(tkey, "kerberos").
      const iterations = params && params.length === 4 ? params.readUInt32BE(0) : 4096;
      if (iterations < 1 || iterations > 1_000_000) throw new KrbCryptoError(`string-to-key iteration count ${iterations}`);
      const tkey = pbkdf2Sync(Buffer.from(password, 'utf8'), typeof salt === 'string' ? Buffer.from(salt, 'utf8') : salt, iterations, keyLength, 'sha1');
      return deriveRandom(aesBlockEncryptor, tkey, Buffer.from('kerberos'), AES_BLOCK, keyLength);
    },
    randomKey: () => randomBytes(keyLength),
  };
}

// ---------------------------------------------------------------------- RC4-HMAC (RFC 4757)

/** RFC 4757 §3: a few usages are renumbered for RC4 (the Windows numbering). */
function msUsage(usage: number): number {
  switch (usage) {
    case 3: return 8;
    case 23: return 13;
    default: return usage;
  }
}

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function hmacMd5(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('md5', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RFC 4757 §3 K1 = HMAC-MD5(key, usage), once per key and usage. */
function rc4UsageKey(key: Buffer, usage: number): Buffer {
  return derivedFor(key, EncType.RC4_HMAC, 0, usage, () => hmacMd5(key, le32(msUsage(usage))));
}

const SIGNATURE_KEY = Buffer.from('signaturekey\0', 'latin1');

function rc4Xor(key: Buffer, data: Buffer): Buffer {
  const out = Buffer.from(data);
  new Rc4(key).process(out);
  return out;
}

const RC4_CONFOUNDER = 8;
const RC4_MAC = 16;

const rc4Hmac: Enctype = {
  id: EncType.RC4_HMAC, name: 'rc4-hmac', keyLength: 16, checksumType: ChecksumType.HMAC_MD5, checksumLength: RC4_MAC, confounderLength: RC4_CONFOUNDER,
  encrypt(key, usage, plain, confounder = randomBytes(RC4_CONFOUNDER)) {
    const k1 = rc4UsageKey(key, usage);
    const p = Buffer.concat([confounder, plain]);
    const mac = hmacMd5(k1, p);
    return Buffer.concat([mac, rc4Xor(hmacMd5(k1, mac), p)]);
  },
  decrypt(key, usage, cipher) {
    if (cipher.length < RC4_MAC + RC4_CONFOUNDER) throw new KrbCryptoError(`rc4-hmac ciphertext of ${cipher.length} bytes is too short`);
    const k1 = rc4UsageKey(key, usage);
    const mac = cipher.subarray(0, RC4_MAC);
    const p = rc4Xor(hmacMd5(k1, mac), cipher.subarray(RC4_MAC));
    if (!equalBytes(hmacMd5(k1, p), mac)) throw new KrbCryptoError('rc4-hmac integrity check failed (wrong key or tampered data)');
    return p.subarray(RC4_CONFOUNDER);
  },
  checksum(key, usage, data) {
    // RFC 4757 §4 (checksum type -138, "KERB_CHECKSUM_HMAC_MD5").
    const ksign = derivedFor(key, EncType.RC4_HMAC, 1, 0, () => hmacMd5(key, SIGNATURE_KEY));
    const tmp = createHash('md5').update(le32(msUsage(usage))).update(data).digest();
    return hmacMd5(ksign, tmp);
  },
  stringToKey(password) {
    return md4(Buffer.from(password, 'utf16le'));
  },
  randomKey: () => randomBytes(16),
};

const ENCTYPES = new Map<number, Enctype>([
  [EncType.AES256_CTS_HMAC_SHA1_96, aesProfile(EncType.AES256_CTS_HMAC_SHA1_96, 'aes256-cts-hmac-sha1-96', 32, ChecksumType.HMAC_SHA1_96_AES256)],
  [EncType.AES128_CTS_HMAC_SHA1_96, aesProfile(EncType.AES128_CTS_HMAC_SHA1_96, 'aes128-cts-hmac-sha1-96', 16, ChecksumType.HMAC_SHA1_96_AES128)],
  [EncType.AES256_CTS_HMAC_SHA384_192, aesSha2Profile(EncType.AES256_CTS_HMAC_SHA384_192, 'aes256-cts-hmac-sha384-192', 'sha384', ChecksumType.HMAC_SHA384_192_AES256)],
  [EncType.AES128_CTS_HMAC_SHA256_128, aesSha2Profile(EncType.AES128_CTS_HMAC_SHA256_128, 'aes128-cts-hmac-sha256-128', 'sha256', ChecksumType.HMAC_SHA256_128_AES128)],
  [EncType.RC4_HMAC, rc4Hmac],
]);

/** Strongest first: the order in which the acceptor picks a subkey type the client also lists. */
export const SUPPORTED_ENCTYPES: readonly number[] = [...ENCTYPES.keys()];

export function enctype(id: number): Enctype {
  const e = ENCTYPES.get(id);
  if (!e) throw new KrbCryptoError(`unsupported enctype ${id}`);
  return e;
}

export function hasEnctype(id: number): boolean {
  return ENCTYPES.has(id);
}

/** The enctype that keys checksum type `ck` (for checksums verified with a given key, e.g. the PAC's). */
export function enctypeForChecksum(ck: number): Enctype | undefined {
  for (const e of ENCTYPES.values()) if (e.checksumType === ck) return e;
  return undefined;
}
