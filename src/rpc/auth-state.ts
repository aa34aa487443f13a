/**
 * Per-connection auth contexts (one per auth_context_id, MS-RPCE 3.3.1.5.2) and their legs.
 * What protection does to PDUs is in src/rpc/pdu.ts.
 */
import type { Logger } from 'pino';
import { AuthLevel, AuthRejected, type AuthState, type ConnectionInfo, type SecurityProvider, isProtected } from './security';
import { BindNakReason, FaultStatus } from './constants';
import type { OutgoingAuth, Refusal, SecTrailer } from './pdu';
import type { ResolvedOptions } from './options';

/** What the auth contexts read from their connection (not copied into each table). */
export interface AuthOwner {
  readonly host: { provider(authType: number): SecurityProvider | undefined; readonly options: ResolvedOptions };
  readonly stream: ConnectionInfo;
  readonly log: Logger;
}

/** The auth contexts of one connection, by auth_context_id, and their legs. */
export class AuthContexts {
  private readonly byId = new Map<number, AuthState>();

  constructor(private readonly conn: AuthOwner) {}

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
    const limit = this.conn.host.options.limits.maxAuthContextsPerConnection;
    if (this.byId.size < limit) return false;
    this.conn.log.warn({ limit }, 'auth context limit reached');
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
    const provider = this.conn.host.provider(st.authType);
    if (!provider) {
      this.conn.log.info({ authType: st.authType }, 'unknown auth type');
      return BindNakReason.AUTHENTICATION_TYPE_NOT_RECOGNIZED;
    }
    const security = provider.newContext(this.conn.stream, { authLevel: st.authLevel as AuthLevel, headerSigning });
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
        this.conn.log.info({ provider: provider.name, why: (err as Error).message }, 'auth rejected');
        return (err as AuthRejected).bindNakReason ?? BindNakReason.INVALID_CHECKSUM;
      }
      this.conn.log.error({ err, provider: provider.name }, 'security provider failed');
      return BindNakReason.NOT_SPECIFIED;
    }
  }

  /**
   * AUTH3, the last leg: a protocol error, or undefined. A leg that leaves the exchange unfinished
   * or a token unsent spoils the context for good (Samba's dcesrv_auth_complete).
   */
  auth3(st: SecTrailer): Refusal | undefined {
    const a = this.byId.get(st.authContextId);
    if (!a || a.complete || a.failure !== undefined) return { status: FaultStatus.NCA_S_PROTO_ERROR, why: 'auth3 for no auth context in progress' };
    if (a.authType !== st.authType || a.authLevel !== st.authLevel) {
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
  continueLeg(a: AuthState, token: Buffer): Buffer | undefined {
    try {
      const r = a.security.accept(Buffer.from(token));
      a.complete = r.complete;
      if (r.complete && !levelServed(a)) {
        this.conn.log.warn({ level: a.authLevel, authType: a.authType }, 'negotiated security context cannot protect PDUs at the requested level');
        a.failure = FaultStatus.SEC_PKG_ERROR;
        return undefined;
      }
      return r.token ?? Buffer.alloc(0);
    } catch (err) {
      a.failure = FaultStatus.ACCESS_DENIED;
      if ((err as Error)?.name === 'AuthRejected') this.conn.log.info({ why: (err as Error).message }, 'auth leg rejected');
      else this.conn.log.error({ err }, 'security provider failed');
      return undefined;
    }
  }
}

/** Why a further bind/alter_context leg of `a` is refused before its token is read (Samba's dcesrv_alter). */
export function refusedLeg(a: AuthState, st: SecTrailer): Refusal | undefined {
  if (a.failure !== undefined) return { status: FaultStatus.ACCESS_DENIED, why: 'a leg on a refused auth context' };
  if (a.complete) return { status: FaultStatus.ACCESS_DENIED, why: 'a leg on a finished auth context' };
  if (a.authType !== st.authType) return { status: FaultStatus.SEC_PKG_ERROR, why: 'auth type changed between legs' };
  if (a.authLevel !== st.authLevel) return { status: FaultStatus.ACCESS_DENIED, why: 'auth level changed between legs' };
  return undefined;
}

/** Packet, integrity and privacy need a context that signs (and seals); connect needs nothing. */
function levelServed(a: AuthState): boolean {
  return !isProtected(a.authLevel) || a.security.supportsLevel?.(a.authLevel) !== false;
}
