/**
 * One connection-oriented DCE/RPC association on one TCP socket: bind and alter_context, auth
 * legs, requests, the calls in flight, responses, faults, cancels. Many calls may be pending
 * at once and answers leave in any order. Its transport (framing and output) is a PduStream
 * (src/rpc/pdu-stream.ts) that it holds and that hands it whole PDUs.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { DispatchFault, type RpcInterface } from '../ndr/dispatch';
import { CallAborted, type CallAbortKind, type CallContext } from './call-context';
import { AuthLevel, type AuthState, type SecurityProvider } from './security';
import { BindNakReason, FaultStatus, HEADER_LENGTH, PType, PTYPE_NAMES, Pfc, WINDOWS_MIN_FRAG_SIZE, faultName } from './constants';
import {
  type PduHeader, type Refusal, type SecTrailer, buildResponseFragments, checkRequestAuth, decodeBind, decodeHeader, decodeRequest, decodeSecTrailer,
  encodeBindAck, encodeBindNak, encodeFault,
} from './pdu';
import { PduError } from './wire';
import { AuthContexts, type PendingLeg, sameAuth } from './auth-state';
import type { AssociationGroup, AssociationGroupTable } from './association-group';
import { type PresentationContext, negotiateContexts } from './presentation';
import { popVerificationTrailer, checkVerificationTrailer } from './verification-trailer';
import { type CallOrigin, Reassembly, ServerCall, type ServerCallInit } from './call';
import { Few } from '../lib/few';
import { NdrError } from '../ndr/errors';
import { type PduHandler, PduStream, type TransportHost } from './pdu-stream';
import { limitedLog } from '../lib/log-limit';

/** What a connection needs from the server that owns it. */
export interface ConnectionHost extends TransportHost {
  readonly groups: AssociationGroupTable;
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

/** Where connections arrive: one per listener address, shared by its connections. */
export interface ListenPoint {
  readonly host: ConnectionHost;
  readonly endpoint: EndpointView;
  readonly address: string;
}

let nextConnectionId = 1;

// Two yes/no facts and max_xmit_frag (above them) in one small integer: a field each is 8 B per
// connection. MULTIPLEXED: a bind or alter_context with CONC_MPX made a context (C706 12.6.3.1).
const CLIENT_HEADER_SIGNING = 1;
const MULTIPLEXED = 2;
const FRAG_SHIFT = 8;

/** What few connections need, made on first need: one field on the connection (memory benchmark). */
class Seldom {
  logger: Logger | undefined = undefined;
  /** Closes a connection that never binds. */
  idleTimer: NodeJS.Timeout | undefined = undefined;
  /** Set by shutdown(): told when the last call in flight has answered. */
  drained: (() => void) | undefined = undefined;
  /** The one request whose fragments are still arriving (MS-RPCE 3.3.3). */
  incoming: Reassembly | undefined = undefined;
}

export class Connection implements CallOrigin, PduHandler {
  readonly id = nextConnectionId++;
  readonly stream: PduStream;
  private bits = WINDOWS_MIN_FRAG_SIZE << FRAG_SHIFT;
  /** Set by the bind: a connection is bound once it has its association group. */
  associationGroup: AssociationGroup | undefined = undefined;
  /** Negotiated presentation contexts: usually one (a Map is ~0.2 KB per connection). */
  private contexts: Few<PresentationContext>;
  /** Made on the first auth leg: an anonymous connection never needs one (~0.4 KB, memory benchmark). */
  private authTable: AuthContexts | undefined = undefined;
  /** Calls answered later and not yet answered (at most maxPendingCallsPerConnection). */
  private calls: Few<ServerCall> = undefined;
  private seldom: Seldom | undefined = undefined;

  constructor(socket: Socket, readonly at: ListenPoint) {
    this.stream = new PduStream(socket, this);
    const ms = at.host.options.limits.unboundIdleMs;
    (this.more.idleTimer = setTimeout(() => {
      this.log.info({ ms }, 'closing a connection that never bound');
      this.close('never bound');
    }, ms)).unref();
  }

  get host(): ConnectionHost {
    return this.at.host;
  }
  private get limits() {
    return this.at.host.options.limits;
  }
  private get maxXmitFrag(): number {
    return this.bits >>> FRAG_SHIFT;
  }
  private get more(): Seldom {
    return (this.seldom ??= new Seldom());
  }

  /** The connection's child logger, made on first use; its info/warn/error lines are rate-limited (a peer causes them). */
  get log(): Logger {
    const s = this.stream;
    const o = this.host.options;
    return (this.more.logger ??= limitedLog(o.logger.child({ conn: this.id, remote: `${s.remoteAddress}:${s.remotePort}`, port: s.localPort }), o.logLimiter));
  }

  /** Whether a debug line is due (without making the child logger for nothing). */
  private get logsDebug(): boolean {
    return this.seldom?.logger !== undefined || this.host.options.logger.isLevelEnabled('debug');
  }

  /** A warning that a hostile client could repeat per PDU (the log's limiter bounds it, over all connections). */
  private warnLimited(kind: string, obj: object): void {
    this.log.warn(obj, kind);
  }

  private get auths(): AuthContexts {
    return (this.authTable ??= new AuthContexts(this));
  }

  get pendingCalls(): number {
    return Few.size(this.calls);
  }

  /** True once a bind was accepted (connections that never bound may be evicted at the limit). */
  get isBound(): boolean {
    return this.associationGroup !== undefined;
  }

  close(why: string): void {
    this.stream.close(why);
  }

  /** Answer a broken PDU the way its state demands (bind_nak before bind, fault after) and close. */
  protocolViolation(h: PduHeader | undefined, why: string): void {
    this.log.warn({ why, ptype: h ? PTYPE_NAMES[h.ptype] : undefined }, 'protocol violation; closing');
    const { callId, le } = h ?? { callId: 0, le: true };
    if (!this.isBound) this.stream.send(encodeBindNak(callId, le, BindNakReason.PROTOCOL_VERSION_NOT_SUPPORTED));
    else this.stream.send(encodeFault(callId, le, 0, FaultStatus.NCA_S_PROTO_ERROR, Pfc.DID_NOT_EXECUTE));
    this.close(why);
  }

  onPdu(pdu: Buffer): void {
    const h = decodeHeader(pdu);
    if (!this.isBound && h.ptype !== PType.BIND) throw new PduError(`${PTYPE_NAMES[h.ptype] ?? h.ptype} before bind`);
    switch (h.ptype) {
      case PType.BIND:
        return this.isBound ? this.refuse(h, 'second bind on a bound connection') : this.onBindOrAlter(pdu, h);
      case PType.ALTER_CONTEXT:
        return this.onBindOrAlter(pdu, h);
      case PType.REQUEST:
        return this.onRequest(pdu, h);
      case PType.AUTH3:
        return this.onAuth3(pdu, h);
      case PType.CO_CANCEL:
      case PType.ORPHANED:
        return this.onCancel(h.callId, h.ptype === PType.CO_CANCEL ? 'cancel' : 'orphaned');
      default:
        throw new PduError(`unexpected ${PTYPE_NAMES[h.ptype] ?? `ptype ${h.ptype}`} from a client`);
    }
  }

  /** A fault that ends the connection, to the call `h` names (context id 0 until one was resolved). */
  private faultAndClose(h: PduHeader, status: number, why: string, contextId = 0, flags: number = Pfc.DID_NOT_EXECUTE): void {
    this.log.warn({ status: faultName(status), why, callId: h.callId }, 'fault; closing');
    this.stream.send(encodeFault(h.callId, h.le, contextId, status, flags));
    this.close(why);
  }

  // ------------------------------------------------------ bind and alter_context

  /**
   * bind and alter_context negotiate the same things, presentation contexts and an auth leg
   * (C706 12.6.4.3, MS-RPCE 3.3.1.5.3), and differ where the spec says: a refused bind gets
   * bind_nak, a refused alter_context a fault (both close); only a bind names an association
   * group, fixes the fragment size and negotiates bind-time features; only an alter_context
   * can continue an auth context begun earlier. Checked in Samba's order (dcesrv_bind and
   * dcesrv_alter, checked there against Windows): an alter_context's leg first, then the
   * contexts (a conflict is a protocol error), then the leg's other mismatches and its token;
   * a bind's contexts first, then its trailer and token.
   */
  private onBindOrAlter(pdu: Buffer, h: PduHeader): void {
    const bind = h.ptype === PType.BIND;
    const st = h.authLength > 0 ? decodeSecTrailer(pdu, h, HEADER_LENGTH, false) : undefined;
    const body = decodeBind(pdu, h, st ? st.offset : h.fragLength);
    // The ack echoes PFC_SUPPORT_HEADER_SIGN, so it is negotiated as soon as the client sets it.
    if (h.pfcFlags & Pfc.SUPPORT_HEADER_SIGN) this.bits |= CLIENT_HEADER_SIGNING;
    const headerSigning = (this.bits & CLIENT_HEADER_SIGNING) !== 0;
    const no = (r: Refusal) => this.refuse(h, r.why, r.status, r.nak);
    // An alter_context's leg is judged before its contexts, a bind's after them (Samba's order).
    let leg = st && !bind ? this.auths.leg(st, false, headerSigning) : undefined;
    if (leg && !('state' in leg)) return no(leg);
    // Modern Windows (2022) and Samba answer bind_nak 4 for a bind without contexts (2012 R2 answered 0).
    if (body.contexts.length === 0) return this.refuse(h, 'no presentation contexts', FaultStatus.NCA_S_PROTO_ERROR, BindNakReason.PROTOCOL_VERSION_NOT_SUPPORTED);
    if (body.contexts.some((c) => c.transferSyntaxes.length === 0)) return this.refuse(h, 'context without transfer syntaxes');
    const joined = bind && body.assocGroupId !== 0 ? this.host.groups.find(body.assocGroupId) : undefined;
    if (bind && body.assocGroupId !== 0 && !joined) return this.refuse(h, `unknown association group 0x${body.assocGroupId.toString(16)}`);
    const max = this.limits.maxContextsPerConnection;
    const before = Few.size(this.contexts);
    const negotiated = negotiateContexts(body.contexts, this.contexts, this.at.endpoint.interfaces, max,
      () => this.warnLimited('presentation context limit reached', { limit: max }), bind);
    if (negotiated === undefined) return this.refuse(h, 'conflicting presentation contexts');
    if (st && bind) leg = this.auths.leg(st, true, headerSigning);
    const refused = leg && ('state' in leg ? leg.later : leg);
    if (refused) return no(refused);
    this.contexts = negotiated.contexts;
    const auth = st && leg ? this.auths.runLeg(leg as PendingLeg, st.authValue) : undefined;
    if (auth && !('token' in auth)) return no(auth);
    let flags = Pfc.FIRST_FRAG | Pfc.LAST_FRAG | (h.pfcFlags & Pfc.SUPPORT_HEADER_SIGN);
    // CONC_MPX is echoed only when this PDU created a context, which makes the connection multiplexed.
    if (Few.size(negotiated.contexts) > before && (h.pfcFlags & Pfc.CONC_MPX)) {
      this.bits |= MULTIPLEXED;
      flags |= Pfc.CONC_MPX;
    }
    if (bind) {
      // Windows answers at least 2048 whatever the client offers (Samba's raw_protocol tests
      // against Windows 2012 R2; C706 12.6.3.1 would allow 1432), never more than our limit.
      const clientMax = Math.max(Math.min(body.maxXmitFrag, body.maxRecvFrag), WINDOWS_MIN_FRAG_SIZE);
      this.bits = (this.bits & ((1 << FRAG_SHIFT) - 1)) | ((Math.min(clientMax, this.limits.maxFragmentSize) & ~7) << FRAG_SHIFT);
      if (joined) joined.add(this);
      this.associationGroup = joined ?? this.host.groups.create(this);
      this.forgetIdleTimer();
    }
    this.stream.send(encodeBindAck({
      ptype: bind ? PType.BIND_ACK : PType.ALTER_CONTEXT_RESP, callId: h.callId, le: h.le, flags,
      maxXmitFrag: this.maxXmitFrag, maxRecvFrag: this.maxXmitFrag, assocGroupId: this.associationGroup!.id,
      secondaryAddress: bind ? String(this.at.endpoint.port) : '', results: negotiated.results, auth,
    }));
    if (bind && this.logsDebug) this.log.debug({ group: this.associationGroup!.id, joined: !!joined, frag: this.maxXmitFrag, results: negotiated.results.map((r) => r.result) }, 'bound');
  }

  /** Refuse a bind (bind_nak with `nak`) or an alter_context (fault `fault`), and close. */
  private refuse(h: PduHeader, why: string, fault: number = FaultStatus.NCA_S_PROTO_ERROR, nak: number = BindNakReason.NOT_SPECIFIED): void {
    if (h.ptype !== PType.BIND) return this.faultAndClose(h, fault, `${PTYPE_NAMES[h.ptype]}: ${why}`);
    this.log.info({ reason: nak, why }, 'bind_nak');
    this.stream.send(encodeBindNak(h.callId, h.le, nak));
    this.close(why);
  }

  private forgetIdleTimer(): void {
    const s = this.seldom;
    if (!s?.idleTimer) return;
    clearTimeout(s.idleTimer);
    s.idleTimer = undefined;
    if (s.logger === undefined && s.drained === undefined && s.incoming === undefined) this.seldom = undefined;
  }

  // ---------------------------------------------------------------------- auth

  /** No reply to auth3 (C706 12.6.4.10); a failure shows on the next request on that context. */
  private onAuth3(pdu: Buffer, h: PduHeader): void {
    if (h.authLength === 0) return this.faultAndClose(h, FaultStatus.NCA_S_PROTO_ERROR, 'auth3 without auth');
    const refused = this.auths.auth3(decodeSecTrailer(pdu, h, HEADER_LENGTH, false));
    if (refused) this.faultAndClose(h, refused.status, refused.why);
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
      if (!auth && this.auths.full) return this.faultAndClose(h, FaultStatus.NCA_S_PROTO_ERROR, 'request names one auth context too many');
    } else {
      // Level connect puts no trailer on requests: they belong to that context, in any state (rule 4).
      auth = this.authTable?.connectLevel();
    }
    if (auth && !auth.complete && auth.failure === undefined) return this.faultAndClose(h, FaultStatus.NCA_S_PROTO_ERROR, 'request on an auth context still in its handshake');
    // Another type or level than the context's (on a first fragment) spoils the context for good.
    if (st && auth && first && !sameAuth(st, auth)) auth.failure ??= FaultStatus.ACCESS_DENIED;
    if (h.fragLength > this.limits.maxFragmentSize) {
      return this.faultAndClose(h, FaultStatus.NCA_S_PROTO_ERROR, `request fragment of ${h.fragLength} bytes`, 0, 0);
    }
    const open = this.seldom?.incoming;
    let call: ServerCallInit;
    if (first) {
      if (open) {
        // The same call restarting under another auth context: rpc_s_sec_pkg_error.
        const same = open.first.callId === h.callId;
        const status = same && st !== undefined && auth !== open.call.auth && req.contextId === open.call.pc.id ? FaultStatus.SEC_PKG_ERROR : FaultStatus.NCA_S_PROTO_ERROR;
        return this.outOfTurn(open, h, status, `first fragment of call ${h.callId} while call ${open.first.callId} is being received`, same ? open.call.pc.id : 0);
      }
      if (h.pfcFlags & Pfc.PENDING_CANCEL) return this.faultAndClose(h, FaultStatus.NO_CALL_ACTIVE, 'first fragment with a cancel pending');
      const pc = this.contextOf(h, req.contextId);
      if (!pc) return;
      call = { callId: h.callId, pc, opnum: req.opnum, littleEndian: h.le, auth, noReply: (h.pfcFlags & Pfc.MAYBE) !== 0 };
    } else {
      if (!open && (this.bits & MULTIPLEXED)) return this.strayFragment(h, req.contextId, st, auth);
      if (!open || open.first.callId !== h.callId) {
        return this.outOfTurn(open, h, FaultStatus.NCA_S_PROTO_ERROR, `fragment of call ${h.callId}, which is not being received`, 0);
      }
      if (open.first.drep !== h.drep) return this.faultAndClose(open.first, FaultStatus.NCA_S_PROTO_ERROR, 'fragment drep differs', open.call.pc.id);
      // Later fragments inherit the first one's auth context; their own context id, opnum and
      // auth fields are ignored (MS-RPCE 3.3.3, Samba's dcesrv_auth_pkt_pull).
      call = open.call;
      auth = call.auth;
    }
    const contextId = call.pc.id;
    const stubEnd = checkRequestAuth(pdu, h.fragLength, req.stubOffset, st, auth);
    if (typeof stubEnd !== 'number') return this.faultAndClose(h, stubEnd.status, stubEnd.why, contextId, 0);
    const stub = pdu.subarray(req.stubOffset, stubEnd);
    if (first) {
      if (Few.find(this.calls, (c) => c.callId === h.callId)) {
        return this.faultAndClose(h, FaultStatus.NCA_S_PROTO_ERROR, `call id ${h.callId} already in use`, contextId, 0);
      }
      if (this.pendingCalls >= this.limits.maxPendingCallsPerConnection) {
        this.warnLimited('pending call limit reached; call refused', { limit: this.limits.maxPendingCallsPerConnection });
        if (!last) return this.faultAndClose(h, FaultStatus.NCA_S_SERVER_TOO_BUSY, 'pending call limit', contextId);
        this.stream.send(encodeFault(h.callId, h.le, contextId, FaultStatus.NCA_S_SERVER_TOO_BUSY, Pfc.DID_NOT_EXECUTE));
        return;
      }
      if (last) return this.execute(call, h.drep, stub);
      if (req.allocHint > Reassembly.budget(this.limits)) {
        return this.faultAndClose(h, FaultStatus.ACCESS_DENIED, `alloc_hint ${req.allocHint} over the request limit`, contextId, 0);
      }
    }
    const r = first ? new Reassembly(h, call) : open!;
    if (!r.add(stub, this.limits)) {
      return this.faultAndClose(h, FaultStatus.ACCESS_DENIED, `reassembled request over the limit (${r.length} bytes)`, contextId, 0);
    }
    this.more.incoming = last ? undefined : r;
    if (last) this.execute(call, r.first.drep, r.stub());
  }

  /** The presentation context a request names; unknown → nca_s_unknown_if, and the connection serves on. */
  private contextOf(h: PduHeader, contextId: number): PresentationContext | undefined {
    const pc = Few.find(this.contexts, (c) => c.id === contextId);
    if (pc) return pc;
    this.warnLimited('request on an unknown presentation context', { contextId });
    this.stream.send(encodeFault(h.callId, h.le, 0, FaultStatus.NCA_S_UNKNOWN_IF, Pfc.DID_NOT_EXECUTE));
    return undefined;
  }

  /**
   * A middle or last fragment with no call being received, on a multiplexed connection, is
   * judged by its own context and trailer, and faulted on its context (issue 23, rule 5; Samba's
   * dcesrv_process_ncacn_packet, test_ntlmssp_auth_MPX_middle_*): a trailer naming another auth
   * context, type or level → 0x5, else a protocol error.
   */
  private strayFragment(h: PduHeader, contextId: number, st: SecTrailer | undefined, auth: AuthState | undefined): void {
    const pc = this.contextOf(h, contextId);
    const status = st && !(auth && sameAuth(st, auth)) ? FaultStatus.ACCESS_DENIED : FaultStatus.NCA_S_PROTO_ERROR;
    if (pc) this.faultAndClose(h, status, `fragment of call ${h.callId}, which is not being received`, pc.id, 0);
  }

  /**
   * A fragment out of turn (MS-RPCE 3.3.3: one call is received at a time) is a protocol error,
   * addressed on an exclusive connection to the call being received, if any, else (CONC_MPX)
   * to the fragment's own call.
   */
  private outOfTurn(open: Reassembly | undefined, h: PduHeader, status: number, why: string, contextId: number): void {
    if (open && !(this.bits & MULTIPLEXED)) return this.faultAndClose(open.first, status, why, open.call.pc.id, 0);
    this.faultAndClose(h, status, why, contextId, 0);
  }

  private execute(init: ServerCallInit, drep: number, stub: Buffer): void {
    const pc = init.pc;
    const call = new ServerCall(this, init);
    const level = init.auth?.authLevel ?? AuthLevel.None;
    const min = this.host.minAuthLevel(pc.iface);
    if (level < min) {
      this.log.info({ authLevel: level, minAuthLevel: min, iface: pc.iface.name }, 'call below the minimum auth level');
      this.sendFault(call, FaultStatus.ACCESS_DENIED);
      return;
    }
    const popped = popVerificationTrailer(stub, init.littleEndian);
    if (popped.commands) {
      const bad = checkVerificationTrailer(popped.commands, init, drep, (this.bits & CLIENT_HEADER_SIGNING) !== 0);
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
      out = pc.ndr64 ? pc.iface.dispatchNdr64!(init.opnum, popped.stub, call) : pc.iface.dispatch(init.opnum, popped.stub, call);
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
      const drained = this.seldom?.drained;
      if (this.calls === undefined && drained) queueMicrotask(drained);
    }
    return !this.stream.closed && !call.noReply;
  }

  answer(call: ServerCall, out: Buffer): void {
    if (!this.finish(call)) return;
    let frags: Buffer[];
    try {
      frags = buildResponseFragments(call, out, this.maxXmitFrag);
    } catch (err) {
      this.log.error({ err }, 'could not build the response');
      this.sendFault(call, FaultStatus.NCA_S_FAULT_UNSPEC);
      this.close('response protection failed');
      return;
    }
    this.stream.send(frags.length === 1 ? frags[0] : Buffer.concat(frags));
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
      if (err.path[0]?.endsWith('.out')) this.log.error({ err, iface: iface.name, opnum: call.opnum }, 'response did not encode');
      else this.log.info({ iface: iface.name, opnum: call.opnum, why: (err as Error).message }, 'bad stub data');
    } else {
      status = FaultStatus.NCA_S_FAULT_UNSPEC;
      this.log.error({ err, iface: iface.name, opnum: call.opnum, op: iface.operationNames[call.opnum] }, 'server method failed');
    }
    if (this.finish(call)) this.sendFault(call, status, flags);
  }

  /** A fault answering a call (counted by the server's onFault hook). */
  private sendFault(call: ServerCall, status: number, flags = 0): void {
    this.host.options.onFault?.(call.iface.name, call.opnum, status);
    this.stream.send(encodeFault(call.callId, call.littleEndian, call.contextId, status, flags));
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
    if (this.seldom?.incoming?.first.callId === callId) return;
    const call = Few.find(this.calls, (c) => c.callId === callId);
    if (!call) return;
    if (this.logsDebug) this.log.debug({ callId, kind }, 'call aborted by the client');
    this.abortCall(call, kind);
  }

  /**
   * Graceful shutdown: abort every pending call with reason 'shutdown', give those still
   * unanswered graceMs to answer, fault the rest, then close.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.stream.closed) return;
    const pending = [...Few.list(this.calls)];
    for (const c of pending) this.abortCall(c, 'shutdown');
    if (this.pendingCalls > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((res) => {
        this.more.drained = res;
        timer = setTimeout(res, graceMs);
      });
      clearTimeout(timer);
      this.more.drained = undefined;
    }
    for (const c of pending) if (this.finish(c)) this.sendFault(c, FaultStatus.SERVER_UNAVAILABLE);
    await this.stream.closeAndWait('server shutdown');
  }

  /** The connection ended: pending calls are aborted, the association group let go. */
  onClosed(why: string): void {
    this.forgetIdleTimer();
    const calls = Few.list(this.calls);
    this.calls = undefined;
    for (const c of calls) {
      c.done = true;
      c.abort(new CallAborted('closed'));
    }
    if (this.seldom) {
      this.seldom.incoming?.release();
      this.seldom.incoming = undefined;
    }
    if (this.logsDebug) this.log.debug({ why }, 'connection closed');
    if (this.associationGroup) this.associationGroup.remove(this);
    this.host.connectionClosed(this);
  }
}
