/**
 * The server's traffic counters, as the DCE remote management interface reports them
 * (rpc__mgmt_inq_stats, C706 appendix Q: calls in, calls out, packets in, packets out).
 * Plain integer fields, bumped by the connection: nothing to allocate on the hot path.
 */
export interface RpcStats {
  /** Requests dispatched to an interface. */
  callsIn: number;
  /** Calls this server made as a client: none (witnessd calls nobody over RPC). */
  readonly callsOut: number;
  /** PDUs received and sent. */
  pktsIn: number;
  pktsOut: number;
}

export function newRpcStats(): RpcStats {
  return { callsIn: 0, callsOut: 0, pktsIn: 0, pktsOut: 0 };
}
