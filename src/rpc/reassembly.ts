/**
 * A request arriving in several fragments (MS-RPCE 3.3.3): its first fragment decided the
 * call (presentation context, opnum, auth context); later ones only add stub bytes. A
 * connection receives one such call at a time, so the connection's reassembly budget
 * (maxReassemblyPerConnection) and the call's (maxRequestSize) bound the same bytes.
 */
import type { PduHeader } from './pdu';
import type { ServerCallInit } from './call';
import type { RpcLimits } from './options';

export class Reassembly {
  /** Copies of the fragments' stubs, so that held fragments do not pin the receive buffer. */
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    /** The first fragment's header: later fragments must match its call id and drep. */
    readonly first: PduHeader,
    readonly call: ServerCallInit,
  ) {}

  /** The bytes a call may reassemble to. */
  static budget(limits: Readonly<RpcLimits>): number {
    return Math.min(limits.maxRequestSize, limits.maxReassemblyPerConnection);
  }

  /**
   * Keep one fragment's stub. The discard rule: bytes past the budget are not kept; the call
   * is refused whole (fault 0x5 and close, as Windows in Samba's raw_protocol tests), and so
   * is a first fragment whose alloc_hint already announces more (the caller checks that).
   */
  add(stub: Buffer, limits: Readonly<RpcLimits>): boolean {
    this.size += stub.length;
    if (this.size > Reassembly.budget(limits)) return false;
    this.chunks.push(Buffer.from(stub));
    return true;
  }

  /** Bytes received so far. */
  get length(): number {
    return this.size;
  }

  /** The whole stub, once the last fragment was added. */
  stub(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
  }
}
