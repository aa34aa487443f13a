/**
 * Calls made by hand for unit tests, through the same hooks production uses: a CallContext
 * whose abort is told through onAbort, a dispatcher call whose later() reply settles a
 * promise, and AsyncNotify of the witness service as a promise.
 */
import type { RpcCall, RpcInterface } from '../../src/ndr/dispatch';
import { DispatchFault } from '../../src/ndr/dispatch';
import { CallAborted, type CallAbortKind, type CallAbortListener, type CallContext, type AssociationGroupRef } from '../../src/rpc/call-context';
import { AuthLevel, type Identity } from '../../src/rpc/security';
import type { WitnessService } from '../../src/witness/service';
import type { AsyncNotifyResult } from '../../src/witness/types';

let nextCallId = 1;

export interface TestCallInit {
  readonly associationGroup: AssociationGroupRef;
  readonly localAddress?: string;
  readonly remotePort?: number;
  readonly identity?: Identity;
}

/** A CallContext a test can abort. */
export class TestCall implements CallContext {
  readonly callId = nextCallId++;
  readonly connectionId: number;
  readonly associationGroup: AssociationGroupRef;
  readonly localAddress: string;
  readonly localPort = 49152;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort: number;
  readonly identity: Identity | undefined;
  readonly authLevel: AuthLevel;
  reason: CallAborted | undefined;
  private readonly listeners: CallAbortListener[] = [];

  constructor(init: TestCallInit) {
    this.associationGroup = init.associationGroup;
    this.connectionId = init.associationGroup.id;
    this.localAddress = init.localAddress ?? '127.0.0.12';
    this.remotePort = init.remotePort ?? 50000;
    this.identity = init.identity;
    this.authLevel = init.identity ? AuthLevel.Integrity : AuthLevel.None;
  }

  onAbort(listener: CallAbortListener): void {
    if (this.reason) listener.callAborted(this.reason);
    else this.listeners.push(listener);
  }

  abort(kind: CallAbortKind = 'cancel'): void {
    if (this.reason) return;
    this.reason = new CallAborted(kind);
    for (const l of this.listeners.splice(0)) l.callAborted(this.reason);
  }

  get listenerCount(): number {
    return this.listeners.length;
  }
}

/**
 * Dispatch one call as the runtime does: the stub answered now, or through the reply handle
 * later; a fault given through the handle rejects with a DispatchFault.
 */
export function dispatchCall<C>(iface: RpcInterface<C>, opnum: number, stub: Buffer, context: C, littleEndian = true): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const call: RpcCall<C> = {
      littleEndian,
      context,
      later: <Out>(encode: (out: Out, le: boolean) => Buffer) => ({
        send: (out: Out) => {
          try {
            resolve(encode(out, littleEndian));
          } catch (err) {
            reject(err);
          }
        },
        fault: (status: number) => reject(new DispatchFault(status)),
      }),
    };
    const out = iface.dispatch(opnum, stub, call);
    if (out !== undefined) resolve(out);
  });
}

/** The witness service's AsyncNotify answer as a promise (it never settles for an aborted call). */
export function asyncNotify(svc: WitnessService, ctx: CallContext, handle: string): Promise<AsyncNotifyResult> {
  return new Promise((resolve) => svc.asyncNotify(ctx, handle, { send: resolve }));
}
