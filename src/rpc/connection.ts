/**
 * One connection-oriented DCE/RPC association on one TCP socket (framing and output in
 * src/rpc/pdu-stream.ts): bind and alter_context, auth legs, request reassembly, the calls in
 * flight, responses, faults, cancels. Many calls may be pending at once and answers leave in
 * any order.
 */
import type { Socket } from 'node:net';
import type { RpcInterface } from '../ndr/dispatch';
import { DispatchFault } from '../ndr/dispatch';
import { CallAborted, type CallAbortKind, type CallContext } from './call-context';
import { AuthLevel, type SecurityProvider } from './security';
import {
  BindNakReason, FaultStatus, HEADER_LENGTH, NDR64_SYNTAX, NDR_SYNTAX, PType, PTYPE_NAMES, Pfc, WINDOWS_MIN_FRAG_SIZE, faultName,
} from './constants';
import {
  type OutgoingAuth, type PduHeader, type SecTrailer, decodeBind, decodeHeader, decodeRequest, decodeSecTrailer, encodeBindAck, encodeBindNak,
  encodeFault,
} from './pdu';
import { PduError } from './wire';
import { AuthContexts, type AuthState, buildResponseFragments, checkRequestAuth } from './auth-state';
import type { AssociationGroup, AssociationGroupTable } from './association-group';
import { type PresentationContext, findContext, negotiateContexts } from './presentation';
import { popVerificationTrailer, checkVerificationTrailer } from './verification-trailer';
import { type CallOrigin, ServerCall } from './call';
import { Few } from '../lib/few';
import { NdrError } from '../ndr/errors';
import type { ResolvedOptions } from './options';
import { PduStream } from './pdu-stream';
import type { RpcStats } from './stats';

/** What a connection needs from the server that owns it. */
export interface ConnectionHost {
  readonly options: ResolvedOptions;
  readonly groups: AssociationGroupTable;
  readonly stats: RpcStats;
  provider(authType: number): SecurityProvider | undefined;
  /** The lowest auth level a call to this interface may use (else fault access denied). */
  minAuthLevel(iface: RpcInterface<CallContext>): AuthLevel;
  connectionClosed(conn: Connection): void;
}

/** The interfaces served on the port a connection arrived on. */
export interface EndpointView {
  readonly port: number;
  readonly interfaces: readonly RpcInterface<CallContext>[];
}

/** A request being received: its first fragment decided everything but the stub (MS-RPCE 3.3.3). */
interface IncomingCall {
  readonly callId: number;
  readonly pc: PresentationContext;
  readonly opnum: number;
  readonly drep: number;
  readonly le: boolean;
  readonly auth: AuthState | undefined;
  readonly noReply: boolean;
  /** Copies of the fragments' stubs; only a multi-fragment call has them. */
  chunks: Buffer[] | undefined;
  size: number;
}

export class Connection extends PduStream implements CallOrigin {
  private bound = false;
  private maxXmitFrag = WINDOWS_MIN_FRAG_SIZE;
  private clientHeaderSigning = false;
  /** A bind or alter_context with CONC_MPX created a context (C706 12.6.3.1). */
  private multiplexed = false;
  private group: AssociationGroup | undefined;
  /** Negotiated presentation contexts: a few, so a list (a Map is ~0.2 KB per connection). */
  private contexts: readonly PresentationContext[] = [];
  /** Made on the first auth leg: an anonymous connection never needs one (~0.4 KB, memory benchmark). */
  private authTable: AuthContexts | undefined;
  /** The one request whose fragments are still arriving (MS-RPCE 3.3.3: at most one per connection). */
  private incoming: IncomingCall | undefined;
  /** Calls answered later and not yet answered (at most maxPendingCallsPerConnection). */
  private calls: Few<ServerCall>;
  /** Set by shutdown(): told when the last call in flight has answered. */
  private drained: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    socket: Socket,
    private readonly host: ConnectionHost,
    /** The listener it came in on, and which of its addresses (CTDB's releaseip closes by address). */
    readonly endpoint: EndpointView,
    readonly listenAddress: string,
  ) {
    super(socket, host.options, host.stats);
    this.idleTimer = setTimeout(() => {
      this.log.info({ ms: host.options.limits.unboundIdleMs }, 'closing a connection that never bound');
      this.close('never bound');
    }, host.options.limits.unboundIdleMs);
    this.idleTimer.unref();
  }

  /** Made on the first rate-limited warning (most connections never warn). */
  private warnedAt: Map<string, number> | undefined;

  /** A warning that a hostile client could repeat per PDU: at most one line per second per kind. */
  private warnLimited(kind: string, obj: object): void {
    const now = Date.now();
    this.warnedAt ??= new Map();
    if (now - (this.warnedAt.get(kind) ?? -Infinity) < 1000) return;
    this.warnedAt.set(kind, now);
    this.log.warn(obj, kind);
  }

  private get auths(): AuthContexts {
    return (this.authTable ??= new AuthContexts(this.host, this.host.options.limits.maxAuthContextsPerConnection,
      { localAddress: this.localAddress, remoteAddress: this.remoteAddress, remotePort: this.remotePort }, () => this.log));
  }

  get pendingCalls(): number {
    return Few.size(this.calls);
  }

  /** The association group, once bound. */
  get associationGroup(): AssociationGroup | undefined {
    return this.group;
  }

  /** True once a bind was accepted (connections that never bound may be evicted at the limit). */
  get isBound(): boolean {
    return this.bound;
  }

  private get limits() {
    return this.host.options.limits;
  }

  /** Answer a broken PDU the way its state demands (bind_nak before bind, fault after) and close. */
  protected protocolViolation(h: PduHeader | undefined, why: string): void {
    this.log.warn({ why, ptype: h ? PTYPE_NAMES[h.ptype] : undefined }, 'protocol violation; closing');
    const le = h ? h.le : true;
    const callId = h ? h.callId : 0;
    if (!this.bound) this.send(encodeBindNak(callId, le, BindNakReason.PROTOCOL_VERSION_NOT_SUPPORTED));
    else this.send(encodeFault(callId, le, 0, FaultStatus.NCA_S_PROTO_ERROR, Pfc.DID_NOT_EXECUTE));
    this.close(why);
  }

  protected onPdu(pdu: Buffer): void {
    const h = decodeHeader(pdu);
    if (!this.bound) {
      if (h.ptype !== PType.BIND) throw new PduError(`${PTYPE_NAMES[h.ptype] ?? h.ptype} before bind`);
      this.onBind(pdu, h);
      return;
    }
    switch (h.ptype) {
      case PType.REQUEST:
        this.onRequest(pdu, h);
        return;
      case PType.ALTER_CONTEXT:
        this.onAlterContext(pdu, h);
        return;
      case PType.AUTH3:
        this.onAuth3(pdu, h);
        return;
      case PType.CO_CANCEL:
        this.onCancel(h.callId, 'cancel');
        return;
      case PType.ORPHANED:
        this.onCancel(h.callId, 'orphaned');
        return;
      case PType.BIND:
        this.log.warn('second bind on a bound connection; closing');
        this.send(encodeBindNak(h.callId, h.le, BindNakReason.NOT_SPECIFIED));
        this.close('second bind');
        return;
      default:
        throw new PduError(`unexpected ${PTYPE_NAMES[h.ptype] ?? `ptype ${h.ptype}`} from a client`);
    }
  }

  // ------------------------------------------------------ bind and alter_context

  private bindNakAndClose(h: PduHeader, reason: number, why: string): void {
    this.log.info({ reason, why }, 'bind_nak');
    this.send(encodeBindNak(h.callId, h.le, reason));
    this.close(why);
  }

  private faultAndClose(h: PduHeader, contextId: number, status: number, why: string, flags: number = Pfc.DID_NOT_EXECUTE): void {
    this.faultCallAndClose(h.callId, h.le, contextId, status, why, flags);
  }

  private faultCallAndClose(callId: number, le: boolean, contextId: number, status: number, why: string, flags: number): void {
    this.log.warn({ status: faultName(status), why, callId }, 'fault; closing');
    this.send(encodeFault(callId, le, contextId, status, flags));
    this.close(why);
  }

  private onBind(pdu: Buffer, h: PduHeader): void {
    const st = h.authLength > 0 ? decodeSecTrailer(pdu, h, HEADER_LENGTH, false) : undefined;
    // C706 12.6.3.1 puts auth padding before the trailer of bind and alter too; Windows ignores
    // its length there (and so do we: the body is parsed up to the trailer).
    const body = decodeBind(pdu, h, st ? st.offset : h.fragLength);
    // Modern Windows (2022) and Samba answer 4 for a bind without contexts (2012 R2 answered 0).
    if (body.contexts.length === 0) return this.bindNakAndClose(h, BindNakReason.PROTOCOL_VERSION_NOT_SUPPORTED, 'bind without presentation contexts');
    if (body.contexts.some((c) => c.transferSyntaxes.length === 0)) return this.bindNakAndClose(h, BindNakReason.NOT_SPECIFIED, 'context without transfer syntaxes');
    let joined: AssociationGroup | undefined;
    if (body.assocGroupId !== 0) {
      joined = this.host.groups.find(body.assocGroupId);
      if (!joined) return this.bindNakAndClose(h, BindNakReason.NOT_SPECIFIED, `unknown association group 0x${body.assocGroupId.toString(16)}`);
    }
    const negotiated = this.negotiate(body.contexts, true);
    if (negotiated === undefined) return this.bindNakAndClose(h, BindNakReason.NOT_SPECIFIED, 'conflicting presentation contexts');
    let auth: OutgoingAuth | undefined;
    if (st) {
      // The bind_ack echoes the flag, so it is negotiated as soon as the client sets it.
      if (h.pfcFlags & Pfc.SUPPORT_HEADER_SIGN) this.clientHeaderSigning = true;
      const r = this.auths.start(st, this.clientHeaderSigning);
      if (typeof r === 'number') return this.bindNakAndClose(h, r, 'auth refused in bind');
      auth = r;
    }
    // Windows answers at least 2048 whatever the client offers (Samba's raw_protocol tests
    // against Windows 2012 R2; C706 12.6.3.1 would allow 1432), never more than our limit.
    const clientMax = Math.max(Math.min(body.maxXmitFrag, body.maxRecvFrag), WINDOWS_MIN_FRAG_SIZE);
    this.maxXmitFrag = Math.min(clientMax, this.limits.maxFragmentSize) & ~7;
    this.group = joined ?? this.host.groups.create();
    this.group.add(this.id);
    this.bound = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.send(encodeBindAck({
      ptype: PType.BIND_ACK, callId: h.callId, le: h.le, flags: this.ackFlags(h, negotiated.created),
      maxXmitFrag: this.maxXmitFrag, maxRecvFrag: this.maxXmitFrag, assocGroupId: this.group.id,
      secondaryAddress: String(this.endpoint.port), results: negotiated.results, auth,
    }));
    if (this.host.options.logger.isLevelEnabled('debug')) {
      this.log.debug({ group: this.group.id, joined: !!joined, frag: this.maxXmitFrag, results: negotiated.results.map((r) => r.result) }, 'bound');
    }
  }

  /**
   * pfc_flags of bind_ack and alter_context_resp (as Samba's dcesrv_bind/dcesrv_alter, checked
   * against Windows): SUPPORT_HEADER_SIGN echoed whenever this PDU carries it, auth or not
   * (MS-RPCE 3.3.1.5.2.1); CONC_MPX only when this PDU created a context, which also makes
   * the connection multiplexed (C706 12.6.3.1).
   */
  private ackFlags(h: PduHeader, created: boolean): number {
    let flags = Pfc.FIRST_FRAG | Pfc.LAST_FRAG;
    if (h.pfcFlags & Pfc.SUPPORT_HEADER_SIGN) {
      this.clientHeaderSigning = true;
      flags |= Pfc.SUPPORT_HEADER_SIGN;
    }
    if (created && (h.pfcFlags & Pfc.CONC_MPX)) {
      this.multiplexed = true;
      flags |= Pfc.CONC_MPX;
    }
    return flags;
  }

  /** Negotiate offered presentation contexts; the accepted ones are this connection's from now on. */
  private negotiate(offered: Parameters<typeof negotiateContexts>[0], bind: boolean): (ReturnType<typeof negotiateContexts> & { created: boolean }) | undefined {
    const max = this.limits.maxContextsPerConnection;
    const before = this.contexts.length;
    const r = negotiateContexts(offered, this.contexts, this.endpoint.interfaces, max,
      () => this.warnLimited('presentation context limit reached', { limit: max }), bind);
    if (!r) return undefined;
    this.contexts = r.contexts;
    return { ...r, created: r.contexts.length > before };
  }

  private onAlterContext(pdu: Buffer, h: PduHeader): void {
    const st = h.authLength > 0 ? decodeSecTrailer(pdu, h, HEADER_LENGTH, false) : undefined;
    const body = decodeBind(pdu, h, st ? st.offset : h.fragLength);
    if (body.contexts.length === 0 || body.contexts.some((c) => c.transferSyntaxes.length === 0)) {
      return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'malformed alter_context');
    }
    // The auth leg is judged first, as Samba's dcesrv_alter (its faults win over the contexts').
    let a: AuthState | undefined;
    if (st) {
      a = this.auths.get(st.authContextId);
      if (a) {
        if (a.failure !== undefined) return this.faultAndClose(h, 0, FaultStatus.ACCESS_DENIED, 'alter_context on a refused auth context');
        if (a.complete) return this.faultAndClose(h, 0, FaultStatus.ACCESS_DENIED, 'alter_context leg on a finished auth context');
        if (a.authType !== st.authType) return this.faultAndClose(h, 0, FaultStatus.SEC_PKG_ERROR, 'auth type changed between legs');
        if (a.authLevel !== st.authLevel) return this.faultAndClose(h, 0, FaultStatus.ACCESS_DENIED, 'auth level changed between legs');
      } else if (this.auths.full) {
        return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'auth context limit reached');
      }
    }
    const negotiated = this.negotiate(body.contexts, false);
    if (negotiated === undefined) return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'conflicting presentation contexts');
    let auth: OutgoingAuth | undefined;
    if (st && a) {
      const token = this.auths.continueLeg(a, st.authValue);
      if (token === undefined) return this.faultAndClose(h, 0, a.failure ?? FaultStatus.ACCESS_DENIED, 'auth leg refused in alter_context');
      auth = { authType: st.authType, authLevel: st.authLevel, authContextId: st.authContextId, token };
    } else if (st) {
      const r = this.auths.start(st, this.clientHeaderSigning || (h.pfcFlags & Pfc.SUPPORT_HEADER_SIGN) !== 0);
      if (typeof r === 'number') return this.faultAndClose(h, 0, FaultStatus.ACCESS_DENIED, 'auth refused in alter_context');
      auth = r;
    }
    this.send(encodeBindAck({
      ptype: PType.ALTER_CONTEXT_RESP, callId: h.callId, le: h.le, flags: this.ackFlags(h, negotiated.created),
      maxXmitFrag: this.maxXmitFrag, maxRecvFrag: this.maxXmitFrag, assocGroupId: this.group?.id ?? 0,
      secondaryAddress: '', results: negotiated.results, auth,
    }));
  }

  // ---------------------------------------------------------------------- auth

  /** No reply to auth3 (C706 12.6.4.10); a failure shows on the next request on that context. */
  private onAuth3(pdu: Buffer, h: PduHeader): void {
    if (h.authLength === 0) return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'auth3 without auth');
    const st = decodeSecTrailer(pdu, h, HEADER_LENGTH, false);
    const a = this.auths.get(st.authContextId);
    if (!a || a.complete || a.failure !== undefined) return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'auth3 for no auth context in progress');
    if (a.authType !== st.authType || a.authLevel !== st.authLevel) {
      a.failure = FaultStatus.ACCESS_DENIED;
      return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'auth type or level changed in auth3');
    }
    const token = this.auths.continueLeg(a, st.authValue);
    // AUTH3 is the last leg: an exchange it leaves unfinished, or with a token still to send,
    // cannot be completed (Samba's dcesrv_auth_complete), so the context is unusable.
    if (token !== undefined && (!a.complete || token.length > 0)) {
      this.log.info({ authContextId: a.authContextId }, 'auth3 did not finish the security context');
      a.failure = FaultStatus.ACCESS_DENIED;
    }
  }

  // ------------------------------------------------------------------ requests

  /**
   * One request fragment, judged in Samba's order (dcesrv_process_ncacn_packet, checked there
   * against Windows): the auth context it names, the one call in reassembly, the presentation
   * context, then the verifier. Protocol errors about fragments carry FIRST|LAST only and
   * context id 0 until a context was resolved.
   */
  private onRequest(pdu: Buffer, h: PduHeader): void {
    const req = decodeRequest(pdu, h);
    const first = (h.pfcFlags & Pfc.FIRST_FRAG) !== 0;
    const last = (h.pfcFlags & Pfc.LAST_FRAG) !== 0;
    let st: SecTrailer | undefined;
    let auth: AuthState | undefined;
    if (h.authLength > 0) {
      st = decodeSecTrailer(pdu, h, req.stubOffset);
      auth = this.authTable?.get(st.authContextId);
      if (!auth && this.auths.full) return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'request names one auth context too many');
      if (auth && !auth.complete && auth.failure === undefined) {
        return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'request on an auth context still in its handshake');
      }
      // Another type or level than the context's (on a first fragment) spoils the context for good.
      if (auth && first && (auth.authType !== st.authType || auth.authLevel !== st.authLevel)) auth.failure ??= FaultStatus.ACCESS_DENIED;
    } else {
      // Level connect: requests carry no trailer but belong to the connect-level context.
      auth = this.authTable?.connectLevel();
    }
    if (h.fragLength > this.limits.maxFragmentSize) {
      return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, `request fragment of ${h.fragLength} bytes`, 0);
    }
    const open = this.incoming;
    let call: IncomingCall;
    if (first) {
      if (open) return this.secondFirstFragment(open, h, req.contextId, st !== undefined && auth !== open.auth);
      if (h.pfcFlags & Pfc.PENDING_CANCEL) return this.faultAndClose(h, 0, FaultStatus.NO_CALL_ACTIVE, 'first fragment with a cancel pending');
      const pc = findContext(this.contexts, req.contextId);
      if (!pc) {
        this.warnLimited('request on an unknown presentation context', { contextId: req.contextId });
        this.send(encodeFault(h.callId, h.le, 0, FaultStatus.NCA_S_UNKNOWN_IF, Pfc.DID_NOT_EXECUTE));
        return;
      }
      call = {
        callId: h.callId, pc, opnum: req.opnum, drep: h.drep, le: h.le, auth,
        noReply: (h.pfcFlags & Pfc.MAYBE) !== 0, chunks: undefined, size: 0,
      };
    } else {
      if (!open || open.callId !== h.callId) {
        // On an exclusive connection the fault answers the call being received, if any.
        const to = this.multiplexed ? undefined : open;
        return this.faultCallAndClose(to?.callId ?? h.callId, to?.le ?? h.le, to?.pc.id ?? 0, FaultStatus.NCA_S_PROTO_ERROR,
          `fragment of call ${h.callId}, which is not being received`, 0);
      }
      if (open.drep !== h.drep) return this.faultCallAndClose(open.callId, open.le, open.pc.id, FaultStatus.NCA_S_PROTO_ERROR, 'fragment drep differs', Pfc.DID_NOT_EXECUTE);
      // Later fragments inherit the first one's auth context; their own context id, opnum and
      // auth fields are ignored (MS-RPCE 3.3.3, Samba's dcesrv_auth_pkt_pull).
      call = open;
      auth = open.auth;
    }
    const stubEnd = checkRequestAuth(pdu, h.fragLength, req.stubOffset, st, auth);
    if (typeof stubEnd !== 'number') return this.faultAndClose(h, call.pc.id, stubEnd.status, stubEnd.why, 0);
    const stub = pdu.subarray(req.stubOffset, stubEnd);
    if (first) {
      if (Few.find(this.calls, (c) => c.callId === h.callId)) {
        return this.faultAndClose(h, call.pc.id, FaultStatus.NCA_S_PROTO_ERROR, `call id ${h.callId} already in use`, 0);
      }
      if (this.pendingCalls >= this.limits.maxPendingCallsPerConnection) {
        this.warnLimited('pending call limit reached; call refused', { limit: this.limits.maxPendingCallsPerConnection });
        if (!last) return this.faultAndClose(h, call.pc.id, FaultStatus.NCA_S_SERVER_TOO_BUSY, 'pending call limit');
        this.send(encodeFault(h.callId, h.le, call.pc.id, FaultStatus.NCA_S_SERVER_TOO_BUSY, Pfc.DID_NOT_EXECUTE));
        return;
      }
      if (!last && req.allocHint > this.limits.maxRequestSize) {
        return this.faultAndClose(h, call.pc.id, FaultStatus.ACCESS_DENIED, `alloc_hint ${req.allocHint} over the request limit`, 0);
      }
      if (last) return this.execute(call, stub);
    }
    call.size += stub.length;
    if (call.size > this.limits.maxRequestSize || call.size > this.limits.maxReassemblyPerConnection) {
      return this.faultAndClose(h, call.pc.id, FaultStatus.ACCESS_DENIED, `reassembled request over the limit (${call.size} bytes)`, 0);
    }
    // Copy fragments held for reassembly so they do not pin the receive buffer.
    (call.chunks ??= []).push(Buffer.from(stub));
    if (!last) {
      this.incoming = call;
      return;
    }
    this.incoming = undefined;
    this.execute(call, Buffer.concat(call.chunks, call.size));
  }

  /**
   * A first fragment while another call is being received: a protocol error (MS-RPCE 3.3.3),
   * addressed to the call being received on an exclusive connection, to the new one with
   * CONC_MPX; rpc_s_sec_pkg_error when the same call restarts under another auth context.
   */
  private secondFirstFragment(open: IncomingCall, h: PduHeader, contextId: number, otherAuth: boolean): void {
    const same = open.callId === h.callId;
    const status = same && otherAuth && contextId === open.pc.id ? FaultStatus.SEC_PKG_ERROR : FaultStatus.NCA_S_PROTO_ERROR;
    const why = `first fragment of call ${h.callId} while call ${open.callId} is being received`;
    if (!this.multiplexed) return this.faultCallAndClose(open.callId, open.le, open.pc.id, status, why, 0);
    this.faultCallAndClose(h.callId, h.le, same ? open.pc.id : 0, status, why, 0);
  }

  private execute(r: IncomingCall, stub: Buffer): void {
    const pc = r.pc;
    const call = new ServerCall(this, { callId: r.callId, pc, opnum: r.opnum, littleEndian: r.le, auth: r.auth, noReply: r.noReply });
    const level = r.auth?.authLevel ?? AuthLevel.None;
    const min = this.host.minAuthLevel(pc.iface);
    if (level < min) {
      this.log.info({ authLevel: level, minAuthLevel: min, iface: pc.iface.name }, 'call below the minimum auth level');
      this.sendFault(call, FaultStatus.ACCESS_DENIED);
      return;
    }
    const popped = popVerificationTrailer(stub, r.le);
    if (popped.commands) {
      const bad = checkVerificationTrailer(popped.commands, {
        clientHeaderSigning: this.clientHeaderSigning, abstractSyntax: pc.abstractSyntax, transferSyntax: pc.ndr64 ? NDR64_SYNTAX : NDR_SYNTAX,
        ptype: PType.REQUEST, drep: r.drep, callId: r.callId, contextId: pc.id, opnum: r.opnum,
      });
      if (bad) {
        this.log.warn({ why: bad, iface: pc.iface.name }, 'verification trailer check failed');
        this.sendFault(call, FaultStatus.ACCESS_DENIED);
        return;
      }
    }
    this.host.stats.callsIn++;
    let out: Buffer | undefined;
    try {
      // Each call in its context's transfer syntax (negotiated only where dispatchNdr64 exists).
      out = pc.ndr64 ? pc.iface.dispatchNdr64!(r.opnum, popped.stub, call) : pc.iface.dispatch(r.opnum, popped.stub, call);
    } catch (err) {
      this.answerError(call, err);
      return;
    }
    if (out !== undefined) this.answer(call, out);
    else if (!call.deferred) this.answerError(call, new Error(`${pc.iface.name} dispatch gave no answer and took no reply handle`));
  }

  /** A call answered later (AsyncNotify): in flight until then. */
  callDeferred(call: ServerCall): void {
    this.calls = Few.add(this.calls, call);
  }

  /** The call leaves the table; true if an answer is still due and can be sent. */
  private finish(call: ServerCall): boolean {
    if (call.done) return false;
    call.done = true;
    if (call.deferred) {
      this.calls = Few.remove(this.calls, call);
      if (this.calls === undefined && this.drained) queueMicrotask(this.drained);
    }
    return !this.closed && !call.noReply;
  }

  answer(call: ServerCall, out: Buffer): void {
    if (!this.finish(call)) return;
    let frags: Buffer[];
    try {
      // Windows answers with the context id's low 8 bits (Samba's raw_protocol tests against
      // it); C706 12.6.4.9 keeps 16. No client uses ids past 255, so we answer as Windows does.
      frags = buildResponseFragments({ callId: call.callId, contextId: call.contextId & 0xff, le: call.littleEndian, maxXmitFrag: this.maxXmitFrag, stub: out, auth: call.auth });
    } catch (err) {
      this.log.error({ err }, 'could not build the response');
      this.sendFault(call, FaultStatus.NCA_S_FAULT_UNSPEC);
      this.close('response protection failed');
      return;
    }
    this.send(frags.length === 1 ? frags[0] : Buffer.concat(frags));
  }

  answerError(call: ServerCall, err: unknown): void {
    const iface = call.iface;
    let status: number;
    let flags = 0;
    if (err instanceof DispatchFault) {
      status = err.status;
      if (status === FaultStatus.NCA_S_OP_RNG_ERROR) flags = Pfc.DID_NOT_EXECUTE;
      this.log.debug({ iface: iface.name, opnum: call.opnum, status: faultName(status) }, 'call faulted');
    } else if (err instanceof NdrError) {
      status = FaultStatus.BAD_STUB_DATA;
      // Generated codecs name the direction first in the error path: '<op>.in' or '<op>.out'.
      if (err.path[0]?.endsWith('.out')) {
        this.log.error({ err, iface: iface.name, opnum: call.opnum }, 'response did not encode');
      } else {
        this.log.info({ iface: iface.name, opnum: call.opnum, why: (err as Error).message }, 'bad stub data');
      }
    } else {
      status = FaultStatus.NCA_S_FAULT_UNSPEC;
      this.log.error({ err, iface: iface.name, opnum: call.opnum, op: iface.operationNames[call.opnum] }, 'server method failed');
    }
    if (this.finish(call)) this.sendFault(call, status, flags);
  }

  /** A fault answering a call (counted by the server's onFault hook). */
  private sendFault(call: ServerCall, status: number, flags = 0): void {
    this.host.options.onFault?.(call.iface.name, call.opnum, status);
    this.send(encodeFault(call.callId, call.littleEndian, call.contextId, status, flags));
  }

  /**
   * Tell a deferred call's server that it can no longer answer, and answer it as its abort
   * demands: a cancel is faulted at once, an orphaned call dropped; at shutdown a call whose
   * server listened is faulted at once, the others keep the grace period to answer.
   */
  private abortCall(call: ServerCall, kind: CallAbortKind): void {
    call.abort(new CallAborted(kind));
    if (kind === 'cancel' && this.finish(call)) this.sendFault(call, FaultStatus.NCA_S_FAULT_CANCEL);
    else if (kind === 'orphaned') this.finish(call);
    else if (kind === 'shutdown' && call.listened && this.finish(call)) this.sendFault(call, FaultStatus.SERVER_UNAVAILABLE);
  }

  private onCancel(callId: number, kind: 'cancel' | 'orphaned'): void {
    // A call still being received has not started: Windows ignores the cancel or orphan, and
    // the call runs and is answered once complete (Samba's dcesrv_process_ncacn_packet).
    if (this.incoming?.callId === callId) return;
    const call = Few.find(this.calls, (c) => c.callId === callId);
    if (!call) return;
    this.log.debug({ callId, kind }, 'call aborted by the client');
    this.abortCall(call, kind);
  }

  /**
   * Graceful shutdown: abort every pending call with reason 'shutdown', give those still
   * unanswered graceMs to answer, fault the rest, then close.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.closed) return;
    const pending = [...Few.list(this.calls)];
    for (const c of pending) this.abortCall(c, 'shutdown');
    if (this.pendingCalls > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((res) => {
        this.drained = res;
        timer = setTimeout(res, graceMs);
      });
      clearTimeout(timer);
      this.drained = undefined;
    }
    for (const c of pending) {
      if (this.finish(c)) this.sendFault(c, FaultStatus.SERVER_UNAVAILABLE);
    }
    await this.closeAndWait('server shutdown');
  }

  /** The connection ended: pending calls are aborted, the association group let go. */
  protected onClosed(why: string): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const calls = Few.list(this.calls);
    this.calls = undefined;
    for (const c of calls) {
      c.done = true;
      c.abort(new CallAborted('closed'));
    }
    this.incoming = undefined;
    if (this.logsDebug) this.log.debug({ why }, 'connection closed');
    if (this.group) this.group.remove(this.id);
    this.host.connectionClosed(this);
  }
}
