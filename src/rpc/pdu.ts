/**
 * Connection-oriented PDU layouts (C706 12.6, MS-RPCE 2.2.2): decoding what clients send and
 * encoding what the server sends. The 16-byte common header is read field by field (a
 * compiled binary-parser per byte order cost 2-3 µs of the ~17 µs an ept_map takes; see
 * the commit that replaced it); bodies with a WireReader; encoding is ours.
 */
import type { SyntaxId } from '../ndr/dispatch';
import {
  AUTH_PAD_ALIGNMENT, FaultStatus, HEADER_LENGTH, PType, Pfc, REQUEST_HEADER_LENGTH, RESPONSE_HEADER_LENGTH, SEC_TRAILER_ALIGNMENT, SEC_TRAILER_LENGTH,
  FAULT_LENGTH,
} from './constants';
import { type AuthState, isProtected } from './security';
import { PduError, WireReader, WireWriter } from './wire';
import { LastMemo } from '../lib/last-memo';

export interface PduHeader {
  readonly rpcVers: number;
  readonly rpcVersMinor: number;
  readonly ptype: number;
  readonly pfcFlags: number;
  /** The four drep bytes as they came, as one big-endian number (for comparisons). */
  readonly drep: number;
  /** drep[0] bit 0x10: little-endian integers. */
  readonly le: boolean;
  readonly fragLength: number;
  readonly authLength: number;
  readonly callId: number;
}

/** drep byte 0, high nibble: 1 = little-endian integers. */
export function isLittleEndian(drep0: number): boolean {
  return (drep0 & 0x10) !== 0;
}

/** frag_length of the PDU starting at buf[0] (needs 10 bytes). */
export function peekFragLength(buf: Buffer): number {
  return isLittleEndian(buf[4]) ? buf.readUInt16LE(8) : buf.readUInt16BE(8);
}

export function decodeHeader(pdu: Buffer): PduHeader {
  if (pdu.length < HEADER_LENGTH) throw new PduError('PDU shorter than its header');
  const le = isLittleEndian(pdu[4]);
  return {
    rpcVers: pdu[0],
    rpcVersMinor: pdu[1],
    ptype: pdu[2],
    pfcFlags: pdu[3],
    drep: pdu.readUInt32BE(4),
    le,
    fragLength: le ? pdu.readUInt16LE(8) : pdu.readUInt16BE(8),
    authLength: le ? pdu.readUInt16LE(10) : pdu.readUInt16BE(10),
    callId: le ? pdu.readUInt32LE(12) : pdu.readUInt32BE(12),
  };
}

/** sec_trailer (MS-RPCE 2.2.2.11) and the auth_value after it. */
export interface SecTrailer {
  readonly authType: number;
  readonly authLevel: number;
  readonly authPadLength: number;
  readonly authContextId: number;
  /** Offset of the sec_trailer inside the PDU. */
  readonly offset: number;
  readonly authValue: Buffer;
}

/**
 * Locate the sec_trailer of a PDU with auth_length > 0: at frag_length - auth_length - 8, so
 * bytes between the body and it are ignored (Windows clients reuse bind buffers with a lowered
 * context count). bodyStart is where the body begins. checkPad: auth_pad_length must fit in the
 * body (requests; bind, alter_context and auth3 are judged by legTrailerFlaw).
 */
export function decodeSecTrailer(pdu: Buffer, h: PduHeader, bodyStart: number, checkPad = true): SecTrailer {
  const offset = h.fragLength - h.authLength - SEC_TRAILER_LENGTH;
  if (offset < bodyStart) throw new PduError('auth_length larger than the PDU');
  const r = new WireReader(pdu, offset, h.fragLength, h.le);
  const authType = r.u8();
  const authLevel = r.u8();
  const authPadLength = r.u8();
  r.u8(); // auth_reserved
  const authContextId = r.u32();
  if (checkPad && offset - authPadLength < bodyStart) throw new PduError('auth_pad_length larger than the body');
  return { authType, authLevel, authPadLength, authContextId, offset, authValue: pdu.subarray(offset + SEC_TRAILER_LENGTH, h.fragLength) };
}

/**
 * What is wrong with the sec_trailer of a bind, alter_context or auth3, if anything (Samba 4.22's
 * dcerpc_pull_auth_trailer, which Samba checks against Windows 2022): 'offset' when it does not
 * start on a 4-byte boundary; 'pad' when auth_pad_length is not 0, since these PDUs have no stub
 * to pad (Samba commit be02d4077db, "how Windows 2022 behaves"; Windows 2012 R2 ignored it).
 * Each PDU type answers them its own way (see Connection and AuthContexts).
 */
export function legTrailerFlaw(st: SecTrailer): 'offset' | 'pad' | undefined {
  if (st.offset % SEC_TRAILER_ALIGNMENT !== 0) return 'offset';
  return st.authPadLength !== 0 ? 'pad' : undefined;
}

export interface ContextElement {
  readonly contextId: number;
  readonly abstractSyntax: SyntaxId;
  readonly transferSyntaxes: readonly SyntaxId[];
  /** Raw wire bytes of each transfer syntax's UUID tail (bind-time feature bits live there). */
  readonly transferRaw: readonly Buffer[];
}

export interface BindBody {
  readonly maxXmitFrag: number;
  readonly maxRecvFrag: number;
  readonly assocGroupId: number;
  readonly contexts: readonly ContextElement[];
}

/** bind and alter_context share one body (C706 12.6.4.3 / 12.6.4.1). */
export function decodeBind(pdu: Buffer, h: PduHeader, end: number): BindBody {
  const r = new WireReader(pdu, HEADER_LENGTH, end, h.le);
  const maxXmitFrag = r.u16();
  const maxRecvFrag = r.u16();
  const assocGroupId = r.u32();
  const n = r.u8();
  r.skip(3);
  const contexts: ContextElement[] = [];
  for (let i = 0; i < n; i++) {
    const contextId = r.u16();
    const nTransfer = r.u8();
    r.skip(1);
    const abstractSyntax = r.syntax();
    const transferSyntaxes: SyntaxId[] = [];
    const transferRaw: Buffer[] = [];
    for (let j = 0; j < nTransfer; j++) {
      transferRaw.push(pdu.subarray(r.off + 8, r.off + 16));
      transferSyntaxes.push(r.syntax());
    }
    contexts.push({ contextId, abstractSyntax, transferSyntaxes, transferRaw });
  }
  return { maxXmitFrag, maxRecvFrag, assocGroupId, contexts };
}

export interface RequestBody {
  readonly allocHint: number;
  readonly contextId: number;
  readonly opnum: number;
  readonly object: string | undefined;
  /** Offset of the stub inside the PDU. */
  readonly stubOffset: number;
}

export function decodeRequest(pdu: Buffer, h: PduHeader): RequestBody {
  const r = new WireReader(pdu, HEADER_LENGTH, h.fragLength, h.le);
  const allocHint = r.u32();
  const contextId = r.u16();
  const opnum = r.u16();
  const object = h.pfcFlags & Pfc.OBJECT_UUID ? r.uuid() : undefined;
  return { allocHint, contextId, opnum, object, stubOffset: r.off };
}

function header(w: WireWriter, ptype: number, flags: number, fragLength: number, authLength: number, callId: number): void {
  w.u8(5).u8(0).u8(ptype).u8(flags);
  // drep: integers in w's byte order, ASCII characters, IEEE floats.
  w.u8(w.le ? 0x10 : 0x00).u8(0).u8(0).u8(0);
  w.u16(fragLength).u16(authLength).u32(callId);
}

export interface AckContextResult {
  readonly result: number;
  /** Provider reason, or the negotiated feature bits for negotiate_ack. */
  readonly reason: number;
  readonly transferSyntax: SyntaxId;
}

export interface OutgoingAuth {
  readonly authType: number;
  readonly authLevel: number;
  readonly authContextId: number;
  readonly token: Buffer;
}

const NULL_SYNTAX: SyntaxId = { uuid: '00000000-0000-0000-0000-000000000000', major: 0, minor: 0 };
export { NULL_SYNTAX };

/** bind_ack or alter_context_resp (C706 12.6.4.4 / 12.6.4.2). */
export function encodeBindAck(args: {
  ptype: number; callId: number; le: boolean; flags: number;
  maxXmitFrag: number; maxRecvFrag: number; assocGroupId: number;
  secondaryAddress: string; results: readonly AckContextResult[]; auth?: OutgoingAuth;
}): Buffer {
  // port_any_t: length including the NUL, then the characters; empty address has length 0.
  const sec = args.secondaryAddress.length ? Buffer.from(args.secondaryAddress + '\0', 'latin1') : Buffer.alloc(0);
  let len = HEADER_LENGTH + 8 + 2 + sec.length;
  len += (4 - (len % 4)) % 4;
  len += 4 + 24 * args.results.length;
  const authLen = args.auth ? args.auth.token.length : 0;
  if (args.auth) len += SEC_TRAILER_LENGTH + authLen;
  const w = new WireWriter(Buffer.alloc(len), args.le);
  header(w, args.ptype, args.flags, len, authLen, args.callId);
  w.u16(args.maxXmitFrag).u16(args.maxRecvFrag).u32(args.assocGroupId);
  w.u16(sec.length).bytes(sec).alignZero(4);
  w.u8(args.results.length).zeros(3);
  for (const r of args.results) w.u16(r.result).u16(r.reason).syntax(r.transferSyntax);
  if (args.auth) {
    // The body is 4-aligned here, so the sec_trailer needs no padding.
    w.u8(args.auth.authType).u8(args.auth.authLevel).u8(0).u8(0).u32(args.auth.authContextId).bytes(args.auth.token);
  }
  return w.buf;
}

/** bind_nak (C706 12.6.4.5): reason, one supported protocol version (5.0), padding. */
export function encodeBindNak(callId: number, le: boolean, reason: number): Buffer {
  const len = HEADER_LENGTH + 8;
  const w = new WireWriter(Buffer.alloc(len), le);
  header(w, PType.BIND_NAK, Pfc.FIRST_FRAG | Pfc.LAST_FRAG, len, 0, callId);
  w.u16(reason).u8(1).u8(5).u8(0).zeros(3);
  return w.buf;
}

/** fault (C706 12.6.4.7): no stub, no verifier; alloc_hint 24 as current Samba servers send. */
export function encodeFault(callId: number, le: boolean, contextId: number, status: number, extraFlags = 0): Buffer {
  const w = new WireWriter(Buffer.alloc(FAULT_LENGTH), le);
  header(w, PType.FAULT, Pfc.FIRST_FRAG | Pfc.LAST_FRAG | extraFlags, FAULT_LENGTH, 0, callId);
  w.u32(24).u16(contextId).u8(0).u8(0).u32(status).u32(0);
  return w.buf;
}

/**
 * One response fragment without auth: header, alloc_hint, context id, cancel count, stub.
 * With auth the caller lays the PDU out itself (see Connection).
 */
export function encodeResponseFragment(callId: number, le: boolean, flags: number, allocHint: number, contextId: number, stub: Buffer): Buffer {
  const len = REQUEST_HEADER_LENGTH + stub.length;
  const w = new WireWriter(Buffer.allocUnsafe(len), le);
  header(w, PType.RESPONSE, flags, len, 0, callId);
  w.u32(allocHint).u16(contextId).u8(0).u8(0).bytes(stub);
  return w.buf;
}

/** Header + response body of an authenticated fragment; the caller fills stub, padding, trailer and verifier. */
export function writeResponseHeader(buf: Buffer, le: boolean, callId: number, flags: number, fragLength: number, authLength: number, allocHint: number, contextId: number): void {
  const w = new WireWriter(buf, le);
  header(w, PType.RESPONSE, flags, fragLength, authLength, callId);
  w.u32(allocHint).u16(contextId).u8(0).u8(0);
}

export function writeSecTrailer(buf: Buffer, off: number, le: boolean, t: { authType: number; authLevel: number; authPadLength: number; authContextId: number }): void {
  buf[off] = t.authType;
  buf[off + 1] = t.authLevel;
  buf[off + 2] = t.authPadLength;
  buf[off + 3] = 0;
  if (le) buf.writeUInt32LE(t.authContextId >>> 0, off + 4);
  else buf.writeUInt32BE(t.authContextId >>> 0, off + 4);
}

// ------------------------------------------------- protected PDUs (MS-RPCE 2.2.2.11, 3.3.1.5.2.2)

/** Why a PDU is refused: the fault status, a reason for the log, and the bind_nak reason for a bind. */
export interface Refusal {
  readonly status: number;
  readonly why: string;
  readonly nak?: number;
}

/**
 * Check (and for privacy unseal) a request fragment against the auth context it belongs to
 * (MS-RPCE 3.3.1.5.2.2): the end of its stub, or why it is refused. A trailer naming no usable
 * context → 0x5; a protected level without a trailer, or a trailer off its 4-byte boundary →
 * protocol error; a bad verifier → rpc_s_sec_pkg_error (what Windows and Samba answer).
 */
export function checkRequestAuth(
  pdu: Buffer, fragLength: number, stubOffset: number, st: SecTrailer | undefined, auth: AuthState | undefined,
): number | Refusal {
  if (auth === undefined) return st ? { status: FaultStatus.ACCESS_DENIED, why: 'request names no usable auth context' } : fragLength;
  if (auth.failure !== undefined) return { status: auth.failure, why: 'request on an unusable auth context' };
  const level = auth.authLevel;
  if (!st) return isProtected(level) ? { status: FaultStatus.NCA_S_PROTO_ERROR, why: 'protected request without a verifier' } : fragLength;
  // Windows 2022 and Samba 4.22 (raw_protocol test_spnego_integrity_bind_auth_align2).
  if (st.offset % SEC_TRAILER_ALIGNMENT !== 0) return { status: FaultStatus.NCA_S_PROTO_ERROR, why: 'sec_trailer not 4-byte aligned' };
  if (isProtected(level)) {
    try {
      auth.security.unprotect(pdu.subarray(0, st.offset + SEC_TRAILER_LENGTH), stubOffset, st.offset, level, st.authValue);
    } catch (err) {
      return { status: FaultStatus.SEC_PKG_ERROR, why: `bad verifier: ${(err as Error).message}` };
    }
  }
  return st.offset - st.authPadLength;
}

/**
 * The unprotected one-fragment response made last, as a template: the same stub to another
 * call (a fan-out's one response, encoded once: src/rpc/call.ts) differs only in call_id and
 * p_cont_id, which are patched into a copy. (The PDU was written to its socket: it is only read.)
 * Callgrind, 1,000 clients (scripts/bench/fanout-diag.ts): 15.4k -> 12.3k instructions per
 * delivery in the fan-out loop.
 */
const responseTemplates = new LastMemo<Buffer>();
/** Offsets of call_id (common header) and p_cont_id (response header). */
const CALL_ID_OFFSET = 12;
const CONTEXT_ID_OFFSET = 20;

function oneFragmentResponse(callId: number, le: boolean, contextId: number, stub: Buffer): Buffer {
  const template = responseTemplates.find(stub, le, undefined);
  if (template === undefined) {
    const made = encodeResponseFragment(callId, le, Pfc.FIRST_FRAG | Pfc.LAST_FRAG, stub.length, contextId, stub);
    responseTemplates.remember(stub, le, undefined, made);
    return made;
  }
  const pdu = Buffer.allocUnsafe(template.length);
  template.copy(pdu);
  if (le) {
    pdu.writeUInt32LE(callId >>> 0, CALL_ID_OFFSET);
    pdu.writeUInt16LE(contextId, CONTEXT_ID_OFFSET);
  } else {
    pdu.writeUInt32BE(callId >>> 0, CALL_ID_OFFSET);
    pdu.writeUInt16BE(contextId, CONTEXT_ID_OFFSET);
  }
  return pdu;
}

/** Split a call's response stub into fragments of at most maxXmitFrag bytes, protecting each. */
export function buildResponseFragments(
  call: { readonly callId: number; readonly contextId: number; readonly littleEndian: boolean; readonly auth: AuthState | undefined }, stub: Buffer, maxXmitFrag: number,
): Buffer[] {
  const { callId, littleEndian: le, auth } = call;
  // Windows answers with the context id's low 8 bits (Samba's raw_protocol tests against it);
  // C706 12.6.4.9 keeps 16. No client uses ids past 255, so we answer as Windows does.
  const contextId = call.contextId & 0xff;
  const out: Buffer[] = [];
  const prot = auth !== undefined && isProtected(auth.authLevel) ? auth : undefined;
  const sigLen = prot ? prot.security.signatureLength : 0;
  // Stub bytes per fragment: a multiple of 16 with auth (so padding stays inside), of 8 without.
  const room = prot
    ? Math.floor((maxXmitFrag - RESPONSE_HEADER_LENGTH - SEC_TRAILER_LENGTH - sigLen) / AUTH_PAD_ALIGNMENT) * AUTH_PAD_ALIGNMENT
    : Math.floor((maxXmitFrag - RESPONSE_HEADER_LENGTH) / 8) * 8;
  if (room <= 0) throw new Error(`fragment size ${maxXmitFrag} leaves no room for stub data`);
  if (!prot && stub.length <= room) return [oneFragmentResponse(callId, le, contextId, stub)];
  let pos = 0;
  do {
    const chunkLen = Math.min(room, stub.length - pos);
    const chunk = stub.subarray(pos, pos + chunkLen);
    const allocHint = stub.length - pos;
    let flags = 0;
    if (pos === 0) flags |= Pfc.FIRST_FRAG;
    pos += chunkLen;
    if (pos >= stub.length) flags |= Pfc.LAST_FRAG;
    if (!prot) {
      out.push(encodeResponseFragment(callId, le, flags, allocHint, contextId, chunk));
      continue;
    }
    const pad = (AUTH_PAD_ALIGNMENT - (chunkLen % AUTH_PAD_ALIGNMENT)) % AUTH_PAD_ALIGNMENT;
    const stubEnd = RESPONSE_HEADER_LENGTH + chunkLen + pad;
    const fragLength = stubEnd + SEC_TRAILER_LENGTH + sigLen;
    // Every byte is written below (header, stub, zeroed padding, trailer, verifier), so the
    // fragment may come from Node's buffer pool: Buffer.alloc gave each its own zeroed memory.
    const buf = Buffer.allocUnsafe(fragLength);
    writeResponseHeader(buf, le, callId, flags, fragLength, sigLen, allocHint, contextId);
    chunk.copy(buf, RESPONSE_HEADER_LENGTH);
    for (let i = RESPONSE_HEADER_LENGTH + chunkLen; i < stubEnd; i++) buf[i] = 0;
    writeSecTrailer(buf, stubEnd, le, {
      authType: prot.authType, authLevel: prot.authLevel, authPadLength: pad, authContextId: prot.authContextId,
    });
    const sec = prot.security;
    if (sec.protectInto) sec.protectInto(buf, RESPONSE_HEADER_LENGTH, stubEnd, prot.authLevel);
    else {
      const sig = sec.protect(buf.subarray(0, stubEnd + SEC_TRAILER_LENGTH), RESPONSE_HEADER_LENGTH, stubEnd, prot.authLevel);
      if (sig.length !== sigLen) throw new Error(`security provider returned a ${sig.length}-byte verifier, announced ${sigLen}`);
      sig.copy(buf, stubEnd + SEC_TRAILER_LENGTH);
    }
    out.push(buf);
  } while (pos < stub.length);
  return out;
}
