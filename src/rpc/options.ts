/**
 * RpcServer configuration: limits with defaults, the minimum auth level, the logger.
 */
import pino, { type Logger } from 'pino';
import { AuthLevel, type SecurityProvider } from './security';
import { MUST_RECV_FRAG_SIZE } from './constants';
import { LogLimiter } from '../lib/log-limit';

export interface RpcLimits {
  /** Open connections over all listeners; further connections are closed at once. */
  maxConnections: number;
  /** Calls a connection may have in flight (dispatched or being reassembled). */
  maxPendingCallsPerConnection: number;
  /** Largest fragment we send or accept (negotiated down with the client, to 2048 at least as Windows; the limit itself may be 1432..65535). */
  maxFragmentSize: number;
  /**
   * Largest reassembled request stub of one call; also what a connection holds in reassembly
   * at most, since it reassembles one call at a time (MS-RPCE 3.3.3).
   */
  maxRequestSize: number;
  /**
   * Bytes held in reassembly over all connections at once (Reassembly): without it, 1,000
   * connections each sending 4 MB requests slowly would make witnessd hold 4 GB.
   */
  maxReassemblyTotal: number;
  /** A connection that has not bound within this many ms is closed. */
  unboundIdleMs: number;
  /** A PDU begun must arrive whole within this many ms (slow-loris on a bound connection). */
  partialPduMs: number;
  /**
   * At maxConnections, a bound connection with no call in flight that sent nothing for this
   * long may be closed to admit a new one (after every connection that never bound).
   */
  idleEvictMs: number;
  /** Presentation contexts per connection. */
  maxContextsPerConnection: number;
  /** Auth contexts (auth_context_id values) per connection. */
  maxAuthContextsPerConnection: number;
  /** Output bytes queued on a socket the client does not read before we give up on it. */
  maxQueuedOutputBytes: number;
}

export const DEFAULT_LIMITS: Readonly<RpcLimits> = Object.freeze({
  maxConnections: 10_000,
  maxPendingCallsPerConnection: 64,
  maxFragmentSize: 5840,
  maxRequestSize: 4 * 1024 * 1024,
  maxReassemblyTotal: 64 * 1024 * 1024,
  unboundIdleMs: 30_000,
  partialPduMs: 30_000,
  idleEvictMs: 60_000,
  maxContextsPerConnection: 64,
  maxAuthContextsPerConnection: 16,
  maxQueuedOutputBytes: 8 * 1024 * 1024,
});

export interface RpcServerOptions {
  /** Where the runtime logs; defaults to a silent logger. */
  logger?: Logger;
  limits?: Partial<RpcLimits>;
  /** Calls at a lower auth level get fault 0x5 (access denied). Default: None (anything goes). */
  minAuthLevel?: AuthLevel;
  /** Security providers by auth_type (NTLMSSP, SPNEGO, ...). */
  securityProviders?: readonly SecurityProvider[];
  /** How long close() waits for aborted calls to answer before faulting them. Default 2000 ms. */
  shutdownGraceMs?: number;
  /** Told of every fault PDU that answers a call (metrics), with the interface name and opnum. */
  onFault?: FaultHook;
  /** The rate limit of the lines a peer causes (the daemon shares one with every room); default: the server's own. */
  logLimiter?: LogLimiter;
}

export type FaultHook = (iface: string, opnum: number, status: number) => void;

export interface ResolvedOptions {
  readonly logger: Logger;
  readonly limits: Readonly<RpcLimits>;
  readonly minAuthLevel: AuthLevel;
  readonly shutdownGraceMs: number;
  readonly onFault: FaultHook | undefined;
  readonly logLimiter: LogLimiter;
}

export function resolveOptions(o: RpcServerOptions): ResolvedOptions {
  const limits = { ...DEFAULT_LIMITS, ...(o.limits ?? {}) };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`RpcServer limit ${k} must be a positive number, got ${v}`);
  }
  if (limits.maxFragmentSize < MUST_RECV_FRAG_SIZE || limits.maxFragmentSize > 0xffff) {
    throw new RangeError(`RpcServer limit maxFragmentSize must be within ${MUST_RECV_FRAG_SIZE}..65535, got ${limits.maxFragmentSize}`);
  }
  const minAuthLevel = o.minAuthLevel ?? AuthLevel.None;
  if (!(minAuthLevel >= AuthLevel.None && minAuthLevel <= AuthLevel.Privacy)) throw new RangeError(`bad minAuthLevel ${minAuthLevel}`);
  return {
    logger: o.logger ?? pino({ level: 'silent' }),
    limits: Object.freeze(limits),
    minAuthLevel,
    shutdownGraceMs: o.shutdownGraceMs ?? 2000,
    onFault: o.onFault,
    logLimiter: o.logLimiter ?? new LogLimiter(),
  };
}
