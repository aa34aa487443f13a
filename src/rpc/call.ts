/**
 * One call in flight: the connection's record of it, its abort state and the CallContext a
 * server method sees, in one object. A long-pending call (AsyncNotify) holds it for minutes,
 * by the ten thousand, so it is one small object whose context fields are read from its
 * connection rather than copied (memory benchmark, issue 7).
 */
import type { RpcInterface } from '../ndr/dispatch';
import type { AssociationGroup } from './association-group';
import type { AuthState } from './auth-state';
import type { AbortListener, CallContext } from './call-context';
import { AuthLevel, type Identity } from './security';

/** Why a call's signal was aborted; it is the signal's `reason`. */
export class CallAborted extends Error {
  constructor(readonly kind: 'cancel' | 'orphaned' | 'closed' | 'shutdown') {
    super(`call aborted: ${kind}`);
    this.name = 'CallAborted';
  }
}

/** What a call reads from the connection it arrived on. */
export interface CallOrigin {
  readonly id: number;
  readonly associationGroup: AssociationGroup | undefined;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

export class ServerCall implements CallContext {
  /** True once an answer went out (or none is due any more). */
  done = false;
  reason: CallAborted | undefined;
  /** Made only when the service looks at ctx.signal (most calls never do). */
  private ctrl: AbortController | undefined;
  /** One listener (the usual case) or several. */
  private listeners: AbortListener | AbortListener[] | undefined;

  constructor(
    private readonly origin: CallOrigin,
    readonly callId: number,
    readonly contextId: number,
    readonly opnum: number,
    readonly le: boolean,
    readonly auth: AuthState | undefined,
    readonly noReply: boolean,
    readonly iface: RpcInterface<CallContext>,
  ) {}

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

  get signal(): AbortSignal {
    if (!this.ctrl) {
      this.ctrl = new AbortController();
      if (this.reason) this.ctrl.abort(this.reason);
    }
    return this.ctrl.signal;
  }

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  abort(reason: CallAborted): void {
    if (this.reason) return;
    this.reason = reason;
    this.ctrl?.abort(reason);
    const ls = this.listeners;
    this.listeners = undefined;
    if (Array.isArray(ls)) for (const l of ls) runListener(l);
    else if (ls) runListener(ls);
  }

  onAbort(listener: AbortListener): void {
    if (this.reason) {
      queueMicrotask(() => runListener(listener));
      return;
    }
    const ls = this.listeners;
    if (ls === undefined) this.listeners = listener;
    else if (Array.isArray(ls)) ls.push(listener);
    else this.listeners = [ls, listener];
  }

  offAbort(listener: AbortListener): void {
    const ls = this.listeners;
    if (ls === listener) this.listeners = undefined;
    else if (Array.isArray(ls)) {
      const i = ls.indexOf(listener);
      if (i >= 0) ls.splice(i, 1);
    }
  }
}

/** A throwing abort listener must not stop the others nor the connection (like EventTarget, it is reported). */
function runListener(l: AbortListener): void {
  try {
    if (typeof l === 'function') l();
    else l.callAborted();
  } catch (err) {
    process.emitWarning(`a call's abort listener threw: ${(err as Error)?.stack ?? String(err)}`);
  }
}

/**
 * The calls in flight on one connection: none, one, or several. One call (a client waiting in
 * AsyncNotify) is held without an array (~56 B per connection, memory benchmark of issue 7),
 * so the set is a value the connection keeps in one field and these functions update.
 */
export type CallSet = ServerCall | ServerCall[] | undefined;

export const callSet = {
  size(s: CallSet): number {
    return s === undefined ? 0 : Array.isArray(s) ? s.length : 1;
  },
  find(s: CallSet, callId: number): ServerCall | undefined {
    if (!Array.isArray(s)) return s?.callId === callId ? s : undefined;
    for (const x of s) if (x.callId === callId) return x;
    return undefined;
  },
  list(s: CallSet): readonly ServerCall[] {
    return s === undefined ? [] : Array.isArray(s) ? s : [s];
  },
  add(s: CallSet, call: ServerCall): CallSet {
    if (s === undefined) return call;
    if (Array.isArray(s)) {
      s.push(call);
      return s;
    }
    return [s, call];
  },
  /** The set without `call` (the same set when it was not in it). */
  remove(s: CallSet, call: ServerCall): CallSet {
    if (s === call) return undefined;
    if (Array.isArray(s)) {
      const i = s.indexOf(call);
      if (i >= 0) s.splice(i, 1);
    }
    return s;
  },
};
