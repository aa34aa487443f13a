/**
 * Per-connection auth contexts (one per auth_context_id, MS-RPCE 3.3.1.5.2) and their legs.
 * What protection does to PDUs is in src/rpc/pdu.ts.
 */
import type { Logger } from 'pino';
import { AuthLevel, AuthRejected, type AuthState, AuthType, type ConnectionInfo, type SecurityProvider, isProtected } from './security';
import { BindNakReason, FaultStatus, MAX_AUTH3_AUTH_LENGTH } from './constants';
import { type OutgoingAuth, type Refusal, type SecTrailer, legTrailerFlaw } from './pdu';
import type { ResolvedOptions } from './options';

/** What the auth contexts read from their connection (not copied into each table). */
export interface AuthOwner {
  readonly host: { provider(authType: number): SecurityProvider | undefined; readonly options: ResolvedOptions };
  readonly stream: ConnectionInfo;
  readonly log: Logger;
}

/**
 * A bind or alter_context leg judged so far: its token is read once the presentation contexts
 * are negotiated, as Samba's dcesrv_bind and dcesrv_alter do (checked there against Windows).
 */
export interface PendingLeg {
  readonly state: AuthState;
  /** The leg starts this context: it is kept once its first token was accepted. */
  readonly fresh: boolean;
  /** A refusal that waits for the contexts (their protocol errors are answered first). */
  readonly later: Refusal | undefined;
}

/** The trailer names the context's own auth type and level. */
export function sameAuth(st: SecTrailer, a: AuthState): boolean {
  return a.authType === st.authType && a.authLevel === st.authLevel;
}

/** The auth contexts of one connection, by auth_context_id, and their legs. */
export class AuthContexts {
  private readonly byId = new Map<number, AuthState>();
  /** The last context started at level connect: requests without a trailer belong to it. */
  private connectDefault: AuthState | undefined = undefined;

  constructor(private readonly conn: AuthOwner) {}

  get(id: number): AuthState | undefined {
    return this.byId.get(id);
  }

  /**
   * The context a request without a trailer belongs to, in whatever state it is: a context at
   * level connect puts no trailer on requests, and one its AUTH3 left unusable must refuse them
   * rather than let them run anonymously (Samba's default_auth_level_connect, raw_protocol
   * _test_auth_pad_raw: such a request gets 0x5 as Windows answers).
   */
  connectLevel(): AuthState | undefined {
    return this.connectDefault;
  }

  /** No new auth_context_id fits (MS-RPCE 3.3.1.5.4: a further one is a protocol error). */
  get full(): boolean {
    const limit = this.conn.host.options.limits.maxAuthContextsPerConnection;
    if (this.byId.size < limit) return false;
    this.conn.log.warn({ limit }, 'auth context limit reached');
    return true;
  }

  /**
   * A bind's leg, judged after its presentation contexts (Samba's dcesrv_auth_bind), or an
   * alter_context's, judged before them (dcesrv_auth_alter): a leg on a finished context, a
   * malformed trailer, a context that cannot start and auth type none are refused at once;
   * another type or level, or a context an AUTH3 spoiled, only after the contexts were
   * negotiated (their protocol errors come first).
   */
  leg(st: SecTrailer, bind: boolean, headerSigning: boolean): PendingLeg | Refusal {
    const a = bind ? undefined : this.byId.get(st.authContextId);
    if (a?.complete) return { status: FaultStatus.ACCESS_DENIED, why: 'a leg on a finished auth context' };
    if (!bind && !a && this.full) return { status: FaultStatus.NCA_S_PROTO_ERROR, why: 'auth context limit reached' };
    const flaw = legTrailerFlaw(st);
    if (flaw) {
      const nak = flaw === 'offset' ? BindNakReason.NOT_SPECIFIED : BindNakReason.PROTOCOL_VERSION_NOT_SUPPORTED;
      return { status: FaultStatus.NCA_S_PROTO_ERROR, nak, why: `sec_trailer: ${flaw}` };
    }
    if (!a) {
      const state = this.prepare(st, headerSigning);
      if (typeof state === 'number') return { status: FaultStatus.ACCESS_DENIED, nak: state, why: 'auth refused' };
      return { state, fresh: true, later: undefined };
    }
    if (st.authType === AuthType.None) return { status: FaultStatus.ACCESS_DENIED, why: 'auth type none on a leg' };
    let later: Refusal | undefined;
    if (a.authType !== st.authType) later = { status: FaultStatus.SEC_PKG_ERROR, why: 'auth type changed between legs' };
    else if (a.failure !== undefined) later = { status: FaultStatus.ACCESS_DENIED, why: 'a leg on a refused auth context' };
    else if (a.authLevel !== st.authLevel) later = { status: FaultStatus.ACCESS_DENIED, why: 'auth level changed between legs' };
    return { state: a, fresh: false, later };
  }

  /** Read a pending leg's token: the auth to send back, or why the leg is refused. */
  runLeg(leg: PendingLeg, token: Buffer): OutgoingAuth | Refusal {
    const a = leg.state;
    if (leg.fresh) {
      const r = this.first(a, token);
      return typeof r === 'number' ? { status: FaultStatus.ACCESS_DENIED, nak: r, why: 'auth refused' } : r;
    }
    const out = this.continueLeg(a, token);
    if (out === undefined) return { status: a.failure ?? FaultStatus.ACCESS_DENIED, nak: BindNakReason.INVALID_CHECKSUM, why: 'auth leg refused' };
    return { authType: a.authType, authLevel: a.authLevel, authContextId: a.authContextId, token: out };
  }

  /**
   * A new context (Samba's dcesrv_auth_prepare_gensec): its state, not kept yet, or a bind_nak
   * reason. An unknown provider is named before level call (raw_protocol test_auth_none_call_bind:
   * bind_nak 8, test_spnego_call_bind: 9).
   */
  private prepare(st: SecTrailer, headerSigning: boolean): AuthState | number {
    if (st.authLevel < AuthLevel.Connect || st.authLevel > AuthLevel.Privacy) return BindNakReason.NOT_SPECIFIED;
    if (this.full) return BindNakReason.LOCAL_LIMIT_EXCEEDED;
    const provider = this.conn.host.provider(st.authType);
    if (!provider) {
      this.conn.log.info({ authType: st.authType }, 'unknown auth type');
      return BindNakReason.AUTHENTICATION_TYPE_NOT_RECOGNIZED;
    }
    // MS-RPCE 2.2.1.1.8: level call must be treated as packet. No client asks for it; Windows
    // and Samba refuse it with bind_nak 9, and so do we rather than run unverified calls on it.
    if (st.authLevel === AuthLevel.Call) return BindNakReason.INVALID_CHECKSUM;
    const security = provider.newContext(this.conn.stream, { authLevel: st.authLevel as AuthLevel, headerSigning });
    return {
      authContextId: st.authContextId, authType: st.authType, authLevel: st.authLevel as AuthLevel,
      provider, security, complete: false, failure: undefined,
    };
  }

  /** The first token of a new context: the auth to send back (the context is kept), or a bind_nak reason. */
  private first(state: AuthState, token: Buffer): OutgoingAuth | number {
    try {
      const r = state.security.accept(Buffer.from(token));
      state.complete = r.complete;
      if (r.complete && !this.levelServed(state)) return BindNakReason.INVALID_CHECKSUM;
      this.byId.set(state.authContextId, state);
      if (state.authLevel === AuthLevel.Connect) this.connectDefault = state;
      return { authType: state.authType, authLevel: state.authLevel, authContextId: state.authContextId, token: r.token ?? Buffer.alloc(0) };
    } catch (err) {
      if (err instanceof AuthRejected || (err as Error)?.name === 'AuthRejected') {
        this.conn.log.info({ provider: state.provider.name, why: (err as Error).message }, 'auth rejected');
        return (err as AuthRejected).bindNakReason ?? BindNakReason.INVALID_CHECKSUM;
      }
      this.conn.log.error({ err, provider: state.provider.name }, 'security provider failed');
      return BindNakReason.NOT_SPECIFIED;
    }
  }

  /**
   * AUTH3, the last leg: the fault that ends the connection, or undefined (AUTH3 has no answer).
   * Judged in Samba's order (dcesrv_auth_prepare_auth3, checked against Windows): its size, the
   * context it names, its trailer, its type and level. A leg that leaves the exchange unfinished
   * or a token unsent spoils the context for good (Samba's dcesrv_auth_complete): the next
   * request on it gets 0x5.
   */
  auth3(st: SecTrailer): Refusal | undefined {
    if (st.authValue.length > MAX_AUTH3_AUTH_LENGTH) return { status: FaultStatus.NCA_S_PROTO_ERROR, why: `auth3 auth_length ${st.authValue.length}` };
    const a = this.byId.get(st.authContextId);
    if (!a || a.complete || a.failure !== undefined) return { status: FaultStatus.NCA_S_PROTO_ERROR, why: 'auth3 for no auth context in progress' };
    const flaw = legTrailerFlaw(st);
    if (flaw) {
      a.failure = FaultStatus.ACCESS_DENIED;
      // Windows answers nca_s_fault_remote_no_memory for most auth3 errors (Samba's comment there).
      return { status: flaw === 'offset' ? FaultStatus.NCA_S_PROTO_ERROR : FaultStatus.NCA_S_FAULT_REMOTE_NO_MEMORY, why: `auth3 sec_trailer: ${flaw}` };
    }
    if (!sameAuth(st, a)) {
      a.failure = FaultStatus.ACCESS_DENIED;
      return { status: FaultStatus.NCA_S_PROTO_ERROR, why: 'auth type or level changed in auth3' };
    }
    const token = this.continueLeg(a, st.authValue);
    if (token !== undefined && (!a.complete || token.length > 0)) {
      this.conn.log.info({ authContextId: a.authContextId }, 'auth3 did not finish the security context');
      a.failure = FaultStatus.ACCESS_DENIED;
    }
    return undefined;
  }

  /**
   * A further leg (alter_context, auth3): the token to return, or undefined when refused; the
   * context's `failure` then says which fault (0x5 for a refused leg, rpc_s_sec_pkg_error for a
   * level the context cannot protect, as Samba's dcesrv_alter_done).
   */
  private continueLeg(a: AuthState, token: Buffer): Buffer | undefined {
    try {
      const r = a.security.accept(Buffer.from(token));
      a.complete = r.complete;
      if (r.complete && !this.levelServed(a)) return undefined;
      return r.token ?? Buffer.alloc(0);
    } catch (err) {
      a.failure = FaultStatus.ACCESS_DENIED;
      if ((err as Error)?.name === 'AuthRejected') this.conn.log.info({ why: (err as Error).message }, 'auth leg refused');
      else this.conn.log.error({ err }, 'security provider failed');
      return undefined;
    }
  }

  /**
   * Whether a finished context can protect PDUs at its level. Privacy without sealing refuses the
   * leg that finished it (0x721, as Windows: raw_protocol test_spnego_privacy_bind_sign). Packet
   * or integrity without signing is a decision (issue 23, rule 8): the legs complete and every
   * request on the context faults 0x721 and closes, as Windows 2022 and Samba 4.22 answer
   * (test_spnego_integrity_bind_none, test_spnego_packet_bind_none). Refusing at the last leg
   * would read MS-RPCE 3.3.1.5.2.2 as literally, but it marks witnessd as not Windows, and it
   * protects nothing more: no call ever runs on such a context, signed or not.
   */
  private levelServed(a: AuthState): boolean {
    if (!isProtected(a.authLevel) || a.security.supportsLevel?.(a.authLevel) !== false) return true;
    this.conn.log.warn({ level: a.authLevel, authType: a.authType }, 'negotiated security context cannot protect PDUs at the requested level');
    a.failure = FaultStatus.SEC_PKG_ERROR;
    return a.authLevel !== AuthLevel.Privacy;
  }
}
