/**
 * The seam between generated interface modules (src/gen/) and the RPC runtime (src/rpc/).
 * It lives here, beside the NDR runtime, because generated code imports only src/ndr;
 * the runtime's side of it (ServerCall) is src/rpc/call.ts.
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
 * A call answered later (Samba's DCESRV_CALL_STATE_FLAG_ASYNC): the server keeps this handle
 * and answers through it once. After the call was aborted (the call context's abort listener
 * was told), both are ignored: the runtime has answered or dropped the call itself.
 */
export interface Reply<Out> {
  /**
   * Encode `out` in the call's byte order and transfer syntax and send the response. `out` is
   * not changed afterwards: the same object sent again may be answered with the bytes encoded
   * the first time (one response to many calls is encoded once).
   */
  send(out: Out): void;
  /** End the call with a DCE/RPC fault PDU of this status. */
  fault(status: number): void;
}

/** A request as a dispatcher sees it. `C` is the per-call context passed to server methods. */
export interface RpcCall<C> {
  readonly littleEndian: boolean;
  readonly context: C;
  /**
   * The call is answered later, through the handle returned; `encode` turns the operation's
   * Out into the response stub (the generated encoder of the call's transfer syntax).
   */
  later<Out>(encode: (out: Out, littleEndian: boolean) => Buffer): Reply<Out>;
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
   * Decode the request stub, run the operation, encode the response stub: a Buffer now, or
   * undefined when the operation took `call.later()` and answers through it. Throws NdrError
   * when the stub does not decode (the runtime answers RPC_X_BAD_STUB_DATA), DispatchFault
   * for an unknown opnum (nca_s_op_rng_error) or a server-chosen fault.
   */
  dispatch(opnum: number, stub: Buffer, call: RpcCall<C>): Buffer | undefined;
  /**
   * The same for a call on a presentation context negotiated with NDR64 (MS-RPCE 2.2.5).
   * Generated interfaces have it; an interface without it is offered NDR 2.0 only.
   */
  dispatchNdr64?(opnum: number, stub: Buffer, call: RpcCall<C>): Buffer | undefined;
}
