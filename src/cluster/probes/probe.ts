/** What the health watcher asks of a probe: one attempt, bounded in time, never throwing. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

export interface ProbeResult {
  /** True: the node's SMB server answered as a healthy one. */
  readonly ok: boolean;
  /** One short line for logs: why it failed, or what it negotiated. */
  readonly detail: string;
  /**
   * A failure the node itself answered (connection refused or reset, closed, a wrong answer):
   * its SMB server is dead for sure. Unset for silence (a timeout, an unreachable host),
   * which a node that is merely slow also gives.
   */
  readonly refused?: boolean;
}

/** Resolves (never rejects) within about timeoutMs. */
export type Probe = (target: ProbeTarget, timeoutMs: number) => Promise<ProbeResult>;

/** The socket errors that only a live host sends back (its kernel answered; nothing listens). */
export const refusedByHost = (err: NodeJS.ErrnoException): boolean => err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET';

/** Short text for a socket error (ECONNREFUSED → "connection refused"). */
export function socketErrorText(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'EADDRNOTAVAIL':
      return 'address not available';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}
