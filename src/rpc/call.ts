/**
 * One call's abort state and the CallContext a server method sees. A long-pending call
 * (AsyncNotify) holds these for minutes, so both are kept small (see the comments).
 */
import type { AssociationGroup } from './association-group';
import type { CallContext } from './call-context';
import type { AuthLevel, Identity } from './security';

/** Why a call's signal was aborted; it is the signal's `reason`. */
export class CallAborted extends Error {
  constructor(readonly kind: 'cancel' | 'orphaned' | 'closed' | 'shutdown') {
    super(`call aborted: ${kind}`);
    this.name = 'CallAborted';
  }
}

/**
 * A call's abort state. The AbortController is made only when the service looks at
 * ctx.signal (most calls never do), and is born aborted if the call already was.
 */
export class CallAbort {
  private ctrl: AbortController | undefined;
  /** ctx.onAbort listeners (made on first use, like the controller). */
  private listeners: Array<() => void> | undefined;
  reason: CallAborted | undefined;
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
    if (ls) for (const l of ls) runListener(l);
  }
  onAbort(listener: () => void): () => void {
    if (this.reason) {
      queueMicrotask(() => runListener(listener));
      return () => undefined;
    }
    // [listener], not [] + push: a pushed-to empty array reserves 17 slots (memory benchmark).
    if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener];
    return () => {
      const i = this.listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.listeners!.splice(i, 1);
    };
  }
}

/** A throwing abort listener must not stop the others nor the connection (like EventTarget, it is reported). */
function runListener(l: () => void): void {
  try {
    l();
  } catch (err) {
    process.emitWarning(`a call's abort listener threw: ${(err as Error)?.stack ?? String(err)}`);
  }
}

/**
 * A call's context. A class, with the signal getter on its prototype: an object literal
 * with a getter became a dictionary-mode object with a ~0.8 KB property table, held for as
 * long as the call is pending (heap snapshot of 1,000 pending AsyncNotify calls).
 */
export class LiveCallContext implements CallContext {
  constructor(
    readonly callId: number,
    readonly connectionId: number,
    readonly associationGroup: AssociationGroup,
    readonly localAddress: string,
    readonly localPort: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly identity: Identity | undefined,
    readonly authLevel: AuthLevel,
    private readonly abort: CallAbort,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  onAbort(listener: () => void): () => void {
    return this.abort.onAbort(listener);
  }
}
