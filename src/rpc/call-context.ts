/**
 * What a server method learns about the call it serves. The RPC runtime builds one per
 * request and passes it through the generated dispatcher untouched.
 */
import type { AuthLevel, Identity } from './security';

/** An association group (MS-RPCE 3.3.1.5.6): context handles live here. */
export interface AssociationGroupRef {
  readonly id: number;
  /**
   * Called once when the last connection of the group closes. Returns an unsubscribe
   * function. Services release their context handles here.
   */
  onClose(listener: (group: AssociationGroupRef) => void): () => void;
}

/** Why a call was aborted. */
export type CallAbortKind = 'cancel' | 'orphaned' | 'closed' | 'shutdown';

/** Why a call was aborted, as an Error (the reason of an adapted AbortSignal). */
export class CallAborted extends Error {
  constructor(readonly kind: CallAbortKind) {
    super(`call aborted: ${kind}`);
    this.name = 'CallAborted';
  }
}

/**
 * Told once when a call can no longer be answered by its server: co_cancel, orphaned,
 * connection closed, server shutdown. An object the service already holds (the registry's
 * waiting entry), so a call that waits for minutes costs no closure.
 */
export interface CallAbortListener {
  callAborted(reason: CallAborted): void;
}

export interface CallContext {
  readonly callId: number;
  readonly connectionId: number;
  readonly associationGroup: AssociationGroupRef;
  /** Address/port the client connected to (decides the serving node) and its own. */
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Authenticated identity and level of the auth context the request used, if any. */
  readonly identity: Identity | undefined;
  readonly authLevel: AuthLevel;
  /**
   * The one way to learn that the call ended before its answer: `listener` is told once (at
   * once if the call already was aborted). A listener that was told does not answer: the
   * runtime faults the call (cancel: nca_s_fault_cancel; shutdown: rpc_s_server_unavailable)
   * or drops it (orphaned, closed). A call whose server never listens keeps, at shutdown,
   * the grace period to answer.
   */
  onAbort(listener: CallAbortListener): void;
}

/** The call's abort as an AbortSignal, for the rare service that wants one (a listener each). */
export function abortSignalOf(ctx: CallContext): AbortSignal {
  const ac = new AbortController();
  ctx.onAbort({ callAborted: (reason) => ac.abort(reason) });
  return ac.signal;
}
