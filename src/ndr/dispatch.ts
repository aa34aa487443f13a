/**
 * The seam between generated interface modules (src/gen/) and the RPC runtime (src/rpc/).
 * Generated code implements RpcInterface; the runtime only ever sees this shape, so it
 * knows nothing about any particular interface.
 */

/** An abstract or transfer syntax: interface UUID (lower-case text) and version. */
export interface SyntaxId {
  readonly uuid: string;
  readonly major: number;
  readonly minor: number;
}

/** DCE/RPC fault status for an opnum the interface does not define (C706 appendix E). */
export const NCA_S_OP_RNG_ERROR = 0x1c010002;

/**
 * Raised by a dispatcher or a server method when the call must end in a DCE/RPC fault PDU
 * with this status (rather than a normal response carrying a WERROR).
 */
export class DispatchFault extends Error {
  constructor(readonly status: number, message?: string) {
    super(message ?? `DCE/RPC fault 0x${status.toString(16).padStart(8, '0')}`);
    this.name = 'DispatchFault';
  }
}

/**
 * One interface bound to a server implementation, as the runtime dispatches to it.
 * `C` is the per-call context the runtime passes through to the server methods.
 */
export interface RpcInterface<C = unknown> {
  readonly name: string;
  readonly syntax: SyntaxId;
  /** Operation names indexed by opnum (for logs and metrics). */
  readonly operationNames: readonly string[];
  /**
   * Decode the request stub, run the operation, encode the response stub: now (a Buffer)
   * or later (a promise, for calls that wait). Throws NdrError when the stub does not decode (runtime answers RPC_X_BAD_STUB_DATA),
   * DispatchFault for an unknown opnum (nca_s_op_rng_error) or a server-chosen fault.
   */
  dispatch(opnum: number, stub: Buffer, littleEndian: boolean, ctx: C): Buffer | Promise<Buffer>;
  /**
   * The same for a call on a presentation context negotiated with NDR64 (MS-RPCE 2.2.5).
   * Generated interfaces have it; an interface without it is offered NDR 2.0 only.
   */
  dispatchNdr64?(opnum: number, stub: Buffer, littleEndian: boolean, ctx: C): Buffer | Promise<Buffer>;
}

/** A server method's answer given later (a promise or any thenable) rather than now. */
export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}
