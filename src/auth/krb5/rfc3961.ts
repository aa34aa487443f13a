/**
 * RFC 3961 building blocks shared by the enctypes: the Enctype shape (§3), n-fold (§5.1),
 * DR/DK (§5.1) over a block cipher, and the key-usage constants of the simplified profile (§5.3).
 */
import { timingSafeEqual } from 'node:crypto';

/** One encryption type's operations (RFC 3961 §3), keyed with its base keys. */
export interface Enctype {
  readonly id: number;
  readonly name: string;
  readonly keyLength: number;
  /** The checksum type keyed with this enctype's keys (RFC 3961 "required checksum mechanism"). */
  readonly checksumType: number;
  readonly checksumLength: number;
  readonly confounderLength: number;
  encrypt(key: Buffer, usage: number, plain: Buffer, confounder?: Buffer): Buffer;
  /** Throws KrbCryptoError when the ciphertext's integrity check fails. */
  decrypt(key: Buffer, usage: number, cipher: Buffer): Buffer;
  checksum(key: Buffer, usage: number, data: Buffer): Buffer;
  stringToKey(password: string, salt: string | Buffer, params?: Buffer): Buffer;
  randomKey(): Buffer;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export class KrbCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KrbCryptoError';
  }
}

/** RFC 3961 §5.1 n-fold: stretch or shrink `input` to `outBytes` by rotated copies and ones'-complement addition. */
export function nfold(input: Uint8Array, outBytes: number): Buffer {
  const inBytes = input.length;
  if (inBytes === 0 || outBytes <= 0) throw new RangeError('n-fold needs non-empty input and output');
  const lcm = (inBytes * outBytes) / gcd(inBytes, outBytes);
  const out = new Array<number>(outBytes).fill(0);
  const inBits = inBytes * 8;
  // Byte i of the lcm-long string is byte (i mod inBytes) of copy r = floor(i / inBytes), rotated right by 13*r bits.
  const bytes = new Array<number>(lcm);
  for (let i = 0; i < lcm; i++) {
    const r = Math.floor(i / inBytes);
    const rot = (13 * r) % inBits;
    let v = 0;
    for (let k = 0; k < 8; k++) {
      const bit = ((i % inBytes) * 8 + k - rot + inBits * 8) % inBits;
      v = (v << 1) | ((input[bit >> 3] >> (7 - (bit & 7))) & 1);
    }
    bytes[i] = v;
  }
  // Sum the lcm/outBytes chunks with end-around carry.
  let carry = 0;
  for (let c = 0; c < lcm / outBytes; c++) {
    carry = 0;
    for (let b = outBytes - 1; b >= 0; b--) {
      const s = out[b] + bytes[c * outBytes + b] + carry;
      out[b] = s & 0xff;
      carry = s >> 8;
    }
    for (let b = outBytes - 1; carry && b >= 0; b--) {
      const s = out[b] + carry;
      out[b] = s & 0xff;
      carry = s >> 8;
    }
  }
  return Buffer.from(out);
}

function gcd(a: number, b: number): number {
  return b ? gcd(b, a % b) : a;
}

/** n-fold of the few constants in use (usage ‖ kind, "kerberos"): computed once each. */
const folded = new Map<string, Buffer>();
const FOLDED_MAX = 1024;

function foldedConstant(constant: Uint8Array, blockBytes: number): Buffer {
  const id = `${blockBytes}:${Buffer.from(constant).toString('hex')}`;
  let f = folded.get(id);
  if (!f) {
    f = nfold(constant, blockBytes);
    if (folded.size >= FOLDED_MAX) folded.clear();
    folded.set(id, f);
  }
  return f;
}

/**
 * DR(key, constant) of §5.1 for a cipher with `blockBytes` blocks, `keyBytes` of output;
 * DK = random-to-key(DR), which is the identity for the AES enctypes (RFC 3962 §6).
 * `encryptBlocks(key)` returns a block encryptor bound to the key (one cipher object for all blocks).
 */
export function deriveRandom(
  encryptBlocks: (key: Buffer) => (block: Buffer) => Buffer, key: Buffer, constant: Uint8Array, blockBytes: number, keyBytes: number,
): Buffer {
  let block = constant.length === blockBytes ? Buffer.from(constant) : foldedConstant(constant, blockBytes);
  const encrypt = encryptBlocks(key);
  const parts: Buffer[] = [];
  let have = 0;
  while (have < keyBytes) {
    block = encrypt(block);
    parts.push(block);
    have += block.length;
  }
  return Buffer.concat(parts).subarray(0, keyBytes);
}

/**
 * What a key derives, kept with the key Buffer itself (a WeakMap: gone when the key is):
 * a service key decrypts a ticket per bind, a session key encrypts and decrypts AP-REPs, and
 * each derivation is several AES block operations. The key bytes are kept beside the entry
 * and compared on each hit, so a Buffer reused for another key cannot get stale keys.
 */
const derivedOf = new WeakMap<Buffer, { bytes: Buffer; byUsage: Map<number, unknown> }>();

/** `slot` names what is derived: the enctype, what for (its own small number) and the usage. */
export function derivedFor<T>(key: Buffer, enctypeId: number, what: number, usage: number, make: () => T): T {
  const slot = (enctypeId * 16 + what) * 2 ** 32 + (usage >>> 0);
  let d = derivedOf.get(key);
  if (!d || !d.bytes.equals(key)) derivedOf.set(key, (d = { bytes: Buffer.from(key), byUsage: new Map() }));
  let v = d.byUsage.get(slot) as T | undefined;
  if (v === undefined) d.byUsage.set(slot, (v = make()));
  return v;
}

/** The 5-byte well-known constant of the simplified profile: usage (32-bit big-endian) ‖ 0x99 / 0xAA / 0x55. */
export function usageConstant(usage: number, kind: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(usage >>> 0);
  b[4] = kind;
  return b;
}

export const DeriveKind = { checksum: 0x99, encryption: 0xaa, integrity: 0x55 } as const;

/** Key usage numbers (RFC 4120 §7.5.1, RFC 4121 §2). */
export const KeyUsage = {
  TICKET: 2,
  AP_REQ_AUTHENTICATOR_CKSUM: 10,
  AP_REQ_AUTHENTICATOR: 11,
  AP_REP_ENCPART: 12,
  KRB_ERROR_CKSUM: 18,
  ACCEPTOR_SEAL: 22,
  ACCEPTOR_SIGN: 23,
  INITIATOR_SEAL: 24,
  INITIATOR_SIGN: 25,
  /** MS-PAC 2.8: the PAC's signatures use KERB_NON_KERB_CKSUM_SALT. */
  PAC_CHECKSUM: 17,
} as const;
