/**
 * NTLM key derivations and the message signature (MS-NLMP 3.3.2, 3.4.4, 3.4.5), built on
 * our MD4/RC4 and node:crypto's MD5/HMAC-MD5.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { md4 } from './md4';
import { HMAC_MESSAGE_AT, OneShotHmac } from './one-shot-hmac';
import { Rc4 } from './rc4';
import { NegotiateFlags as F } from './ntlmssp-messages';

/** An NTLMSSP message signature (MS-NLMP 2.2.2.9): version, checksum (or random pad and CRC), sequence number. */
export const NTLMSSP_SIGNATURE_LENGTH = 16;

export function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hmacMd5(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('md5', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function utf16le(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

/** NTOWFv1 = MD4(UNICODE(Passwd)): the NT hash that smbpasswd stores. */
export function ntHash(password: string): Buffer {
  return md4(utf16le(password));
}

/** NTOWFv2 = HMAC_MD5(NTOWFv1, UNICODE(Uppercase(User) + UserDom)). */
export function ntowfv2FromHash(ntHashValue: Uint8Array, user: string, domain: string): Buffer {
  return hmacMd5(ntHashValue, utf16le(user.toUpperCase() + domain));
}

export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return ntowfv2FromHash(ntHash(password), user, domain);
}

/** NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp). */
export function ntProofStr(responseKeyNT: Uint8Array, serverChallenge: Uint8Array, temp: Uint8Array): Buffer {
  return hmacMd5(responseKeyNT, serverChallenge, temp);
}

/** The NTLMv2 client blob ("temp") of MS-NLMP 3.3.2. */
export function ntlmv2Temp(timestamp: Uint8Array, clientChallenge: Uint8Array, avPairs: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]),
    timestamp,
    clientChallenge,
    Buffer.alloc(4),
    avPairs,
    Buffer.alloc(4),
  ]);
}

/** SessionBaseKey for NTLMv2 = HMAC_MD5(ResponseKeyNT, NTProofStr); KXKEY is the identity. */
export function sessionBaseKeyV2(responseKeyNT: Uint8Array, proof: Uint8Array): Buffer {
  return hmacMd5(responseKeyNT, proof);
}

const MAGIC = {
  clientSign: 'session key to client-to-server signing key magic constant\0',
  serverSign: 'session key to server-to-client signing key magic constant\0',
  clientSeal: 'session key to client-to-server sealing key magic constant\0',
  serverSeal: 'session key to server-to-client sealing key magic constant\0',
};

/** SIGNKEY (ESS only; without ESS there is no signing key). */
export function signKey(exportedSessionKey: Uint8Array, mode: 'client' | 'server'): Buffer {
  return md5(exportedSessionKey, Buffer.from(mode === 'client' ? MAGIC.clientSign : MAGIC.serverSign, 'latin1'));
}

/** SEALKEY with ESS: the session key is weakened to 5/7 bytes unless 128-bit was negotiated. */
export function sealKey(flags: number, exportedSessionKey: Uint8Array, mode: 'client' | 'server'): Buffer {
  let key = Buffer.from(exportedSessionKey);
  if (flags & F.EXTENDED_SESSIONSECURITY) {
    if (flags & F.NEGOTIATE_128) key = key.subarray(0, 16);
    else if (flags & F.NEGOTIATE_56) key = key.subarray(0, 7);
    else key = key.subarray(0, 5);
    return md5(key, Buffer.from(mode === 'client' ? MAGIC.clientSeal : MAGIC.serverSeal, 'latin1'));
  }
  // NTLMv1 without ESS: the key itself (weakened for LM_KEY, which we never negotiate).
  return key;
}

/**
 * One direction of an established NTLM session: signing key, RC4 handle, sequence number.
 * Connection-oriented: the RC4 handle and the sequence number run across messages.
 */
export class NtlmDirection implements NtlmChannel {
  seqNum = 0;
  private rc4: Rc4;
  private readonly hmac: OneShotHmac;

  constructor(
    readonly flags: number,
    readonly signingKey: Buffer,
    readonly sealingKey: Buffer,
  ) {
    this.rc4 = new Rc4(sealingKey);
    this.hmac = new OneShotHmac('md5', signingKey);
  }

  /** MS-SPNG 3.3.5.1: after the mechListMIC the RC4 handle starts over; seqnums go on. */
  resetRc4(): void {
    this.rc4 = new Rc4(this.sealingKey);
  }

  /**
   * The NTLMSSP signature (ESS, MS-NLMP 3.4.4.2) over `pdu` as it stands, consuming one
   * sequence number: version 1 || HMAC_MD5(SigningKey, SeqNum || pdu)[0..8] || SeqNum.
   * With `seal`, [start, end) is RC4-encrypted after the HMAC and before the checksum, as
   * one RC4 stream (MS-NLMP 3.4.3: data first, then checksum); with KEY_EXCH the checksum is
   * RC4-sealed with this direction's handle.
   */
  signPdu(pdu: Uint8Array, seal: boolean, start = 0, end = 0): Buffer {
    const sig = Buffer.allocUnsafe(NTLMSSP_SIGNATURE_LENGTH);
    this.signInto(pdu, pdu.length, seal, start, end, sig, 0);
    return sig;
  }

  /** signPdu over pdu[0, pduEnd), the signature written to out[at, at + 16) (out may be the PDU's own fragment). */
  signInto(pdu: Uint8Array, pduEnd: number, seal: boolean, start: number, end: number, out: Buffer, at: number): void {
    const seq = this.seqNum >>> 0;
    this.seqNum = (seq + 1) >>> 0;
    const m = this.hmac.begin(4 + pduEnd);
    m.writeUInt32LE(seq, HMAC_MESSAGE_AT);
    if (pduEnd === pdu.length) m.set(pdu, HMAC_MESSAGE_AT + 4);
    else m.set(pdu.subarray(0, pduEnd), HMAC_MESSAGE_AT + 4);
    this.hmac.end(4 + pduEnd, out, at + 4, 8);
    if (seal) this.rc4.process(pdu, start, end);
    if (this.flags & F.KEY_EXCH) this.rc4.process(out, at + 4, at + 12);
    out.writeUInt32LE(1, at);
    out.writeUInt32LE(seq, at + 12);
  }

  /**
   * The receiving side of signPdu: with `seal`, decrypt [start, end) in place first, then
   * recompute the signature over the plaintext PDU and compare (sequence number included,
   * so a replayed or reordered PDU fails). Returns false on mismatch.
   */
  verifyPdu(pdu: Uint8Array, signature: Uint8Array, seal: boolean, start = 0, end = 0): boolean {
    if (seal) this.rc4.process(pdu, start, end);
    const expect = this.signPdu(pdu, false);
    return constantTimeEqual(expect, signature);
  }
}

/** What a session signs and verifies with: one direction (ESS) or the shared NTLMv1 channel. */
export interface NtlmChannel {
  signPdu(pdu: Uint8Array, seal: boolean, start?: number, end?: number): Buffer;
  /** signPdu over pdu[0, pduEnd), the 16-byte signature written to out[at, …). */
  signInto(pdu: Uint8Array, pduEnd: number, seal: boolean, start: number, end: number, out: Buffer, at: number): void;
  verifyPdu(pdu: Uint8Array, signature: Uint8Array, seal: boolean, start?: number, end?: number): boolean;
  resetRc4(): void;
}

/**
 * Signing and sealing without extended session security (MS-NLMP 3.4.4.1, 3.4.3): what the
 * anonymous AUTHENTICATE yields, since a client without a password cannot do NTLM2 (Samba's
 * cli_credentials_get_ntlm_response). The checksum is CRC32 of the message ([start, end):
 * stub and auth padding for DCE/RPC), and one RC4 handle and one sequence number serve both
 * directions, as Samba's ntlmssp_sign.c (struct ntlmssp_crypt_state.ntlm).
 */
export class NtlmV1Channel implements NtlmChannel {
  private seqNum = 0;
  private rc4: Rc4;

  constructor(private readonly sealingKey: Buffer) {
    this.rc4 = new Rc4(sealingKey);
  }

  resetRc4(): void {
    this.rc4 = new Rc4(this.sealingKey);
  }

  /** Version 1 || RC4(RandomPad 0 || CRC32 || SeqNum); with `seal` the data is RC4'd first. */
  signPdu(pdu: Uint8Array, seal: boolean, start = 0, end = pdu.length): Buffer {
    const sig = Buffer.allocUnsafe(NTLMSSP_SIGNATURE_LENGTH);
    this.signInto(pdu, pdu.length, seal, start, end, sig, 0);
    return sig;
  }

  signInto(pdu: Uint8Array, _pduEnd: number, seal: boolean, start: number, end: number, out: Buffer, at: number): void {
    out.writeUInt32LE(1, at);
    out.writeUInt32LE(0, at + 4);
    out.writeUInt32LE(crc32(pdu, start, end), at + 8);
    out.writeUInt32LE(this.seqNum >>> 0, at + 12);
    this.seqNum = (this.seqNum + 1) >>> 0;
    if (seal) this.rc4.process(pdu, start, end);
    this.rc4.process(out, at + 4, at + 16);
    // The RC4'd random pad goes out as zeros, as the MS-NLMP 4.2.2.4 example shows (no peer checks it).
    out.fill(0, at + 4, at + 8);
  }

  /** Unseal first, then compare checksum and sequence number (the random pad is not checked). */
  verifyPdu(pdu: Uint8Array, signature: Uint8Array, seal: boolean, start = 0, end = pdu.length): boolean {
    if (seal) this.rc4.process(pdu, start, end);
    const expect = this.signPdu(pdu, false, start, end);
    return signature.length === NTLMSSP_SIGNATURE_LENGTH && constantTimeEqual(expect.subarray(8), signature.subarray(8));
  }
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE 802.3, as zlib) of data[start, end). */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
