/**
 * The forced unregister Samba's rpcd_witness learned from Windows Server 2022 clients
 * (srv_witness_nt.c, `forced_unregister`): a few seconds after a registration was *sent* a
 * RESOURCE_CHANGE other than AVAILABLE, or a move list naming an address other than the one
 * it registered for, the server removes it. The client's pending AsyncNotify then ends with
 * ERROR_NOT_FOUND, its UnRegister gets ERROR_NOT_FOUND too, and it calls GetInterfaceList and
 * RegisterEx again: the only way such a client re-registers at its new place. A later
 * qualifying notice re-arms the timer (as Samba's does).
 *
 * Also here: the handles the server itself removed (forced, operator, unused sweep) are
 * remembered for a while, so that the client's UnRegister of one gets ERROR_NOT_FOUND as it
 * does from Samba, while a handle the client unregistered itself (or never had) keeps
 * Decision 5's ERROR_INVALID_PARAMETER that MS-SWN and smbtorture expect.
 */
import type { Clock } from './clock';
import { DeadlineQueue } from './deadlines';
import { RESOURCE_CHANGE_NOTIFICATION, RESOURCE_STATE_AVAILABLE } from '../gen/witness';
import { addressKey } from '../lib/address';
import type { Registration } from './registry';
import type { Notification, Owner } from './types';

/** Does delivering `n` to `reg` call for a re-registration (Samba's two conditions)? */
export function needsReregistration(reg: Registration, n: Notification | undefined): boolean {
  if (!n) return false;
  if (n.type === RESOURCE_CHANGE_NOTIFICATION) return n.changes.some((c) => c.changeType !== RESOURCE_STATE_AVAILABLE);
  const mine = addressKey(reg.ipAddress);
  return n.addresses.some((a) => {
    const other = (s: string | undefined): boolean => s !== undefined && addressKey(s) !== mine;
    return other(a.ipv4) || other(a.ipv6);
  });
}

/** One armed forced unregister (only registrations that were told to go have one). */
class Armed {
  deadline = Infinity;
  heapIndex = -1;
  constructor(readonly reg: Registration) {}
}

export class ForcedUnregister {
  private readonly armed = new Map<Registration, Armed>();
  private readonly queue: DeadlineQueue<Armed>;

  constructor(
    private readonly clock: Clock,
    private readonly delayMs: number,
    expire: (reg: Registration) => void,
  ) {
    this.queue = new DeadlineQueue(clock, (a) => {
      this.armed.delete(a.reg);
      expire(a.reg);
    });
  }

  /** (Re-)arm: the registration goes `delayMs` from now. */
  arm(reg: Registration): void {
    let a = this.armed.get(reg);
    if (a) this.queue.remove(a);
    else this.armed.set(reg, (a = new Armed(reg)));
    this.queue.add(a, this.clock.now() + this.delayMs);
  }

  /** The registration went another way first. */
  disarm(reg: Registration): void {
    const a = this.armed.get(reg);
    if (!a) return;
    this.armed.delete(reg);
    this.queue.remove(a);
  }

  get size(): number {
    return this.armed.size;
  }

  stop(): void {
    this.queue.stop();
    this.armed.clear();
  }
}

/** How long a handle the server removed answers ERROR_NOT_FOUND to its owner's UnRegister. */
export const DEPARTED_TTL_MS = 5 * 60_000;

/** Handles the server removed, oldest first, bounded in count and age. */
export class DepartedHandles {
  private readonly gone = new Map<string, { readonly owner: Owner; readonly at: number }>();

  constructor(private readonly clock: Clock, private readonly max: number, private readonly ttlMs = DEPARTED_TTL_MS) {}

  add(id: string, owner: Owner): void {
    const now = this.clock.now();
    this.gone.delete(id);
    this.gone.set(id, { owner, at: now });
    for (const [k, v] of this.gone) {
      if (this.gone.size <= this.max && v.at + this.ttlMs > now) break;
      this.gone.delete(k);
    }
  }

  /** Did the server remove this owner's handle lately? */
  has(id: string, owner: Owner): boolean {
    const e = this.gone.get(id.toLowerCase());
    if (!e || e.at + this.ttlMs <= this.clock.now()) return false;
    return e.owner.associationGroupId === owner.associationGroupId && e.owner.principal === owner.principal;
  }

  get size(): number {
    return this.gone.size;
  }
}
