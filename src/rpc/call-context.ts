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
   * Aborted when the call can no longer be answered: co_cancel, orphaned, connection
   * closed, server shutdown. Long-pending operations (AsyncNotify) listen to it.
   */
  readonly signal: AbortSignal;
  /**
   * The same news as `signal`, for calls that wait by the thousand (AsyncNotify): the listener
   * runs once when the call is aborted (in a microtask if it already was). An AbortController
   * with a listener costs ~0.9 KB per call; this costs nothing when the listener is an object
   * the service already holds ({ callAborted() }). Optional: contexts built by hand (tests)
   * may offer only `signal`.
   */
  onAbort?(listener: AbortListener): void;
  /** Stop listening (a call answered normally no longer needs its listener). */
  offAbort?(listener: AbortListener): void;
}

/** A function, or an object told through its callAborted() method (no closure per call). */
export type AbortListener = (() => void) | { callAborted(): void };
