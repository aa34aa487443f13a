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
 * another, pieces of a few blocks move by loops (../one-shot-hmac.ts says why), and
 * confounders come from a pool of random bytes. What is allocated per sealed message is the
 * cipher's output and the hashes' digests (sealInto writes the verifier where the caller says;
 * sealPdu allocates it).
 */
import { randomFillSync } from 'node:crypto';
import { HMAC_MESSAGE_AT as MAC_AT, OneShotHmac, Scratch, put } from '../one-shot-hmac';
import { AesCts } from './aes-cts';
import { EncType, aesDerive } from './enctypes';
import { DeriveKind, KeyUsage, KrbCryptoError } from './rfc3961';

export const TokenFlag = { SENT_BY_ACCEPTOR: 0x01, SEALED: 0x02, ACCEPTOR_SUBKEY: 0x04 } as const;

const HEADER = 16;
/** The AES block. */
const BLOCK = 16;
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
  readonly sign: OneShotHmac;
  readonly seal: AesCts;
  readonly integ: OneShotHmac;
}

function keysFor(key: Buffer, signUsage: number, sealUsage: number): Direction {
  return {
    sign: new OneShotHmac('sha1', aesDerive(key, signUsage, DeriveKind.checksum)),
    seal: new AesCts(aesDerive(key, sealUsage, DeriveKind.encryption)),
    integ: new OneShotHmac('sha1', aesDerive(key, sealUsage, DeriveKind.integrity)),
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
  put(into, at, pool, poolAt, CONFOUNDER);
  poolAt += CONFOUNDER;
}

/** Where a Wrap token's plaintext (confounder ‖ stub ‖ filler ‖ header copy) is put together. */
const plainScratch = new Scratch();

/** a[0, MAC) = b[bAt, bAt + MAC), in time that does not depend on where they differ. */
function sameMac(a: Buffer, b: Buffer, bAt: number): boolean {
  let d = 0;
  for (let i = 0; i < MAC; i++) d |= a[i] ^ b[bAt + i];
  return d === 0;
}

/** The MAC computed to check a received token; one per process (synchronous use). */
const expected = Buffer.alloc(MAC);

/**
 * SND_SEQ, 64-bit big-endian. Counters are numbers, not BigInts (a BigInt per token was an
 * allocation): they start below 2^32 and count one per token, so they stay exact far past any
 * connection's life (2^53).
 */
function writeSeq(b: Uint8Array, at: number, seq: number): void {
  const hi = (seq / 0x100000000) >>> 0;
  const lo = seq >>> 0;
  b[at] = hi >>> 24;
  b[at + 1] = hi >>> 16;
  b[at + 2] = hi >>> 8;
  b[at + 3] = hi;
  b[at + 4] = lo >>> 24;
  b[at + 5] = lo >>> 16;
  b[at + 6] = lo >>> 8;
  b[at + 7] = lo;
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
  private sendSeq: number;
  private recvSeq: number;
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
    this.sendSeq = (isAcceptor ? p.acceptorSeq : p.initiatorSeq) >>> 0;
    this.recvSeq = (isAcceptor ? p.initiatorSeq : p.acceptorSeq) >>> 0;
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
    this.out.sign.end(data.length + HEADER, t, HEADER, MAC);
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
    this.in.sign.end(data.length + HEADER, expected, 0, MAC);
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
    const t = Buffer.allocUnsafe(WRAP_TOKEN_LENGTH);
    this.sealInto(pdu, stubStart, stubEnd, pdu.length, t, 0);
    return t;
  }

  /**
   * sealPdu for the PDU pdu[0, pduEnd) (it ends with the sec_trailer), writing the Wrap verifier
   * to out[at, at + WRAP_TOKEN_LENGTH): the runtime passes the fragment itself, with the
   * verifier's room after the trailer, and allocates nothing for it.
   */
  sealInto(pdu: Buffer, stubStart: number, stubEnd: number, pduEnd: number, out: Buffer, at: number): void {
    const len = stubEnd - stubStart;
    const seq = this.sendSeq++;
    const flags = this.ourFlags | TokenFlag.SEALED;
    // Plaintext: confounder ‖ stub ‖ filler ‖ header copy (RRC 0 in the copy).
    const tail = CONFOUNDER + len;
    const n = tail + EC + HEADER;
    const plain = plainScratch.of(n);
    this.confounder(plain, 0);
    pdu.copy(plain, CONFOUNDER, stubStart, stubEnd);
    plain.fill(0xff, tail, tail + EC);
    const h = tail + EC;
    plain[h] = 0x05;
    plain[h + 1] = 0x04;
    plain[h + 2] = flags;
    plain[h + 3] = 0xff;
    plain[h + 4] = EC >>> 8;
    plain[h + 5] = EC & 0xff;
    plain[h + 6] = 0;
    plain[h + 7] = 0;
    writeSeq(plain, h + 8, seq);
    // The verifier's header: the copy's, with the RRC.
    put(out, at, plain, h, HEADER);
    out[at + 6] = RRC >>> 8;
    out[at + 7] = RRC & 0xff;
    // Checksum: confounder ‖ (the PDU, stub still in clear, with header signing; else the stub) ‖ filler ‖ header copy.
    const mid = this.headerSigning ? pduEnd : len;
    const m = this.out.integ.begin(CONFOUNDER + mid + EC + HEADER);
    put(m, MAC_AT, plain, 0, CONFOUNDER);
    if (!this.headerSigning) pdu.copy(m, MAC_AT + CONFOUNDER, stubStart, stubEnd);
    else if (pduEnd === pdu.length) m.set(pdu, MAC_AT + CONFOUNDER);
    else pdu.copy(m, MAC_AT + CONFOUNDER, 0, pduEnd);
    put(m, MAC_AT + CONFOUNDER + mid, plain, tail, EC + HEADER);
    this.out.integ.end(CONFOUNDER + mid + EC + HEADER, out, at + HEADER + EC + HEADER, MAC);
    // Ciphertext (CTS): E(confounder) ‖ E(stub) ‖ E(filler ‖ header copy), the last 32 bytes as
    // two blocks e1, e2. Aligned (always so in DCE/RPC: the stub is padded to 16), CTS is CBC
    // with the last two blocks exchanged, exchanged here while copying out.
    let c: Buffer;
    let e1: number;
    let e2: number;
    if (n % BLOCK === 0) {
      c = this.out.seal.cbcAligned(plainScratch.view(n));
      e1 = n - BLOCK;
      e2 = n - 2 * BLOCK;
    } else {
      c = this.out.seal.encrypt(plain, n);
      e1 = tail;
      e2 = tail + BLOCK;
    }
    if (len > 0) c.copy(pdu, stubStart, CONFOUNDER, tail);
    put(out, at + HEADER, c, e1, BLOCK);
    put(out, at + HEADER + BLOCK, c, e2, BLOCK);
    put(out, at + HEADER + EC + HEADER + MAC, c, 0, CONFOUNDER);
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
    const ct = plainScratch.of(n);
    put(ct, 0, token, HEADER + EC + HEADER + MAC, CONFOUNDER);
    pdu.copy(ct, CONFOUNDER, stubStart, stubEnd);
    let plain: Buffer;
    if (n % BLOCK === 0) {
      // Aligned (always so in DCE/RPC): the token holds CBC's last two blocks exchanged (CTS);
      // exchanged back while copying, the rest is plain CBC (sealInto's mirror).
      put(ct, tail, token, HEADER + BLOCK, BLOCK);
      put(ct, tail + BLOCK, token, HEADER, BLOCK);
      plain = this.in.seal.cbcAlignedDecrypt(plainScratch.view(n));
    } else {
      token.copy(ct, tail, HEADER, HEADER + EC + HEADER);
      plain = this.in.seal.decrypt(ct, n);
    }
    // The encrypted header copy must equal the clear header, RRC 0 in the copy (RFC 4121 §4.2.4).
    const copy = tail + EC;
    for (let i = 0; i < HEADER; i++) {
      if (plain[copy + i] !== (i === 6 || i === 7 ? 0 : token[i])) throw new TokenError('Wrap token header copy does not match');
    }
    // Checksum: confounder ‖ (with header signing: the PDU with its stub in clear; else the stub) ‖ filler ‖ header copy.
    const macLen = CONFOUNDER + (this.headerSigning ? pdu.length : len) + EC + HEADER;
    const m = this.in.integ.begin(macLen);
    put(m, MAC_AT, plain, 0, CONFOUNDER);
    let at = MAC_AT + CONFOUNDER;
    if (this.headerSigning) at += pdu.copy(m, at, 0, stubStart);
    at += plain.copy(m, at, CONFOUNDER, tail);
    if (this.headerSigning) at += pdu.copy(m, at, stubEnd);
    put(m, at, plain, tail, EC + HEADER);
    this.in.integ.end(macLen, expected, 0, MAC);
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
    const hi = token.readUInt32BE(8);
    const lo = token.readUInt32BE(12);
    // recvSeq < 2^53: hi * 2^32 + lo can equal it only when it is exact.
    if (hi * 0x100000000 + lo !== this.recvSeq) {
      throw new TokenError(`sequence number ${token.readBigUInt64BE(8)}, expected ${this.recvSeq} (replayed or reordered)`);
    }
    this.recvSeq++;
  }
}
