/**
 * One connection-oriented DCE/RPC association on one TCP socket (framing and output in
 * src/rpc/pdu-stream.ts): bind and alter_context, auth legs, request reassembly, the calls in
 * flight, responses, faults, cancels. Many calls may be pending at once and answers leave in
 * any order.
 */
import type { Socket } from 'node:net';
import type { RpcInterface } from '../ndr/dispatch';
import { DispatchFault, isPromise } from '../ndr/dispatch';
import type { CallContext } from './call-context';
import { AuthLevel, type SecurityProvider } from './security';
import {
  BindNakReason, FaultStatus, HEADER_LENGTH, MUST_RECV_FRAG_SIZE, NDR64_SYNTAX, NDR_SYNTAX, PType, PTYPE_NAMES, Pfc, faultName,
} from './constants';
import {
  type OutgoingAuth, type PduHeader, decodeBind, decodeHeader, decodeRequest, decodeSecTrailer, encodeBindAck, encodeBindNak,
  encodeFault,
} from './pdu';
import { PduError } from './wire';
import { AuthContexts, type AuthState, buildResponseFragments, isProtected } from './auth-state';
import type { AssociationGroup, AssociationGroupTable } from './association-group';
import { type PresentationContext, findContext, negotiateContexts } from './presentation';
import { popVerificationTrailer, checkVerificationTrailer } from './verification-trailer';
import { CallAborted, ServerCall } from './call';
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

interface Reassembly {
  readonly callId: number;
  readonly contextId: number;
  readonly opnum: number;
  readonly drep: number;
  readonly le: boolean;
  readonly auth: AuthState | undefined;
  readonly noReply: boolean;
  readonly chunks: Buffer[];
  size: number;
  /** Already answered (unknown context, too busy, cancelled): swallow the rest. */
  discard: boolean;
}

export class Connection extends PduStream {
  private bound = false;
  private maxXmitFrag = MUST_RECV_FRAG_SIZE;
  private clientHeaderSigning = false;
  private group: AssociationGroup | undefined;
  /** Negotiated presentation contexts: a few, so a list (a Map is ~0.2 KB per connection). */
  private contexts: readonly PresentationContext[] = [];
  /** Made on the first auth leg: an anonymous connection never needs one (~0.4 KB, memory benchmark). */
  private authTable: AuthContexts | undefined;
  /** Fragmented requests being reassembled; made on first use (most calls are one fragment). */
  private reassembly: Map<number, Reassembly> | undefined;
  private reassemblyBytes = 0;
  /**
   * Calls dispatched and not yet answered (at most maxPendingCallsPerConnection): one call (a
   * client waiting in AsyncNotify) is held without an array (~56 B per connection).
   */
  private calls: ServerCall | ServerCall[] | undefined;
  /** Set by shutdown(): told when the last call in flight has answered. */
  private drained: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, private readonly host: ConnectionHost, private readonly endpoint: EndpointView) {
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
    const c = this.calls;
    return c === undefined ? 0 : Array.isArray(c) ? c.length : 1;
  }

  /** The association group, once bound. */
  get associationGroup(): AssociationGroup | undefined {
    return this.group;
  }

  private findCall(callId: number): ServerCall | undefined {
    const c = this.calls;
    if (!Array.isArray(c)) return c?.callId === callId ? c : undefined;
    for (const x of c) if (x.callId === callId) return x;
    return undefined;
  }

  private callList(): readonly ServerCall[] {
    const c = this.calls;
    return c === undefined ? [] : Array.isArray(c) ? c : [c];
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
    this.log.warn({ status: faultName(status), why, ptype: PTYPE_NAMES[h.ptype] }, 'fault; closing');
    this.send(encodeFault(h.callId, h.le, contextId, status, flags));
    this.close(why);
  }

  private onBind(pdu: Buffer, h: PduHeader): void {
    const st = h.authLength > 0 ? decodeSecTrailer(pdu, h, HEADER_LENGTH) : undefined;
    const body = decodeBind(pdu, h, st ? st.offset - st.authPadLength : h.fragLength);
    if (body.contexts.length === 0) return this.bindNakAndClose(h, BindNakReason.PROTOCOL_VERSION_NOT_SUPPORTED, 'bind without presentation contexts');
    if (body.contexts.some((c) => c.transferSyntaxes.length === 0)) return this.bindNakAndClose(h, BindNakReason.NOT_SPECIFIED, 'context without transfer syntaxes');
    let joined: AssociationGroup | undefined;
    if (body.assocGroupId !== 0) {
      joined = this.host.groups.find(body.assocGroupId);
      if (!joined) return this.bindNakAndClose(h, BindNakReason.NOT_SPECIFIED, `unknown association group 0x${body.assocGroupId.toString(16)}`);
    }
    const negotiated = this.negotiate(body.contexts);
    if (negotiated === undefined) return this.bindNakAndClose(h, BindNakReason.NOT_SPECIFIED, 'conflicting presentation context');
    const results = negotiated.results;
    let auth: OutgoingAuth | undefined;
    if (st) {
      // The bind_ack echoes the flag, so it is negotiated as soon as the client sets it.
      if (h.pfcFlags & Pfc.SUPPORT_HEADER_SIGN) this.clientHeaderSigning = true;
      const r = this.auths.start(st, this.clientHeaderSigning);
      if (typeof r === 'number') return this.bindNakAndClose(h, r, 'auth refused in bind');
      auth = r;
    }
    // C706: the client may send fragments up to min(max_xmit, max_recv) and must accept 1432.
    const clientMax = Math.max(Math.min(body.maxXmitFrag, body.maxRecvFrag), MUST_RECV_FRAG_SIZE);
    this.maxXmitFrag = Math.min(clientMax, this.limits.maxFragmentSize) & ~7;
    this.group = joined ?? this.host.groups.create();
    this.group.add(this.id);
    this.bound = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    let flags = Pfc.FIRST_FRAG | Pfc.LAST_FRAG | (h.pfcFlags & Pfc.CONC_MPX);
    if (st && this.clientHeaderSigning) flags |= Pfc.SUPPORT_HEADER_SIGN;
    this.send(encodeBindAck({
      ptype: PType.BIND_ACK, callId: h.callId, le: h.le, flags,
      maxXmitFrag: this.maxXmitFrag, maxRecvFrag: this.maxXmitFrag, assocGroupId: this.group.id,
      secondaryAddress: String(this.endpoint.port), results, auth,
    }));
    if (this.host.options.logger.isLevelEnabled('debug')) {
      this.log.debug({ group: this.group.id, joined: !!joined, frag: this.maxXmitFrag, results: results.map((r) => r.result) }, 'bound');
    }
  }

  /** Negotiate offered presentation contexts; the accepted ones are this connection's from now on. */
  private negotiate(offered: Parameters<typeof negotiateContexts>[0]): ReturnType<typeof negotiateContexts> {
    const max = this.limits.maxContextsPerConnection;
    const r = negotiateContexts(offered, this.contexts, this.endpoint.interfaces, max,
      () => this.warnLimited('presentation context limit reached', { limit: max }));
    if (r) this.contexts = r.contexts;
    return r;
  }

  private onAlterContext(pdu: Buffer, h: PduHeader): void {
    const st = h.authLength > 0 ? decodeSecTrailer(pdu, h, HEADER_LENGTH) : undefined;
    const body = decodeBind(pdu, h, st ? st.offset - st.authPadLength : h.fragLength);
    if (body.contexts.length === 0 || body.contexts.some((c) => c.transferSyntaxes.length === 0)) {
      return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'malformed alter_context');
    }
    const negotiated = this.negotiate(body.contexts);
    if (negotiated === undefined) return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'conflicting presentation context');
    const results = negotiated.results;
    let auth: OutgoingAuth | undefined;
    if (st) {
      const existing = this.auths.get(st.authContextId);
      if (existing) {
        if (existing.failed) return this.faultAndClose(h, 0, FaultStatus.ACCESS_DENIED, 'alter_context on a refused auth context');
        if (existing.complete) return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'alter_context on a finished auth context');
        if (existing.authType !== st.authType || existing.authLevel !== st.authLevel) {
          return this.faultAndClose(h, 0, FaultStatus.SEC_PKG_ERROR, 'auth type or level changed between legs');
        }
        const r = this.auths.continueLeg(existing, st.authValue);
        if (r === undefined) return this.faultAndClose(h, 0, FaultStatus.SEC_PKG_ERROR, 'auth leg refused in alter_context');
        auth = { authType: st.authType, authLevel: st.authLevel, authContextId: st.authContextId, token: r };
      } else {
        const r = this.auths.start(st, this.clientHeaderSigning || (h.pfcFlags & Pfc.SUPPORT_HEADER_SIGN) !== 0);
        if (typeof r === 'number') return this.faultAndClose(h, 0, FaultStatus.SEC_PKG_ERROR, 'auth refused in alter_context');
        auth = r;
      }
      if (h.pfcFlags & Pfc.SUPPORT_HEADER_SIGN) this.clientHeaderSigning = true;
    }
    let flags = Pfc.FIRST_FRAG | Pfc.LAST_FRAG | (h.pfcFlags & Pfc.CONC_MPX);
    if (st && this.clientHeaderSigning) flags |= Pfc.SUPPORT_HEADER_SIGN;
    this.send(encodeBindAck({
      ptype: PType.ALTER_CONTEXT_RESP, callId: h.callId, le: h.le, flags,
      maxXmitFrag: this.maxXmitFrag, maxRecvFrag: this.maxXmitFrag, assocGroupId: this.group?.id ?? 0,
      secondaryAddress: '', results, auth,
    }));
  }

  // ---------------------------------------------------------------------- auth

  private onAuth3(pdu: Buffer, h: PduHeader): void {
    if (h.authLength === 0) return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'auth3 without auth');
    const st = decodeSecTrailer(pdu, h, HEADER_LENGTH);
    const a = this.auths.get(st.authContextId);
    if (!a || a.complete || a.failed) return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'auth3 for no auth context in progress');
    if (a.authType !== st.authType || a.authLevel !== st.authLevel) {
      a.failed = true;
      return this.faultAndClose(h, 0, FaultStatus.NCA_S_PROTO_ERROR, 'auth type or level changed in auth3');
    }
    // No reply to auth3; a refusal marks the context so that its requests are refused.
    this.auths.continueLeg(a, st.authValue);
  }

  // ------------------------------------------------------------------ requests

  private onRequest(pdu: Buffer, h: PduHeader): void {
    const req = decodeRequest(pdu, h);
    if (h.fragLength > this.limits.maxFragmentSize) {
      return this.faultAndClose(h, req.contextId, FaultStatus.NCA_S_PROTO_ERROR, `request fragment of ${h.fragLength} bytes`, 0);
    }
    let auth: AuthState | undefined;
    let stub: Buffer;
    if (h.authLength > 0) {
      const st = decodeSecTrailer(pdu, h, req.stubOffset);
      auth = this.auths.get(st.authContextId);
      if (!auth || auth.failed || !auth.complete || auth.authType !== st.authType || auth.authLevel !== st.authLevel) {
        return this.faultAndClose(h, req.contextId, FaultStatus.ACCESS_DENIED, 'request on an unusable auth context', 0);
      }
      if (isProtected(auth.authLevel)) {
        try {
          auth.security.unprotect(pdu.subarray(0, st.offset + 8), req.stubOffset, st.offset, auth.authLevel, st.authValue);
        } catch (err) {
          this.log.warn({ why: (err as Error).message }, 'request verifier check failed');
          return this.faultAndClose(h, req.contextId, FaultStatus.ACCESS_DENIED, 'bad verifier', 0);
        }
      }
      stub = pdu.subarray(req.stubOffset, st.offset - st.authPadLength);
    } else {
      // Level connect: requests carry no trailer but belong to the connect-level context.
      auth = this.authTable?.connectLevel();
      stub = pdu.subarray(req.stubOffset);
    }
    const first = (h.pfcFlags & Pfc.FIRST_FRAG) !== 0;
    const last = (h.pfcFlags & Pfc.LAST_FRAG) !== 0;
    let r: Reassembly | undefined;
    if (first) {
      if (this.reassembly?.has(h.callId) || this.findCall(h.callId)) {
        return this.faultAndClose(h, req.contextId, FaultStatus.NCA_S_PROTO_ERROR, `call id ${h.callId} already in use`);
      }
      if (this.pendingCalls + (this.reassembly?.size ?? 0) >= this.limits.maxPendingCallsPerConnection) {
        this.warnLimited('pending call limit reached; call refused', { limit: this.limits.maxPendingCallsPerConnection });
        if (!last) return this.faultAndClose(h, req.contextId, FaultStatus.NCA_S_SERVER_TOO_BUSY, 'pending call limit');
        this.send(encodeFault(h.callId, h.le, req.contextId, FaultStatus.NCA_S_SERVER_TOO_BUSY, Pfc.DID_NOT_EXECUTE));
        return;
      }
      if (!last && req.allocHint > this.limits.maxRequestSize) {
        return this.faultAndClose(h, req.contextId, FaultStatus.ACCESS_DENIED, `alloc_hint ${req.allocHint} over the request limit`, 0);
      }
      r = {
        callId: h.callId, contextId: req.contextId, opnum: req.opnum, drep: h.drep, le: h.le, auth,
        noReply: (h.pfcFlags & Pfc.MAYBE) !== 0, chunks: [], size: 0, discard: false,
      };
      if (!findContext(this.contexts, req.contextId)) {
        this.warnLimited('request on an unknown presentation context', { contextId: req.contextId });
        this.send(encodeFault(h.callId, h.le, req.contextId, FaultStatus.NCA_S_UNKNOWN_IF, Pfc.DID_NOT_EXECUTE));
        r.discard = true;
      }
      // Entries (even discarded ones) count against the pending call limit, so this map is bounded.
      if (!last) (this.reassembly ??= new Map()).set(h.callId, r);
    } else {
      r = this.reassembly?.get(h.callId);
      if (!r) return this.faultAndClose(h, req.contextId, FaultStatus.NCA_S_PROTO_ERROR, `continuation of unknown call ${h.callId}`);
      if (r.drep !== h.drep || r.auth !== auth || r.contextId !== req.contextId) {
        return this.faultAndClose(h, r.contextId, FaultStatus.NCA_S_PROTO_ERROR, 'fragment differs from the first fragment');
      }
    }
    if (!r.discard) {
      r.size += stub.length;
      if (!(first && last)) this.reassemblyBytes += stub.length;
      if (r.size > this.limits.maxRequestSize || this.reassemblyBytes > this.limits.maxReassemblyPerConnection) {
        return this.faultAndClose(h, r.contextId, FaultStatus.ACCESS_DENIED, `reassembled request over the limit (${r.size} bytes)`, 0);
      }
      // Copy fragments held for reassembly so they do not pin the receive buffer.
      r.chunks.push(first && last ? stub : Buffer.from(stub));
    }
    if (!last) return;
    if (!first) {
      this.reassembly?.delete(h.callId);
      this.reassemblyBytes -= r.discard ? 0 : r.size;
    }
    if (r.discard) return;
    this.execute(r, r.chunks.length === 1 ? r.chunks[0] : Buffer.concat(r.chunks, r.size));
  }

  private execute(r: Reassembly, stub: Buffer): void {
    const pc = findContext(this.contexts, r.contextId);
    if (!pc) return; // checked at the first fragment; contexts are never removed
    const level = r.auth?.authLevel ?? AuthLevel.None;
    const min = this.host.minAuthLevel(pc.iface);
    if (level < min) {
      this.log.info({ authLevel: level, minAuthLevel: min, iface: pc.iface.name }, 'call below the minimum auth level');
      this.sendFault(pc.iface, r.opnum, r.callId, r.le, r.contextId, FaultStatus.ACCESS_DENIED, 0);
      return;
    }
    const popped = popVerificationTrailer(stub, r.le);
    if (popped.commands) {
      const bad = checkVerificationTrailer(popped.commands, {
        clientHeaderSigning: this.clientHeaderSigning, abstractSyntax: pc.abstractSyntax, transferSyntax: pc.ndr64 ? NDR64_SYNTAX : NDR_SYNTAX,
        ptype: PType.REQUEST, drep: r.drep, callId: r.callId, contextId: r.contextId, opnum: r.opnum,
      });
      if (bad) {
        this.log.warn({ why: bad, iface: pc.iface.name }, 'verification trailer check failed');
        this.sendFault(pc.iface, r.opnum, r.callId, r.le, r.contextId, FaultStatus.ACCESS_DENIED, 0);
        return;
      }
    }
    this.host.stats.callsIn++;
    const call = new ServerCall(this, r.callId, r.contextId, r.opnum, r.le, r.auth, r.noReply, pc.iface);
    let out: Buffer | Promise<Buffer>;
    try {
      // Each call in its context's transfer syntax (negotiated only where dispatchNdr64 exists).
      out = pc.ndr64 ? pc.iface.dispatchNdr64!(r.opnum, popped.stub, r.le, call) : pc.iface.dispatch(r.opnum, popped.stub, r.le, call);
    } catch (err) {
      this.answerError(call, err);
      return;
    }
    if (!isPromise(out)) {
      this.answer(call, out);
      return;
    }
    // Answered later (AsyncNotify): the call is in flight until then.
    const c = this.calls;
    if (c === undefined) this.calls = call;
    else if (Array.isArray(c)) c.push(call);
    else this.calls = [c, call];
    out.then((b) => this.answer(call, b), (err: unknown) => this.answerError(call, err));
  }

  /** The call leaves the table; true if an answer is still due and can be sent. */
  private finish(call: ServerCall): boolean {
    if (call.done) return false;
    call.done = true;
    const calls = this.calls;
    let removed = false;
    if (calls === call) {
      this.calls = undefined;
      removed = true;
    } else if (Array.isArray(calls)) {
      const i = calls.indexOf(call);
      if (i >= 0) {
        calls.splice(i, 1);
        removed = true;
      }
    }
    if (removed && this.pendingCalls === 0 && this.drained) queueMicrotask(this.drained);
    return !this.closed && !call.noReply;
  }

  private answer(call: ServerCall, out: Buffer): void {
    if (!this.finish(call)) return;
    let frags: Buffer[];
    try {
      frags = buildResponseFragments({ callId: call.callId, contextId: call.contextId, le: call.le, maxXmitFrag: this.maxXmitFrag, stub: out, auth: call.auth });
    } catch (err) {
      this.log.error({ err }, 'could not build the response');
      this.sendFault(call.iface, call.opnum, call.callId, call.le, call.contextId, FaultStatus.NCA_S_FAULT_UNSPEC, 0);
      this.close('response protection failed');
      return;
    }
    this.send(frags.length === 1 ? frags[0] : Buffer.concat(frags));
  }

  private answerError(call: ServerCall, err: unknown): void {
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
    } else if (call.aborted) {
      status = call.reason?.kind === 'shutdown' ? FaultStatus.SERVER_UNAVAILABLE : FaultStatus.NCA_S_FAULT_CANCEL;
    } else {
      status = FaultStatus.NCA_S_FAULT_UNSPEC;
      this.log.error({ err, iface: iface.name, opnum: call.opnum, op: iface.operationNames[call.opnum] }, 'server method failed');
    }
    if (!this.finish(call)) return;
    this.sendFault(iface, call.opnum, call.callId, call.le, call.contextId, status, flags);
  }

  /** A fault answering a call of `iface` (counted by the server's onFault hook). */
  private sendFault(iface: RpcInterface<CallContext>, opnum: number, callId: number, le: boolean, contextId: number, status: number, flags: number): void {
    this.host.options.onFault?.(iface.name, opnum, status);
    this.send(encodeFault(callId, le, contextId, status, flags));
  }

  private onCancel(callId: number, kind: 'cancel' | 'orphaned'): void {
    const r = this.reassembly?.get(callId);
    if (r && !r.discard) {
      // Not started yet: drop what we hold and swallow the rest of its fragments.
      this.reassemblyBytes -= r.size;
      r.discard = true;
      r.chunks.length = 0;
      if (kind === 'cancel') this.send(encodeFault(callId, r.le, r.contextId, FaultStatus.NCA_S_FAULT_CANCEL, Pfc.DID_NOT_EXECUTE));
      return;
    }
    const call = this.findCall(callId);
    if (!call) return;
    this.log.debug({ callId, kind }, 'call aborted by the client');
    call.abort(new CallAborted(kind));
    if (kind === 'cancel' && this.finish(call)) {
      this.sendFault(call.iface, call.opnum, callId, call.le, call.contextId, FaultStatus.NCA_S_FAULT_CANCEL, 0);
    } else {
      this.finish(call);
    }
  }

  /**
   * Graceful shutdown: abort every pending call with reason 'shutdown', give them graceMs to
   * answer (response or fault), fault the rest, then close.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.closed) return;
    const pending = [...this.callList()];
    for (const c of pending) c.abort(new CallAborted('shutdown'));
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
      if (this.finish(c)) this.sendFault(c.iface, c.opnum, c.callId, c.le, c.contextId, FaultStatus.SERVER_UNAVAILABLE, 0);
    }
    await this.closeAndWait('server shutdown');
  }

  /** The connection ended: pending calls are aborted, the association group let go. */
  protected onClosed(why: string): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const calls = this.callList();
    this.calls = undefined;
    for (const c of calls) {
      c.done = true;
      c.abort(new CallAborted('closed'));
    }
    this.reassembly = undefined;
    this.reassemblyBytes = 0;
    if (this.logsDebug) this.log.debug({ why }, 'connection closed');
    if (this.group) this.group.remove(this.id);
    this.host.connectionClosed(this);
  }
}
