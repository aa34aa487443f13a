/**
 * Registrations keyed by GUID, their pending notifications and their waiting AsyncNotify
 * calls (MS-SWN.md §5.1, §5.4; Decisions 6, 7, 9). Pure domain: no sockets, time from an
 * injected Clock.
 */
import type { Clock } from './clock';
import { DeadlineQueue } from './deadlines';
import { IF_STATE, MessageType, RESOURCE_STATE, RPC_S_CALL_CANCELLED, WERR, WITNESS_V2 } from './constants';
import type { AsyncNotifyResult, IpAddrInfo, Notification, Owner, RegistrationInfo, ResourceChange } from './types';

/**
 * How a waiting call learns that it can no longer be answered: the RPC runtime's CallContext
 * fits. `onAbort` (when offered) is used instead of a listener on `signal`: an AbortController
 * with a listener is ~0.9 KB per waiting call (memory benchmark).
 */
export interface AbortWatch {
  readonly signal: AbortSignal;
  onAbort?(listener: { callAborted(): void }): void;
}

/**
 * A waiting AsyncNotify call: its own abort listener (no closure per call) and an entry of
 * the registry's keep-alive deadline queue (no timer per call). The listener is not removed
 * when the call is answered: the call is dropped with its answer, and the listener does
 * nothing once the waiter has left the list (removing it was ~40 % of a 10,000-client
 * fan-out's event handling in the CPU profile).
 */
class Waiter {
  deadline = Infinity;
  heapIndex = -1;
  constructor(
    private readonly registry: Registry,
    readonly reg: Registration,
    readonly resolve: (v: unknown) => void,
    /** The caller's mapping of the result (its wire form): applied here, not in a promise layer more. */
    readonly map: (r: AsyncNotifyResult) => unknown,
    readonly call: AbortWatch | undefined,
    readonly onAbort: () => void,
  ) {}

  callAborted(): void {
    this.registry.waiterAborted(this);
  }
}

export interface RegistrationInit {
  readonly id: string;
  readonly owner: Owner;
  readonly version: number;
  readonly netName: string;
  readonly shareName: string | undefined;
  readonly ipAddress: string;
  readonly clientName: string;
  readonly flags: number;
  readonly keepAliveTimeout: number | undefined;
  readonly svm: string;
  readonly lif: string;
  /** The LIF's state when registering: the base for RESOURCE_CHANGE transitions. */
  readonly initiallyAvailable: boolean;
}

/**
 * Shared empty lists: most registrations have nothing queued and no call waiting most of the
 * time, and an empty array each is ~32 B (memory benchmark). Frozen, so that a push on the
 * shared one fails loudly; an owned array replaces it on the first entry.
 */
const NO_CHANGES: ResourceChange[] = Object.freeze([]) as unknown as ResourceChange[];
const NO_WAITERS: Waiter[] = Object.freeze([]) as unknown as Waiter[];

export class Registration {
  readonly id: string;
  /** The owner (Owner) as two fields: an object each is ~40 B per registration. */
  readonly associationGroupId: number;
  readonly principal: string;
  readonly version: number;
  readonly netName: string;
  readonly shareName: string | undefined;
  readonly ipAddress: string;
  readonly clientName: string;
  readonly flags: number;
  readonly keepAliveTimeout: number | undefined;
  readonly svm: string;
  readonly lif: string;
  /** Epoch ms (a Date object per registration is ~0.1 KB; the ISO text is made when listed). */
  readonly registeredAtMs = Date.now();
  lastUse: number;
  /** Last resource state raised (or the state at registration): notifications are transitions. */
  resourceState: number;
  pendingChanges: ResourceChange[] = NO_CHANGES;
  pendingMove: readonly IpAddrInfo[] | undefined;
  pendingShareMove: readonly IpAddrInfo[] | undefined;
  pendingIpChange: readonly IpAddrInfo[] | undefined;
  /** Operator's forced response (`witnessctl notify`), served before anything else. */
  forced: AsyncNotifyResult | undefined;
  /** Oldest first. Replaced by [w] when empty: a pushed-to empty array gets room for 16 more. */
  waiters: Waiter[] = NO_WAITERS;
  removed = false;

  constructor(init: RegistrationInit, now: number) {
    this.id = init.id;
    this.associationGroupId = init.owner.associationGroupId;
    this.principal = init.owner.principal;
    this.version = init.version;
    this.netName = init.netName;
    this.shareName = init.shareName;
    this.ipAddress = init.ipAddress;
    this.clientName = init.clientName;
    this.flags = init.flags;
    this.keepAliveTimeout = init.keepAliveTimeout;
    this.svm = init.svm;
    this.lif = init.lif;
    this.lastUse = now;
    this.resourceState = init.initiallyAvailable ? IF_STATE.AVAILABLE : IF_STATE.UNAVAILABLE;
  }

  get isV2(): boolean {
    return this.version === WITNESS_V2;
  }

  hasPending(): boolean {
    return (
      this.forced !== undefined ||
      this.pendingChanges.length > 0 ||
      this.pendingMove !== undefined ||
      this.pendingShareMove !== undefined ||
      this.pendingIpChange !== undefined
    );
  }

  pendingCount(): number {
    return (
      (this.forced ? 1 : 0) +
      this.pendingChanges.length +
      (this.pendingMove ? 1 : 0) +
      (this.pendingShareMove ? 1 : 0) +
      (this.pendingIpChange ? 1 : 0)
    );
  }

  /**
   * Take the next response: forced, else one MessageType in the order RESOURCE_CHANGE
   * (all pending, batched), CLIENT_MOVE, SHARE_MOVE, IP_CHANGE (Decision 7).
   */
  takeNext(): { r: AsyncNotifyResult; forced: boolean } | undefined {
    if (this.forced) {
      const f = this.forced;
      this.forced = undefined;
      return { r: f, forced: true };
    }
    let response: Notification | undefined;
    if (this.pendingChanges.length > 0) {
      response = { type: MessageType.ResourceChange, changes: this.pendingChanges };
      this.pendingChanges = NO_CHANGES;
    } else if (this.pendingMove) {
      response = { type: MessageType.ClientMove, addresses: this.pendingMove };
      this.pendingMove = undefined;
    } else if (this.pendingShareMove) {
      response = { type: MessageType.ShareMove, addresses: this.pendingShareMove };
      this.pendingShareMove = undefined;
    } else if (this.pendingIpChange) {
      response = { type: MessageType.IpChange, addresses: this.pendingIpChange };
      this.pendingIpChange = undefined;
    }
    return response ? { r: { result: WERR.OK, response }, forced: false } : undefined;
  }

  info(): RegistrationInfo {
    return {
      id: this.id,
      version: this.version,
      netName: this.netName,
      shareName: this.shareName,
      ipAddress: this.ipAddress,
      clientName: this.clientName,
      flags: this.flags,
      keepAliveTimeout: this.keepAliveTimeout,
      svm: this.svm,
      lif: this.lif,
      associationGroupId: this.associationGroupId,
      principal: this.principal,
      registeredAt: new Date(this.registeredAtMs).toISOString(),
      pendingAsyncNotify: this.waiters.length,
      pendingNotifications: this.pendingCount(),
    };
  }
}

export interface RegistryOptions {
  /** Bound on the queued RESOURCE_CHANGE list per registration (oldest dropped beyond it). */
  readonly maxPendingChanges: number;
  /** Bound on waiting AsyncNotify calls per registration (the oldest gets 0x5AA beyond it). */
  readonly maxWaitersPerRegistration: number;
}

export interface RegistryHooks {
  /** A response went to a waiting call. */
  onDelivered?(reg: Registration, r: AsyncNotifyResult, forced: boolean): void;
  onRemoved?(reg: Registration, reason: string): void;
}

export class Registry {
  private readonly regs = new Map<string, Registration>();
  private waiting = 0;
  /** Keep-alive deadlines of waiting V2 calls, behind one timer. */
  private readonly keepAlive: DeadlineQueue<Waiter>;

  constructor(
    private readonly clock: Clock,
    private readonly options: RegistryOptions,
    private readonly hooks: RegistryHooks = {},
  ) {
    this.keepAlive = new DeadlineQueue(clock, (w) => {
      this.drop(w.reg, w);
      this.finish(w.reg, w, { result: WERR.TIMEOUT });
    });
  }

  /** Stop the keep-alive timer (service close; waiting calls are ended by remove()). */
  close(): void {
    this.keepAlive.stop();
  }

  get size(): number {
    return this.regs.size;
  }

  /** Number of AsyncNotify calls waiting across all registrations. */
  get waitingCalls(): number {
    return this.waiting;
  }

  all(): IterableIterator<Registration> {
    return this.regs.values();
  }

  add(init: RegistrationInit): Registration {
    const reg = new Registration(init, this.clock.now());
    this.regs.set(reg.id, reg);
    return reg;
  }

  /** Lookup as the owner: a handle of another association group or principal is unknown. */
  lookup(id: string, owner: Owner): Registration | undefined {
    const reg = this.regs.get(id.toLowerCase());
    if (!reg) return undefined;
    if (reg.associationGroupId !== owner.associationGroupId || reg.principal !== owner.principal) return undefined;
    return reg;
  }

  byId(id: string): Registration | undefined {
    return this.regs.get(id.toLowerCase());
  }

  /** Remove; every waiting AsyncNotify of it completes with ERROR_NOT_FOUND (Decision 9). */
  remove(reg: Registration, reason: string): boolean {
    if (reg.removed) return false;
    reg.removed = true;
    this.regs.delete(reg.id);
    const waiters = reg.waiters;
    reg.waiters = NO_WAITERS;
    for (const w of waiters) this.finish(reg, w, { result: WERR.NOT_FOUND });
    this.hooks.onRemoved?.(reg, reason);
    return true;
  }

  /**
   * AsyncNotify on a found registration. Answers at once when something is pending (or on
   * keep-alive 0), otherwise parks the call FIFO with its keep-alive deadline.
   */
  asyncNotify<T>(reg: Registration, call: AbortWatch | undefined, onAbort: () => void, map: (r: AsyncNotifyResult) => T): Promise<T> {
    reg.lastUse = this.clock.now();
    if (reg.hasPending() && reg.waiters.length === 0) {
      const next = reg.takeNext() as { r: AsyncNotifyResult; forced: boolean };
      this.hooks.onDelivered?.(reg, next.r, next.forced);
      return Promise.resolve(mapped(map, next.r));
    }
    const keepAlive = reg.isV2 ? reg.keepAliveTimeout : undefined;
    if (keepAlive === 0) return Promise.resolve(mapped(map, { result: WERR.TIMEOUT }));
    // With onAbort, an already aborted call is settled by its listener (in a microtask).
    if (!call?.onAbort && call?.signal.aborted) {
      onAbort();
      return Promise.resolve(mapped(map, { result: RPC_S_CALL_CANCELLED, cancelled: true, reason: call.signal.reason }));
    }
    return new Promise<T>((resolve) => {
      const w = new Waiter(this, reg, resolve as (v: unknown) => void, map, call, onAbort);
      if (keepAlive !== undefined) this.keepAlive.add(w, this.clock.now() + keepAlive * 1000);
      if (call?.onAbort) call.onAbort(w);
      else call?.signal.addEventListener('abort', () => w.callAborted(), { once: true });
      if (reg.waiters.length === 0) reg.waiters = [w];
      else reg.waiters.push(w);
      this.waiting++;
      if (reg.waiters.length > this.options.maxWaitersPerRegistration) {
        const oldest = reg.waiters.shift() as Waiter;
        this.finish(reg, oldest, { result: WERR.NO_SYSTEM_RESOURCES });
      }
    });
  }

  /** The call can no longer be answered: settle it as cancelled and forget it. */
  waiterAborted(w: Waiter): void {
    if (!this.drop(w.reg, w)) return;
    this.finish(w.reg, w, { result: RPC_S_CALL_CANCELLED, cancelled: true, reason: w.call?.signal.reason });
    w.onAbort();
  }

  /** Queue a RESOURCE_CHANGE if it is a transition of this registration's resource state. */
  raiseResourceChange(reg: Registration, available: boolean): boolean {
    const state = available ? IF_STATE.AVAILABLE : IF_STATE.UNAVAILABLE;
    if (reg.resourceState === state) return false;
    reg.resourceState = state;
    const change = { changeType: available ? RESOURCE_STATE.AVAILABLE : RESOURCE_STATE.UNAVAILABLE, name: reg.netName };
    if (reg.pendingChanges === NO_CHANGES) reg.pendingChanges = [change];
    else reg.pendingChanges.push(change);
    if (reg.pendingChanges.length > this.options.maxPendingChanges) reg.pendingChanges.shift();
    this.pump(reg);
    return true;
  }

  raiseMove(reg: Registration, kind: 'client' | 'share' | 'ip', addresses: readonly IpAddrInfo[]): void {
    if (kind === 'client') reg.pendingMove = addresses;
    else if (kind === 'share') reg.pendingShareMove = addresses;
    else reg.pendingIpChange = addresses;
    this.pump(reg);
  }

  force(reg: Registration, r: AsyncNotifyResult): void {
    reg.forced = r;
    this.pump(reg);
  }

  /** Remove V2 registrations unused (no waiting call) for longer than `unusedMs`. */
  sweep(unusedMs: number): Registration[] {
    const now = this.clock.now();
    const gone: Registration[] = [];
    for (const reg of this.regs.values()) {
      if (reg.isV2 && reg.waiters.length === 0 && reg.lastUse + unusedMs < now) gone.push(reg);
    }
    for (const reg of gone) this.remove(reg, 'unused');
    return gone;
  }

  /** Answer waiting calls oldest first while something is pending. */
  private pump(reg: Registration): void {
    while (reg.waiters.length > 0 && reg.hasPending()) {
      const w = reg.waiters.shift() as Waiter;
      const next = reg.takeNext() as { r: AsyncNotifyResult; forced: boolean };
      this.finish(reg, w, next.r);
      this.hooks.onDelivered?.(reg, next.r, next.forced);
    }
  }

  private drop(reg: Registration, w: Waiter): boolean {
    const i = reg.waiters.indexOf(w);
    if (i < 0) return false;
    reg.waiters.splice(i, 1);
    return true;
  }

  private release(reg: Registration, w: Waiter): void {
    this.keepAlive.remove(w);
    this.waiting--;
    // Spec: LastUseTime = now and IsAsyncNotifyRegistered = FALSE when a call leaves.
    reg.lastUse = this.clock.now();
  }

  private finish(reg: Registration, w: Waiter, r: AsyncNotifyResult): void {
    this.release(reg, w);
    w.resolve(mapped(w.map, r));
  }
}

/** map(r), or a rejected promise when map throws (a cancelled call becomes its fault). */
export function mapped<T>(map: (r: AsyncNotifyResult) => T, r: AsyncNotifyResult): T | Promise<never> {
  try {
    return map(r);
  } catch (err) {
    return Promise.reject(err);
  }
}
