/**
 * Protected PDUs (MS-RPCE 2.2.2.11, 3.3.1.5.2.2): a request fragment checked (and unsealed)
 * against its auth context, and a response stub split into fragments of stub, auth padding to
 * 16, sec_trailer and verifier.
 */
import { isProtected } from './security';
import type { AuthState } from './auth-state';
import { AUTH_PAD_ALIGNMENT, FaultStatus, Pfc, RESPONSE_HEADER_LENGTH, SEC_TRAILER_LENGTH } from './constants';
import { type SecTrailer, encodeResponseFragment, writeResponseHeader, writeSecTrailer } from './pdu';

/** Why a request fragment is refused: the fault status and a reason for the log. */
export interface Refusal {
  readonly status: number;
  readonly why: string;
}

/**
 * Check (and for privacy unseal) a request fragment against the auth context it belongs to
 * (MS-RPCE 3.3.1.5.2.2): the end of its stub, or why it is refused. A trailer naming no usable
 * context → 0x5; a protected level without a trailer → protocol error; a bad verifier →
 * rpc_s_sec_pkg_error (what Windows and Samba answer).
 */
export function checkRequestAuth(
  pdu: Buffer, fragLength: number, stubOffset: number, st: SecTrailer | undefined, auth: AuthState | undefined,
): number | Refusal {
  if (auth === undefined) return st ? { status: FaultStatus.ACCESS_DENIED, why: 'request names no usable auth context' } : fragLength;
  if (auth.failure !== undefined) return { status: auth.failure, why: 'request on an unusable auth context' };
  const level = auth.authLevel;
  if (!st) return isProtected(level) ? { status: FaultStatus.NCA_S_PROTO_ERROR, why: 'protected request without a verifier' } : fragLength;
  if (isProtected(level)) {
    try {
      auth.security.unprotect(pdu.subarray(0, st.offset + SEC_TRAILER_LENGTH), stubOffset, st.offset, level, st.authValue);
    } catch (err) {
      return { status: FaultStatus.SEC_PKG_ERROR, why: `bad verifier: ${(err as Error).message}` };
    }
  }
  return st.offset - st.authPadLength;
}

export interface ResponseArgs {
  readonly callId: number;
  readonly contextId: number;
  readonly le: boolean;
  readonly maxXmitFrag: number;
  readonly stub: Buffer;
  readonly auth: AuthState | undefined;
}

/** Split a response stub into fragments of at most maxXmitFrag bytes, protecting each. */
export function buildResponseFragments(a: ResponseArgs): Buffer[] {
  const out: Buffer[] = [];
  const prot = a.auth !== undefined && isProtected(a.auth.authLevel) ? a.auth : undefined;
  const sigLen = prot ? prot.security.signatureLength : 0;
  // Stub bytes per fragment: a multiple of 16 with auth (so padding stays inside), of 8 without.
  const room = prot
    ? Math.floor((a.maxXmitFrag - RESPONSE_HEADER_LENGTH - SEC_TRAILER_LENGTH - sigLen) / AUTH_PAD_ALIGNMENT) * AUTH_PAD_ALIGNMENT
    : Math.floor((a.maxXmitFrag - RESPONSE_HEADER_LENGTH) / 8) * 8;
  if (room <= 0) throw new Error(`fragment size ${a.maxXmitFrag} leaves no room for stub data`);
  let pos = 0;
  do {
    const chunkLen = Math.min(room, a.stub.length - pos);
    const chunk = a.stub.subarray(pos, pos + chunkLen);
    const allocHint = a.stub.length - pos;
    let flags = 0;
    if (pos === 0) flags |= Pfc.FIRST_FRAG;
    pos += chunkLen;
    if (pos >= a.stub.length) flags |= Pfc.LAST_FRAG;
    if (!prot) {
      out.push(encodeResponseFragment(a.callId, a.le, flags, allocHint, a.contextId, chunk));
      continue;
    }
    const pad = (AUTH_PAD_ALIGNMENT - (chunkLen % AUTH_PAD_ALIGNMENT)) % AUTH_PAD_ALIGNMENT;
    const stubEnd = RESPONSE_HEADER_LENGTH + chunkLen + pad;
    const fragLength = stubEnd + SEC_TRAILER_LENGTH + sigLen;
    const buf = Buffer.alloc(fragLength);
    writeResponseHeader(buf, a.le, a.callId, flags, fragLength, sigLen, allocHint, a.contextId);
    chunk.copy(buf, RESPONSE_HEADER_LENGTH);
    writeSecTrailer(buf, stubEnd, a.le, {
      authType: prot.authType, authLevel: prot.authLevel, authPadLength: pad, authContextId: prot.authContextId,
    });
    const sig = prot.security.protect(buf.subarray(0, stubEnd + SEC_TRAILER_LENGTH), RESPONSE_HEADER_LENGTH, stubEnd, prot.authLevel);
    if (sig.length !== sigLen) throw new Error(`security provider returned a ${sig.length}-byte verifier, announced ${sigLen}`);
    sig.copy(buf, stubEnd + SEC_TRAILER_LENGTH);
    out.push(buf);
  } while (pos < a.stub.length);
  return out;
}
