/**
 * Per-connection auth contexts (one per auth_context_id, MS-RPCE 3.3.1.5.2) and the layout of
 * protected response fragments: stub, auth padding to 16, sec_trailer, verifier.
 */
import type { Logger } from 'pino';
import { AuthLevel, AuthRejected, type ConnectionInfo, type SecurityContext, type SecurityProvider } from './security';
import { AUTH_PAD_ALIGNMENT, BindNakReason, FaultStatus, Pfc, RESPONSE_HEADER_LENGTH, SEC_TRAILER_LENGTH } from './constants';
import { type OutgoingAuth, type SecTrailer, encodeResponseFragment, writeResponseHeader, writeSecTrailer } from './pdu';

export interface AuthState {
  readonly authContextId: number;
  readonly authType: number;
  readonly authLevel: AuthLevel;
  readonly provider: SecurityProvider;
  readonly security: SecurityContext;
  complete: boolean;
  /**
   * Set when the context became unusable (a refused leg, an AUTH3 that left the exchange
   * unfinished, a level the negotiated context cannot protect): the fault status every later
   * request on it gets, before the connection closes.
   */
  failure: number | undefined;
}

/** The auth contexts of one connection, by auth_context_id, and their legs. */
export class AuthContexts {
  private readonly byId = new Map<number, AuthState>();

  constructor(
    private readonly providers: { provider(authType: number): SecurityProvider | undefined },
    private readonly max: number,
    private readonly conn: ConnectionInfo,
    private readonly log: () => Logger,
  ) {}

  get(id: number): AuthState | undefined {
    return this.byId.get(id);
  }

  /** The finished context at level connect, if any: requests without a trailer belong to it. */
  connectLevel(): AuthState | undefined {
    for (const a of this.byId.values()) if (a.complete && a.failure === undefined && a.authLevel === AuthLevel.Connect) return a;
    return undefined;
  }

  /** No new auth_context_id fits (MS-RPCE 3.3.1.5.4: a further one is a protocol error). */
  get full(): boolean {
    if (this.byId.size < this.max) return false;
    this.log().warn({ limit: this.max }, 'auth context limit reached');
    return true;
  }

  /**
   * A new context from a bind or alter_context leg: the token to send back, or a bind_nak
   * reason. `headerSigning`: PFC_SUPPORT_HEADER_SIGN is in force for this connection.
   */
  start(st: SecTrailer, headerSigning: boolean): OutgoingAuth | number {
    if (st.authLevel < AuthLevel.Connect || st.authLevel > AuthLevel.Privacy) return BindNakReason.NOT_SPECIFIED;
    // MS-RPCE 2.2.1.1.8: level call must be treated as packet. No client asks for it; Windows
    // and Samba refuse it with bind_nak 9, and so do we rather than run unverified calls on it.
    if (st.authLevel === AuthLevel.Call) return BindNakReason.INVALID_CHECKSUM;
    if (this.full) return BindNakReason.LOCAL_LIMIT_EXCEEDED;
    const provider = this.providers.provider(st.authType);
    if (!provider) {
      this.log().info({ authType: st.authType }, 'unknown auth type');
      return BindNakReason.AUTHENTICATION_TYPE_NOT_RECOGNIZED;
    }
    const security = provider.newContext(this.conn, { authLevel: st.authLevel as AuthLevel, headerSigning });
    const state: AuthState = {
      authContextId: st.authContextId, authType: st.authType, authLevel: st.authLevel as AuthLevel,
      provider, security, complete: false, failure: undefined,
    };
    try {
      const r = security.accept(Buffer.from(st.authValue));
      state.complete = r.complete;
      if (r.complete && !levelServed(state)) return BindNakReason.INVALID_CHECKSUM;
      this.byId.set(st.authContextId, state);
      return { authType: st.authType, authLevel: st.authLevel, authContextId: st.authContextId, token: r.token ?? Buffer.alloc(0) };
    } catch (err) {
      if (err instanceof AuthRejected || (err as Error)?.name === 'AuthRejected') {
        this.log().info({ provider: provider.name, why: (err as Error).message }, 'auth rejected');
        return (err as AuthRejected).bindNakReason ?? BindNakReason.INVALID_CHECKSUM;
      }
      this.log().error({ err, provider: provider.name }, 'security provider failed');
      return BindNakReason.NOT_SPECIFIED;
    }
  }

  /**
   * A further leg (alter_context, auth3): the token to return, or undefined when refused; the
   * context's `failure` then says which fault (0x5 for a refused leg, rpc_s_sec_pkg_error for a
   * level the context cannot protect, as Samba's dcesrv_alter_done).
   */
  continueLeg(a: AuthState, token: Buffer): Buffer | undefined {
    try {
      const r = a.security.accept(Buffer.from(token));
      a.complete = r.complete;
      if (r.complete && !levelServed(a)) {
        this.log().warn({ level: a.authLevel, authType: a.authType }, 'negotiated security context cannot protect PDUs at the requested level');
        a.failure = FaultStatus.SEC_PKG_ERROR;
        return undefined;
      }
      return r.token ?? Buffer.alloc(0);
    } catch (err) {
      a.failure = FaultStatus.ACCESS_DENIED;
      if ((err as Error)?.name === 'AuthRejected') this.log().info({ why: (err as Error).message }, 'auth leg rejected');
      else this.log().error({ err }, 'security provider failed');
      return undefined;
    }
  }
}

/** Packet, integrity and privacy need a context that signs (and seals); connect needs nothing. */
function levelServed(a: AuthState): boolean {
  return !isProtected(a.authLevel) || a.security.supportsLevel?.(a.authLevel) !== false;
}

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

/** Levels at which every request and response PDU carries a verifier. */
export function isProtected(level: AuthLevel): boolean {
  return level >= AuthLevel.Packet;
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
