/**
 * One call in flight: the connection's record of it, the CallContext a server method sees,
 * and, for a call answered later, its reply handle (Samba's dcesrv_call_state with
 * DCESRV_CALL_STATE_FLAG_ASYNC), in one object. A long-pending call (AsyncNotify) holds it for
 * minutes, by the ten thousand, so it is one small object whose context fields are read from
 * its connection rather than copied (memory benchmark, issue 7).
 */
import { DispatchFault, type Reply, type RpcCall, type RpcInterface } from '../ndr/dispatch';
import { Few } from '../lib/few';
import type { AssociationGroup } from './association-group';
import type { AuthState } from './auth-state';
import type { PresentationContext } from './presentation';
import type { CallAborted, CallAbortListener, CallContext } from './call-context';
import { AuthLevel, type Identity } from './security';

/** What a call reads from the connection it arrived on, and how it answers there. */
export interface CallOrigin {
  readonly id: number;
  readonly associationGroup: AssociationGroup | undefined;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** A call taken with later(): it is in flight until answered. */
  callDeferred(call: ServerCall): void;
  /** Send the response stub of a call. */
  answer(call: ServerCall, stub: Buffer): void;
  /** End a call with the fault an error stands for (DispatchFault, NdrError, anything else). */
  answerError(call: ServerCall, err: unknown): void;
}

/** What a request decided before its call runs. */
export interface ServerCallInit {
  readonly callId: number;
  /** The presentation context the request named. */
  readonly pc: PresentationContext;
  readonly opnum: number;
  readonly littleEndian: boolean;
  readonly auth: AuthState | undefined;
  /** PFC_MAYBE: the client wants no answer. */
  readonly noReply: boolean;
}

// ServerCall's yes/no facts, as bits of one small integer (a field each is 8 B per waiting call).
const LITTLE_ENDIAN = 1;
const NO_REPLY = 2;
const DONE = 4;

export class ServerCall implements CallContext, RpcCall<CallContext>, Reply<unknown> {
  readonly callId: number;
  readonly pc: PresentationContext;
  readonly opnum: number;
  readonly auth: AuthState | undefined;
  private bits: number;
  reason: CallAborted | undefined = undefined;
  private listeners: Few<CallAbortListener> = undefined;
  /** Set by later(): the encoder of the operation's Out in the call's transfer syntax. */
  private encode: ((out: unknown, littleEndian: boolean) => Buffer) | undefined = undefined;

  constructor(private readonly origin: CallOrigin, init: ServerCallInit) {
    this.callId = init.callId;
    this.pc = init.pc;
    this.opnum = init.opnum;
    this.auth = init.auth;
    this.bits = (init.littleEndian ? LITTLE_ENDIAN : 0) | (init.noReply ? NO_REPLY : 0);
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
    return this.origin.localAddress;
  }
  get localPort(): number {
    return this.origin.localPort;
  }
  get remoteAddress(): string {
    return this.origin.remoteAddress;
  }
  get remotePort(): number {
    return this.origin.remotePort;
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
    return this.listeners !== undefined;
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
      stub = this.encode!(out, this.littleEndian);
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
    if (this.reason) runListener(listener, this.reason);
    else this.listeners = Few.add(this.listeners, listener);
  }

  /** Tell the listeners, once. */
  abort(reason: CallAborted): void {
    if (this.reason) return;
    this.reason = reason;
    const ls = this.listeners;
    if (ls === undefined) return;
    for (const l of Few.list(ls)) runListener(l, reason);
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
