/**
 * A request arriving in several fragments (MS-RPCE 3.3.3): its first fragment decided the call,
 * later ones add stub bytes. A connection receives one at a time, so maxReassemblyPerConnection
 * and maxRequestSize bound the same bytes. The discard rule: a call announced (alloc_hint) or
 * grown past that budget is refused whole (fault 0x5 and close, as Windows in Samba's
 * raw_protocol tests); nothing past the budget is kept.
 */
import type { PduHeader } from './pdu';
import type { ServerCallInit } from './call';
import type { RpcLimits } from './options';

export class Reassembly {
  /** Copies, so that held fragments do not pin the receive buffer. */
  private readonly chunks: Buffer[] = [];
  length = 0;

  constructor(readonly first: PduHeader, readonly call: ServerCallInit) {}

  static budget(limits: Readonly<RpcLimits>): number {
    return Math.min(limits.maxRequestSize, limits.maxReassemblyPerConnection);
  }

  /** Keep one fragment's stub; false past the budget. */
  add(stub: Buffer, limits: Readonly<RpcLimits>): boolean {
    this.length += stub.length;
    if (this.length > Reassembly.budget(limits)) return false;
    this.chunks.push(Buffer.from(stub));
    return true;
  }

  stub(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}
