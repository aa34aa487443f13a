/**
 * The planned-move hook: what CTDB's event script (shipped with witnessd, installed like
 * Samba's 50.samba) asks the local witnessd, and what it is told. The admin API serves it as
 *
 *   POST /v1/ctdb/event   body CtdbHookRequest → 200 CtdbHookReply (JSON)
 *
 * on the node's admin address (http://NODE_ADDRESS:8135, Authorization: Bearer admin.token).
 *
 * Contract with the script:
 *  - `releaseip IFACE IP MASKBITS` runs on the node that holds IP *before* CTDB removes the
 *    address. witnessd sends CLIENT_MOVE to every registration on that IP (to the addresses
 *    of the node the IP goes to when that is knowable, else to the other active nodes'
 *    public IPs) and answers once the notifications are written to the waiting clients or
 *    `waitMs` has passed (default 2000, at most 10000), whichever is first. The listeners
 *    on IP are closed when CTDB's RELEASE_IP message follows, not here.
 *  - `takeip IFACE IP MASKBITS` and `ipreallocated` make witnessd re-read placement at once
 *    (they also arrive as CTDB messages; the hook only makes the order certain).
 *  - Any other event (startup, monitor, shutdown, ...) is answered { ok: true } and ignored;
 *    the script does its own liveness check for `monitor` with GET /healthz.
 *  - The script must bound its own wait too (curl --max-time): CTDB is never held up by a
 *    dead witnessd. A non-2xx answer or a timeout must not fail the event.
 *  - 400 for a body that does not fit CtdbHookRequest; 503 when witnessd runs another source
 *    (the admin API serves the route as the source's `event`, src/cluster/source.ts).
 */
import { z } from 'zod';

/** CTDB's legacy event names, as the script receives them in $1. */
export const CTDB_HOOK_EVENTS = ['releaseip', 'takeip', 'ipreallocated', 'startup', 'monitor', 'shutdown', 'startrecovery', 'recovered', 'updateip', 'init', 'setup'] as const;
export type CtdbHookEvent = (typeof CTDB_HOOK_EVENTS)[number];

export const CTDB_HOOK_PATH = '/v1/ctdb/event';
export const CTDB_HOOK_DEFAULT_WAIT_MS = 2000;
export const CTDB_HOOK_MAX_WAIT_MS = 10_000;

export interface CtdbHookRequest {
  readonly event: CtdbHookEvent;
  /** The public IP (releaseip, takeip, updateip). */
  readonly ip?: string;
  /**
   * PNN of the node whose event script asks (`ctdb pnn`). A releaseip from a node that does
   * not hold the IP (CTDB_TEST_MODE runs releaseip on non-holders too) moves nothing: no
   * CLIENT_MOVE. Absent: the asker is taken to be the holder.
   */
  readonly pnn?: number;
  /** The interface and mask bits, passed through for the log. */
  readonly iface?: string;
  readonly maskbits?: number;
  /** Upper bound on the answer's wait, ms (default CTDB_HOOK_DEFAULT_WAIT_MS). */
  readonly waitMs?: number;
}

/** The request body as the admin API validates it. */
export const ctdbHookRequestSchema = z
  .object({
    event: z.enum(CTDB_HOOK_EVENTS),
    ip: z.string().min(1).max(64).optional(),
    pnn: z.number().int().min(0).max(0xfffffffe).optional(),
    iface: z.string().max(64).optional(),
    maskbits: z.number().int().min(0).max(128).optional(),
    waitMs: z.number().int().min(0).max(CTDB_HOOK_MAX_WAIT_MS).optional(),
  })
  .strict()
  .refine((r) => r.event !== 'releaseip' || r.ip !== undefined, { message: 'releaseip needs ip', path: ['ip'] });

export interface CtdbHookReply {
  readonly ok: true;
  readonly event: CtdbHookEvent;
  /** Registrations that were sent CLIENT_MOVE (releaseip), else 0. */
  readonly notified: number;
  /** Of those, how many had their notification written before the answer. */
  readonly delivered: number;
  /** The node (model name, `pnnN`) the IP goes to, when known at releaseip time. */
  readonly destination?: string;
  /** Time spent answering, ms. */
  readonly waitedMs: number;
}
