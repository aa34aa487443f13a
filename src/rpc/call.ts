/**
 * One call in flight: the connection's record of it, the CallContext a server method sees,
 * and, for a call answered later, its reply handle (Samba's dcesrv_call_state with
 * DCESRV_CALL_STATE_FLAG_ASYNC), in one object. A long-pending call (AsyncNotify) holds it for
 * minutes, by the ten thousand, so it is one small object whose context fields are read from
 * its connection rather than copied (memory benchmark, issue 7). Before it runs, a request in
 * several fragments is a Reassembly (at the end of this file).
 */
import { DispatchFault, type Reply, type RpcCall, type RpcInterface } from '../ndr/dispatch';
import { Few } from '../lib/few';
import { LastMemo } from '../lib/last-memo';
import type { AssociationGroup } from './association-group';
import type { PresentationContext } from './presentation';
import { CallAborted, type CallAbortListener, type CallContext } from './call-context';
import { AuthLevel, type AuthState, type Identity } from './security';
import type { PduHeader } from './pdu';
import type { RpcLimits } from './options';

/** What a call reads from the connection it arrived on, and how it answers there. */
export interface CallOrigin {
  readonly id: number;
  readonly associationGroup: AssociationGroup | undefined;
  /** Its transport: the addresses. */
  readonly stream: Pick<CallContext, 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort'>;
  /** A call taken with later(): it is in flight until answered. */
  callDeferred(call: ServerCall): void;
  /** Send the response stub of a call. */
  answer(call: ServerCall, stub: Buffer): void;
  /** End a call with the fault an error stands for (DispatchFault, NdrError, anything else). */
  answerError(call: ServerCall, err: unknown): void;
}

/**
 * The stub encoded last: a server answering many calls with one Out object (a Witness fan-out)
 * has it encoded once (Reply.send's contract: an Out is not changed after it was sent).
 */
const stubs = new LastMemo<Buffer>();
const encodeStub = (out: unknown, encode: (out: unknown, littleEndian: boolean) => Buffer, littleEndian: boolean): Buffer => encode(out, littleEndian);

/** What a request decided before its call runs. */
export type ServerCallInit = Pick<ServerCall, 'callId' | 'pc' | 'opnum' | 'littleEndian' | 'auth' | 'noReply'>;

// ServerCall's yes/no facts and its opnum, in one small integer (a field each is 8 B per
// waiting call, memory benchmark).
const LITTLE_ENDIAN = 1;
const NO_REPLY = 2;
const DONE = 4;
const LISTENED = 8;
const OPNUM_SHIFT = 8;

export class ServerCall implements CallContext, RpcCall<CallContext>, Reply<unknown> {
  readonly callId: number;
  /** The presentation context the request named. */
  readonly pc: PresentationContext;
  readonly auth: AuthState | undefined;
  private bits: number;
  /** The abort listeners until the call is aborted, then why (one field for both). */
  private aborted: Few<CallAbortListener> | CallAborted = undefined;
  /** Set by later(): the encoder of the operation's Out in the call's transfer syntax. */
  private encode: ((out: unknown, littleEndian: boolean) => Buffer) | undefined = undefined;

  constructor(private readonly origin: CallOrigin, init: ServerCallInit) {
    this.callId = init.callId;
    this.pc = init.pc;
    this.auth = init.auth;
    this.bits = (init.opnum << OPNUM_SHIFT) | (init.littleEndian ? LITTLE_ENDIAN : 0) | (init.noReply ? NO_REPLY : 0);
  }

  get opnum(): number {
    return this.bits >>> OPNUM_SHIFT;
  }

  get littleEndian(): boolean {
    return (this.bits & LITTLE_ENDIAN) !== 0;
  }
  /** PFC_MAYBE: the client wants no answer. */
  get noReply(): boolean {
    return (this.bits & NO_REPLY) !== 0;
  }
  /** True once an answer went out (or none is due any more). */
  get done(): boolean {
    return (this.bits & DONE) !== 0;
  }
  set done(v: boolean) {
    this.bits = v ? this.bits | DONE : this.bits & ~DONE;
  }

  get contextId(): number {
    return this.pc.id;
  }
  get iface(): RpcInterface<CallContext> {
    return this.pc.iface;
  }

  get context(): CallContext {
    return this;
  }
  get connectionId(): number {
    return this.origin.id;
  }
  get associationGroup(): AssociationGroup {
    return this.origin.associationGroup!; // calls exist only on bound connections
  }
  get localAddress(): string {
    return this.origin.stream.localAddress;
  }
  get localPort(): number {
    return this.origin.stream.localPort;
  }
  get remoteAddress(): string {
    return this.origin.stream.remoteAddress;
  }
  get remotePort(): number {
    return this.origin.stream.remotePort;
  }
  get identity(): Identity | undefined {
    return this.auth?.security.identity;
  }
  get authLevel(): AuthLevel {
    return this.auth?.authLevel ?? AuthLevel.None;
  }

  /** True once later() was called: the dispatcher returned without an answer. */
  get deferred(): boolean {
    return this.encode !== undefined;
  }

  /** True when a server listens for the call's abort (it then leaves the answer to the runtime). */
  get listened(): boolean {
    return (this.bits & LISTENED) !== 0;
  }

  later<Out>(encode: (out: Out, littleEndian: boolean) => Buffer): Reply<Out> {
    this.encode = encode as (out: unknown, littleEndian: boolean) => Buffer;
    this.origin.callDeferred(this);
    return this;
  }

  send(out: unknown): void {
    if (this.done) return;
    let stub: Buffer;
    try {
      stub = stubs.get(out, this.encode!, this.littleEndian, encodeStub);
    } catch (err) {
      this.origin.answerError(this, err);
      return;
    }
    this.origin.answer(this, stub);
  }

  fault(status: number): void {
    if (!this.done) this.origin.answerError(this, new DispatchFault(status));
  }

  onAbort(listener: CallAbortListener): void {
    const a = this.aborted;
    if (a instanceof CallAborted) return runListener(listener, a);
    this.aborted = Few.add(a, listener);
    this.bits |= LISTENED;
  }

  /** Tell the listeners, once. */
  abort(reason: CallAborted): void {
    const a = this.aborted;
    if (a instanceof CallAborted) return;
    this.aborted = reason;
    for (const l of Few.list(a)) runListener(l, reason);
  }
}

/** A throwing abort listener must not stop the others nor the connection (like EventTarget, it is reported). */
function runListener(l: CallAbortListener, reason: CallAborted): void {
  try {
    l.callAborted(reason);
  } catch (err) {
    process.emitWarning(`a call's abort listener threw: ${(err as Error)?.stack ?? String(err)}`);
  }
}

/**
 * A request arriving in several fragments (MS-RPCE 3.3.3): its first fragment decided the call,
 * later ones add stub bytes. A connection receives one at a time, so maxRequestSize bounds
 * what a connection holds in reassembly too (no separate per-connection limit). The discard rule: a call announced (alloc_hint) or
 * grown past that budget is refused whole (fault 0x5 and close, as Windows in Samba's
 * raw_protocol tests); nothing past the budget is kept.
 */
/** Bytes held in reassembly over all connections of one server (its limits object stands for it). */
const held = new WeakMap<Readonly<RpcLimits>, { bytes: number }>();

export class Reassembly {
  /** Copies, so that held fragments do not pin the receive buffer. */
  private readonly chunks: Buffer[] = [];
  /** Bytes received, the refused fragment included. */
  length = 0;
  /** Bytes this one counts in the server's total (released when whole or abandoned). */
  private kept = 0;
  private ledger: { bytes: number } | undefined = undefined;

  constructor(readonly first: PduHeader, readonly call: ServerCallInit) {}

  static budget(limits: Readonly<RpcLimits>): number {
    return limits.maxRequestSize;
  }

  /** Bytes all of a server's connections hold in reassembly now. */
  static heldBy(limits: Readonly<RpcLimits>): number {
    return held.get(limits)?.bytes ?? 0;
  }

  /**
   * Keep one fragment's stub; false past the request budget, or past maxReassemblyTotal over all
   * the server's connections (each may reassemble maxRequestSize: 1,000 connections x 4 MB would
   * be 4 GB of RSS a hostile client could make witnessd hold).
   */
  add(stub: Buffer, limits: Readonly<RpcLimits>): boolean {
    this.length += stub.length;
    if (this.length > Reassembly.budget(limits)) return false;
    let ledger = this.ledger;
    if (!ledger) {
      ledger = held.get(limits);
      if (!ledger) held.set(limits, (ledger = { bytes: 0 }));
      this.ledger = ledger;
    }
    if (ledger.bytes + stub.length > limits.maxReassemblyTotal) return false;
    ledger.bytes += stub.length;
    this.kept += stub.length;
    this.chunks.push(Buffer.from(stub));
    return true;
  }

  /** The bytes kept (all of them, unless a fragment passed the budget); they leave the server's total. */
  stub(): Buffer {
    const whole = Buffer.concat(this.chunks);
    this.release();
    return whole;
  }

  /** No longer held (whole, or abandoned with its connection). */
  release(): void {
    if (this.ledger) this.ledger.bytes -= this.kept;
    this.kept = 0;
  }
}
