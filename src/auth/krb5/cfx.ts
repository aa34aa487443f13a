/**
 * RFC 4121 §4.2 per-message tokens (MIC 0x0404, Wrap 0x0504) as DCE/RPC verifiers, in the
 * DCE-style layout of MS-KILE 3.4.5.4.1 (KERBEROS.md §3, re-derived byte for byte from the lab
 * captures): the stub is encrypted in place, and the 76-byte Wrap verifier holds the header,
 * E(filler ‖ header copy), the HMAC and E(confounder). With header signing the checksums cover
 * the PDU header and sec_trailer too (the SIGN_ONLY buffers); without, only the stub.
 * AES enctypes only (RC4 keys use RFC 4757's older token format, not implemented).
 *
 * Per message (a fan-out seals one response per client): the keys are derived and the AES
 * cipher objects made once per context and direction (AesCts), the plaintext is assembled in
 * one process-wide scratch buffer, the HMAC is two one-shot hashes over bytes laid out in
 * another, and confounders come from a pool of random bytes; what is allocated is the verifier
 * returned, the cipher's output and the hashes' digests.
 */
import * as crypto from 'node:crypto';
import { createHmac, randomFillSync } from 'node:crypto';
import { AesCts } from './aes-cts';
import { EncType, aesDerive } from './enctypes';
import { DeriveKind, KeyUsage, KrbCryptoError } from './rfc3961';

export const TokenFlag = { SENT_BY_ACCEPTOR: 0x01, SEALED: 0x02, ACCEPTOR_SUBKEY: 0x04 } as const;

const HEADER = 16;
const MAC = 12;
const CONFOUNDER = 16;
/** Extra count and right rotation count of the DCE-style Wrap token (MS-KILE 3.4.5.4.1). */
const EC = 16;
const RRC = EC + MAC;
export const MIC_TOKEN_LENGTH = HEADER + MAC;
export const WRAP_TOKEN_LENGTH = HEADER + EC + HEADER + MAC + CONFOUNDER;

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

interface Direction {
  readonly sign: HmacSha1;
  readonly seal: AesCts;
  readonly integ: HmacSha1;
}

function keysFor(key: Buffer, signUsage: number, sealUsage: number): Direction {
  return {
    sign: new HmacSha1(aesDerive(key, signUsage, DeriveKind.checksum)),
    seal: new AesCts(aesDerive(key, sealUsage, DeriveKind.encryption)),
    integ: new HmacSha1(aesDerive(key, sealUsage, DeriveKind.integrity)),
  };
}

/**
 * Confounders from a 4 KiB pool of random bytes, refilled when spent: randomBytes(16) was
 * ~2.7 µs a call here (a trip into OpenSSL's DRBG each time), a slice of the pool ~0.1 µs.
 */
const pool = Buffer.allocUnsafe(4096);
let poolAt = pool.length;
function pooledConfounder(into: Buffer, at: number): void {
  if (poolAt + CONFOUNDER > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  pool.copy(into, at, poolAt, poolAt + CONFOUNDER);
  poolAt += CONFOUNDER;
}

/** Where a Wrap token's plaintext (confounder ‖ stub ‖ filler ‖ header copy) is put together; synchronous use only. */
let scratch = Buffer.allocUnsafe(4096);
function scratchOf(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
  return scratch;
}

/**
 * HMAC-SHA1 under one key (RFC 2104: H(K⊕opad ‖ H(K⊕ipad ‖ m))), as two one-shot hashes over
 * bytes laid out in a scratch buffer: createHmac builds a keyed object per message, ~25,700
 * instructions for a 200-byte message against ~19,800 this way (callgrind, Node 20). The
 * caller lays the message out itself (begin/end), so the pieces need no Buffer views.
 * crypto.hash is Node ≥ 20.12; without it, createHmac.
 */
const oneShotHash = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'binary') => string }).hash;
const SHA1_BLOCK = 64;
const SHA1_DIGEST = 20;
/** Where a message starts in HmacSha1.begin()'s buffer. */
const MAC_AT = SHA1_BLOCK;
let macScratch = Buffer.allocUnsafe(4096);

class HmacSha1 {
  private readonly ipad = Buffer.alloc(SHA1_BLOCK, 0x36);
  private readonly outer = Buffer.alloc(SHA1_BLOCK + SHA1_DIGEST, 0x5c);

  constructor(private readonly key: Buffer) {
    if (key.length > SHA1_BLOCK) throw new KrbCryptoError(`HMAC key of ${key.length} bytes`);
    for (let i = 0; i < key.length; i++) {
      this.ipad[i] ^= key[i];
      this.outer[i] ^= key[i];
    }
  }

  /**
   * The buffer to lay a message out in: K⊕ipad in its first 64 bytes (MAC_AT), room for `n`
   * message bytes after them. Callers copy the pieces in with offsets (no views to make), then end().
   */
  begin(n: number): Buffer {
    if (macScratch.length < MAC_AT + n) macScratch = Buffer.allocUnsafe(Math.max(MAC_AT + n, macScratch.length * 2));
    this.ipad.copy(macScratch, 0);
    return macScratch;
  }

  /**
   * Write HMAC-SHA1-96 (the first 12 bytes) of the `n` message bytes laid out after begin() to
   * out[at]. The digests travel as 'binary' (latin1) strings: a Buffer made in C++ per digest cost twice
   * as much here (its backing store is tracked and swept by the GC), a short string is cheap.
   */
  end(m: Buffer, n: number, out: Buffer, at: number): void {
    if (!oneShotHash) {
      createHmac('sha1', this.key).update(m.subarray(MAC_AT, MAC_AT + n)).digest().copy(out, at, 0, MAC);
      return;
    }
    this.outer.write(oneShotHash('sha1', m.subarray(0, MAC_AT + n), 'binary'), SHA1_BLOCK, SHA1_DIGEST, 'latin1');
    out.write(oneShotHash('sha1', this.outer, 'binary'), at, MAC, 'latin1');
  }
}

/** a[0, MAC) = b[bAt, bAt + MAC), in time that does not depend on where they differ. */
function sameMac(a: Buffer, b: Buffer, bAt: number): boolean {
  let d = 0;
  for (let i = 0; i < MAC; i++) d |= a[i] ^ b[bAt + i];
  return d === 0;
}

/** The MAC computed to check a received token; one per process (synchronous use). */
const expected = Buffer.alloc(MAC);

function writeSeq(b: Buffer, at: number, seq: bigint): void {
  b.writeBigUInt64BE(BigInt.asUintN(64, seq), at);
}

export interface CfxParams {
  /** The acceptor subkey (both directions use it; token flag AcceptorSubkey). */
  readonly key: Buffer;
  readonly enctype: number;
  readonly initiatorSeq: number;
  readonly acceptorSeq: number;
  readonly headerSigning: boolean;
  /** Our role: the server is the acceptor; tests and benchmarks also play the initiator. */
  readonly role: 'acceptor' | 'initiator';
  /** Test hook: the confounder source. */
  readonly randomBytes?: (n: number) => Buffer;
}

/** One side of an established context: its keys, flags and both sequence counters. */
export class CfxContext {
  private readonly out: Direction;
  private readonly in: Direction;
  private sendSeq: bigint;
  private recvSeq: bigint;
  private readonly ourFlags: number;
  private readonly headerSigning: boolean;
  private readonly confounder: (into: Buffer, at: number) => void;

  constructor(p: CfxParams) {
    if (p.enctype !== EncType.AES256_CTS_HMAC_SHA1_96 && p.enctype !== EncType.AES128_CTS_HMAC_SHA1_96) {
      throw new KrbCryptoError(`per-message tokens for enctype ${p.enctype} are not supported (AES only)`);
    }
    const acceptor = keysFor(p.key, KeyUsage.ACCEPTOR_SIGN, KeyUsage.ACCEPTOR_SEAL);
    const initiator = keysFor(p.key, KeyUsage.INITIATOR_SIGN, KeyUsage.INITIATOR_SEAL);
    const isAcceptor = p.role === 'acceptor';
    this.out = isAcceptor ? acceptor : initiator;
    this.in = isAcceptor ? initiator : acceptor;
    this.sendSeq = BigInt((isAcceptor ? p.acceptorSeq : p.initiatorSeq) >>> 0);
    this.recvSeq = BigInt((isAcceptor ? p.initiatorSeq : p.acceptorSeq) >>> 0);
    this.ourFlags = TokenFlag.ACCEPTOR_SUBKEY | (isAcceptor ? TokenFlag.SENT_BY_ACCEPTOR : 0);
    this.headerSigning = p.headerSigning;
    const hook = p.randomBytes;
    this.confounder = hook ? (into, at) => hook(CONFOUNDER).copy(into, at, 0, CONFOUNDER) : pooledConfounder;
  }

  /** A MIC token over `data`, with the next send sequence number. */
  getMic(data: Uint8Array): Buffer {
    const t = Buffer.allocUnsafe(MIC_TOKEN_LENGTH);
    t.writeUInt16BE(0x0404, 0);
    t[2] = this.ourFlags;
    t.fill(0xff, 3, 8);
    writeSeq(t, 8, this.sendSeq++);
    const m = this.out.sign.begin(data.length + HEADER);
    m.set(data, MAC_AT);
    t.copy(m, MAC_AT + data.length, 0, HEADER);
    this.out.sign.end(m, data.length + HEADER, t, HEADER);
    return t;
  }

  /** Check the peer's MIC token over `data`; it must carry the next expected sequence number. */
  verifyMic(token: Buffer, data: Uint8Array): void {
    if (token.length !== MIC_TOKEN_LENGTH) throw new TokenError(`MIC token of ${token.length} bytes, expected ${MIC_TOKEN_LENGTH}`);
    if (token.readUInt16BE(0) !== 0x0404) throw new TokenError(`not a MIC token (0x${token.readUInt16BE(0).toString(16)})`);
    this.checkHeader(token, false);
    if (token.readUInt32BE(3) !== 0xffffffff || token[7] !== 0xff) throw new TokenError('MIC token filler is not 0xff');
    const m = this.in.sign.begin(data.length + HEADER);
    m.set(data, MAC_AT);
    token.copy(m, MAC_AT + data.length, 0, HEADER);
    this.in.sign.end(m, data.length + HEADER, expected, 0);
    if (!sameMac(expected, token, HEADER)) throw new TokenError('MIC token checksum does not verify');
    this.acceptSeq(token);
  }

  signPdu(pdu: Buffer, stubStart: number, stubEnd: number): Buffer {
    return this.headerSigning ? this.getMic(pdu) : this.getMic(pdu.subarray(stubStart, stubEnd));
  }

  verifyPdu(pdu: Buffer, stubStart: number, stubEnd: number, token: Buffer): void {
    if (this.headerSigning) this.verifyMic(token, pdu);
    else this.verifyMic(token, pdu.subarray(stubStart, stubEnd));
  }

  /** Encrypt pdu[stubStart, stubEnd) in place; return the Wrap verifier. `pdu` ends with the sec_trailer. */
  sealPdu(pdu: Buffer, stubStart: number, stubEnd: number): Buffer {
    const len = stubEnd - stubStart;
    const t = Buffer.allocUnsafe(WRAP_TOKEN_LENGTH);
    t.writeUInt16BE(0x0504, 0);
    t[2] = this.ourFlags | TokenFlag.SEALED;
    t[3] = 0xff;
    t.writeUInt16BE(EC, 4);
    t.writeUInt16BE(RRC, 6);
    writeSeq(t, 8, this.sendSeq++);
    // Plaintext: confounder ‖ stub ‖ filler ‖ header copy (RRC 0 in the copy).
    const tail = CONFOUNDER + len;
    const n = tail + EC + HEADER;
    const plain = scratchOf(n);
    this.confounder(plain, 0);
    pdu.copy(plain, CONFOUNDER, stubStart, stubEnd);
    plain.fill(0xff, tail, tail + EC);
    t.copy(plain, tail + EC, 0, HEADER);
    plain.writeUInt16BE(0, tail + EC + 6);
    // Checksum: confounder ‖ (the PDU, stub still in clear, with header signing; else the stub) ‖ filler ‖ header copy.
    const mid = this.headerSigning ? pdu.length : len;
    const m = this.out.integ.begin(CONFOUNDER + mid + EC + HEADER);
    plain.copy(m, MAC_AT, 0, CONFOUNDER);
    if (this.headerSigning) pdu.copy(m, MAC_AT + CONFOUNDER);
    else pdu.copy(m, MAC_AT + CONFOUNDER, stubStart, stubEnd);
    plain.copy(m, MAC_AT + CONFOUNDER + mid, tail, n);
    this.out.integ.end(m, CONFOUNDER + mid + EC + HEADER, t, HEADER + EC + HEADER);
    const c = this.out.seal.encrypt(plain, n);
    c.copy(pdu, stubStart, CONFOUNDER, tail);
    c.copy(t, HEADER, tail, n);
    c.copy(t, HEADER + EC + HEADER + MAC, 0, CONFOUNDER);
    return t;
  }

  /** Check and decrypt pdu[stubStart, stubEnd) in place with the peer's Wrap verifier. */
  unsealPdu(pdu: Buffer, stubStart: number, stubEnd: number, token: Buffer): void {
    if (token.length !== WRAP_TOKEN_LENGTH) throw new TokenError(`Wrap token of ${token.length} bytes, expected ${WRAP_TOKEN_LENGTH}`);
    if (token.readUInt16BE(0) !== 0x0504) throw new TokenError(`not a Wrap token (0x${token.readUInt16BE(0).toString(16)})`);
    this.checkHeader(token, true);
    if (token[3] !== 0xff) throw new TokenError('Wrap token filler is not 0xff');
    if (token.readUInt16BE(4) !== EC || token.readUInt16BE(6) !== RRC) {
      throw new TokenError(`Wrap token EC ${token.readUInt16BE(4)} / RRC ${token.readUInt16BE(6)}, expected ${EC} / ${RRC}`);
    }
    const len = stubEnd - stubStart;
    const tail = CONFOUNDER + len;
    const n = tail + EC + HEADER;
    // Ciphertext in plaintext order: E(confounder) ‖ E(stub) ‖ E(filler ‖ header copy).
    const ct = scratchOf(n);
    token.copy(ct, 0, HEADER + EC + HEADER + MAC, WRAP_TOKEN_LENGTH);
    pdu.copy(ct, CONFOUNDER, stubStart, stubEnd);
    token.copy(ct, tail, HEADER, HEADER + EC + HEADER);
    const plain = this.in.seal.decrypt(ct, n);
    // The encrypted header copy must equal the clear header, RRC 0 in the copy (RFC 4121 §4.2.4).
    const copy = tail + EC;
    if (plain.compare(token, 0, 6, copy, copy + 6) !== 0 || plain.readUInt16BE(copy + 6) !== 0 || plain.compare(token, 8, HEADER, copy + 8, n) !== 0) {
      throw new TokenError('Wrap token header copy does not match');
    }
    // Checksum: confounder ‖ (with header signing: the PDU with its stub in clear; else the stub) ‖ filler ‖ header copy.
    const macLen = CONFOUNDER + (this.headerSigning ? pdu.length : len) + EC + HEADER;
    const m = this.in.integ.begin(macLen);
    plain.copy(m, MAC_AT, 0, CONFOUNDER);
    let at = MAC_AT + CONFOUNDER;
    if (this.headerSigning) at += pdu.copy(m, at, 0, stubStart);
    at += plain.copy(m, at, CONFOUNDER, tail);
    if (this.headerSigning) at += pdu.copy(m, at, stubEnd);
    plain.copy(m, at, tail, n);
    this.in.integ.end(m, macLen, expected, 0);
    if (!sameMac(expected, token, HEADER + EC + HEADER)) throw new TokenError('Wrap token checksum does not verify');
    this.acceptSeq(token);
    plain.copy(pdu, stubStart, CONFOUNDER, tail);
  }

  private checkHeader(token: Buffer, sealed: boolean): void {
    const flags = token[2];
    if ((flags & TokenFlag.SENT_BY_ACCEPTOR) === (this.ourFlags & TokenFlag.SENT_BY_ACCEPTOR)) throw new TokenError('token sent by our own side (reflected)');
    if (!(flags & TokenFlag.ACCEPTOR_SUBKEY)) throw new TokenError('token is not under the acceptor subkey');
    if (sealed !== ((flags & TokenFlag.SEALED) !== 0)) throw new TokenError(sealed ? 'Wrap token is not sealed' : 'MIC token has the Sealed flag');
  }

  /** Only after the checksum verified: the sequence number must be the next one (no replay, no reordering). */
  private acceptSeq(token: Buffer): void {
    const seq = token.readBigUInt64BE(8);
    if (seq !== this.recvSeq) throw new TokenError(`sequence number ${seq}, expected ${this.recvSeq} (replayed or reordered)`);
    this.recvSeq = BigInt.asUintN(64, this.recvSeq + 1n);
  }
}
