/**
 * RFC 4121 §4.2 per-message tokens (MIC 0x0404, Wrap 0x0504) as DCE/RPC verifiers, in the
 * DCE-style layout of MS-KILE 3.4.5.4.1 (KERBEROS.md §3, re-derived byte for byte from the lab
 * captures): the stub is encrypted in place, and the 76-byte Wrap verifier holds the header,
 * E(filler ‖ header copy), the HMAC and E(confounder). With header signing the checksums cover
 * the PDU header and sec_trailer too (the SIGN_ONLY buffers); without, only the stub.
 * AES enctypes only (RC4 keys use RFC 4757's older token format, not implemented).
 */
import { randomBytes } from 'node:crypto';
import { ctsDecrypt, ctsEncrypt } from './aes-cts';
import { EncType, aesDerive, equalBytes, hmacSha1_96 } from './enctypes';
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
  readonly sign: Buffer;
  readonly seal: Buffer;
  readonly integ: Buffer;
}

function keysFor(key: Buffer, signUsage: number, sealUsage: number): Direction {
  return {
    sign: aesDerive(key, signUsage, DeriveKind.checksum),
    seal: aesDerive(key, sealUsage, DeriveKind.encryption),
    integ: aesDerive(key, sealUsage, DeriveKind.integrity),
  };
}

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
  private readonly random: (n: number) => Buffer;

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
    this.random = p.randomBytes ?? randomBytes;
  }

  /** A MIC token over `parts` (concatenated), with the next send sequence number. */
  getMic(...parts: Uint8Array[]): Buffer {
    const t = Buffer.alloc(MIC_TOKEN_LENGTH);
    t.writeUInt16BE(0x0404, 0);
    t[2] = this.ourFlags;
    t.fill(0xff, 3, 8);
    writeSeq(t, 8, this.sendSeq++);
    hmacSha1_96(this.out.sign, ...parts, t.subarray(0, HEADER)).copy(t, HEADER);
    return t;
  }

  /** Check the peer's MIC token over `parts`; it must carry the next expected sequence number. */
  verifyMic(token: Buffer, ...parts: Uint8Array[]): void {
    if (token.length !== MIC_TOKEN_LENGTH) throw new TokenError(`MIC token of ${token.length} bytes, expected ${MIC_TOKEN_LENGTH}`);
    if (token.readUInt16BE(0) !== 0x0404) throw new TokenError(`not a MIC token (0x${token.readUInt16BE(0).toString(16)})`);
    this.checkHeader(token, false);
    if (!token.subarray(3, 8).equals(Buffer.alloc(5, 0xff))) throw new TokenError('MIC token filler is not 0xff');
    const mac = hmacSha1_96(this.in.sign, ...parts, token.subarray(0, HEADER));
    if (!equalBytes(mac, token.subarray(HEADER))) throw new TokenError('MIC token checksum does not verify');
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
    const header = Buffer.alloc(HEADER);
    header.writeUInt16BE(0x0504, 0);
    header[2] = this.ourFlags | TokenFlag.SEALED;
    header[3] = 0xff;
    header.writeUInt16BE(EC, 4);
    writeSeq(header, 8, this.sendSeq++);
    const copy = Buffer.from(header);
    copy.writeUInt16BE(0, 6); // the encrypted copy has RRC 0
    header.writeUInt16BE(RRC, 6);
    const conf = this.random(CONFOUNDER);
    const stub = pdu.subarray(stubStart, stubEnd);
    const tail = Buffer.concat([Buffer.alloc(EC, 0xff), copy]);
    const mac = hmacSha1_96(this.out.integ, conf, ...this.signOnly(pdu, stubStart, stubEnd, stub), tail);
    const c = ctsEncrypt(this.out.seal, Buffer.concat([conf, stub, tail]));
    c.copy(pdu, stubStart, CONFOUNDER, CONFOUNDER + stub.length);
    return Buffer.concat([header, c.subarray(CONFOUNDER + stub.length), mac, c.subarray(0, CONFOUNDER)]);
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
    const b = token.subarray(HEADER);
    const enc = pdu.subarray(stubStart, stubEnd);
    const plain = ctsDecrypt(this.in.seal, Buffer.concat([b.subarray(EC + HEADER + MAC), enc, b.subarray(0, EC + HEADER)]));
    const conf = plain.subarray(0, CONFOUNDER);
    const stub = plain.subarray(CONFOUNDER, CONFOUNDER + enc.length);
    const tail = plain.subarray(CONFOUNDER + enc.length);
    const copy = tail.subarray(EC);
    // The encrypted header copy must equal the clear header (RRC 0 in the copy, RFC 4121 §4.2.4).
    const expect = Buffer.from(token.subarray(0, HEADER));
    expect.writeUInt16BE(0, 6);
    if (!copy.equals(expect)) throw new TokenError('Wrap token header copy does not match');
    const mac = hmacSha1_96(this.in.integ, conf, ...this.signOnly(pdu, stubStart, stubEnd, stub), tail);
    if (!equalBytes(mac, b.subarray(EC + HEADER, EC + HEADER + MAC))) throw new TokenError('Wrap token checksum does not verify');
    this.acceptSeq(token);
    stub.copy(pdu, stubStart);
  }

  /** The data covered by the Wrap checksum besides confounder and tail, in iov order. */
  private signOnly(pdu: Buffer, stubStart: number, stubEnd: number, stub: Buffer): Buffer[] {
    return this.headerSigning ? [pdu.subarray(0, stubStart), stub, pdu.subarray(stubEnd)] : [stub];
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
