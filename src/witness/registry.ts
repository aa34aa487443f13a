/**
 * Registrations keyed by GUID, their pending notifications and their waiting AsyncNotify
 * calls (MS-SWN.md §5.1, §5.4; Decisions 6, 7, 9). Pure domain: no sockets, time from an
 * injected Clock.
 */
import type { Clock } from './clock';
import { DeadlineQueue } from './deadlines';
import { RegistrationStream } from './stream';
import { Few } from '../lib/few';
import { LastMemo } from '../lib/last-memo';
import { epochSeconds } from '../lib/time';
import { type MoveType, WERR } from './constants';
import {
  CLIENT_MOVE_NOTIFICATION,
  IP_CHANGE_NOTIFICATION,
  RESOURCE_CHANGE_NOTIFICATION,
  RESOURCE_STATE_AVAILABLE,
  RESOURCE_STATE_UNAVAILABLE,
  SHARE_MOVE_NOTIFICATION,
  WITNESS_STATE_AVAILABLE,
  WITNESS_STATE_UNAVAILABLE,
  WITNESS_V2,
} from '../gen/witness';
import type { AsyncNotifyResult, IpAddrInfo, Notification, Owner, RegistrationConnection, RegistrationFacts, RegistrationInfo, ResourceChange } from './types';

/** Where a waiting AsyncNotify's answer goes (the adapter's reply handle, or a test's). */
export interface NotifyReply {
  send(r: AsyncNotifyResult): void;
}

/** How a waiting call learns that it can no longer be answered: the RPC runtime's CallContext fits. */
export interface AbortWatch {
  onAbort(listener: { callAborted(): void }): void;
}

/**
 * A waiting AsyncNotify call: its own abort listener (no closure per call) and an entry of
 * the registry's keep-alive deadline queue (no timer per call).
 */
class Waiter {
  deadline = Infinity;
  heapIndex = -1;
  constructor(private readonly registry: Registry, readonly reg: Registration, readonly reply: NotifyReply) {}

  callAborted(): void {
    this.registry.waiterAborted(this);
  }
}

export interface RegistrationInit extends RegistrationFacts, RegistrationConnection {
  readonly owner: Owner;
  /** The LIF's state when registering: the base for RESOURCE_CHANGE transitions. */
  readonly initiallyAvailable: boolean;
}

/**
 * A fan-out raises the same change (one name, one state) for every registration of a LIF: the
 * change object and the RESOURCE_CHANGE response of it alone are made once and shared (so that
 * the RPC runtime encodes the response once: src/rpc/call.ts).
 */
const oneChangeResponses = new LastMemo<Notification>();
const oneChangeResponse = (change: ResourceChange): Notification => ({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [change] });
const resourceChange = (name: string, changeType: number): ResourceChange => ({ changeType, name });

/** The notifications that carry an address list, in the order they are answered (Decision 7). */
const MOVE_TYPES: readonly MoveType[] = [CLIENT_MOVE_NOTIFICATION, SHARE_MOVE_NOTIFICATION, IP_CHANGE_NOTIFICATION];

/** The facts, the owner and the connection (as fields: an object each is ~40 B per registration), set by the constructor. */
export interface Registration extends RegistrationFacts, Owner, RegistrationConnection {}
/** The Registration's facts, assignable once by its constructor. */
type Assignable = { -readonly [K in keyof (RegistrationFacts & Owner & RegistrationConnection)]: (RegistrationFacts & Owner & RegistrationConnection)[K] };

export class Registration {
  /** Epoch seconds (a Date object per registration is ~0.1 KB; the ISO text is made when listed). */
  readonly registeredAt = epochSeconds();
  lastUse: number;
  /** Last resource state raised (or the state at registration): notifications are transitions. */
  resourceState: number;
  pendingChanges: Few<ResourceChange>;
  /** The latest address list of each move type raised and not yet answered. */
  pendingMoves: { [T in MoveType]?: readonly IpAddrInfo[] } | undefined;
  /** Operator's forced response (`witnessctl notify`), served before anything else. */
  forced: AsyncNotifyResult | undefined;
  /** Waiting AsyncNotify calls, oldest first. */
  waiters: Few<Waiter>;
  removed = false;

  constructor(init: RegistrationInit, now: number) {
    // Stores through `this` itself: V8 sizes the object by them (through an alias, the fields
    // beyond the declared ones would go to a separate property array, ~50 B a registration).
    (this as Assignable).id = init.id;
    (this as Assignable).associationGroupId = init.owner.associationGroupId;
    (this as Assignable).principal = init.owner.principal;
    (this as Assignable).version = init.version;
    (this as Assignable).netName = init.netName;
    (this as Assignable).shareName = init.shareName;
    (this as Assignable).ipAddress = init.ipAddress;
    (this as Assignable).clientName = init.clientName;
    (this as Assignable).flags = init.flags;
    (this as Assignable).keepAliveTimeout = init.keepAliveTimeout;
    (this as Assignable).svm = init.svm;
    (this as Assignable).lif = init.lif;
    (this as Assignable).localAddress = init.localAddress;
    (this as Assignable).localPort = init.localPort;
    (this as Assignable).remoteAddress = init.remoteAddress;
    (this as Assignable).remotePort = init.remotePort;
    this.lastUse = now;
    this.resourceState = init.initiallyAvailable ? WITNESS_STATE_AVAILABLE : WITNESS_STATE_UNAVAILABLE;
  }

  get isV2(): boolean {
    return this.version === WITNESS_V2;
  }

  hasPending(): boolean {
    return this.forced !== undefined || this.pendingChanges !== undefined || this.pendingMoves !== undefined;
  }

  pendingCount(): number {
    let n = (this.forced ? 1 : 0) + Few.size(this.pendingChanges);
    for (const t of MOVE_TYPES) if (this.pendingMoves?.[t]) n++;
    return n;
  }

  get waitingCalls(): number {
    return Few.size(this.waiters);
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
    const moves = this.pendingMoves;
    const changes = this.pendingChanges;
    if (changes !== undefined) {
      // One change (a fan-out's case) is a change shared by the registrations told it: so is the response.
      response = Array.isArray(changes)
        ? { type: RESOURCE_CHANGE_NOTIFICATION, changes }
        : oneChangeResponses.get(changes, undefined, undefined, oneChangeResponse);
      this.pendingChanges = undefined;
    } else if (moves) {
      const type = MOVE_TYPES.find((t) => moves[t]) as MoveType;
      response = { type, addresses: moves[type] as readonly IpAddrInfo[] };
      moves[type] = undefined;
      if (!MOVE_TYPES.some((t) => moves[t])) this.pendingMoves = undefined;
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
      localAddress: this.localAddress,
      localPort: this.localPort,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      registeredAt: new Date(this.registeredAt * 1000).toISOString(),
      pendingAsyncNotify: this.waitingCalls,
      pendingNotifications: this.pendingCount(),
    };
  }
}

export interface RegistryOptions {
  /** Bound on the queued RESOURCE_CHANGE list per registration (oldest dropped beyond it). */
  readonly maxPendingChanges: number;
  /** Bound on waiting AsyncNotify calls per registration (the oldest gets WERR.NO_SYSTEM_RESOURCES beyond it). */
  readonly maxWaitersPerRegistration: number;
}

/**
 * The owner's bookkeeping (the service's indexes and counters), not observers: those
 * subscribe to the RegistrationStream, where the registry publishes waiting, abandoned and
 * timed-out itself.
 */
export interface RegistryHooks {
  /** A response went to a waiting call. */
  onDelivered?(reg: Registration, r: AsyncNotifyResult, forced: boolean): void;
  onRemoved?(reg: Registration, reason: string): void;
}

export class Registry {
  private readonly regs = new Map<string, Registration>();
  private waiting = 0;
  private v2 = 0;
  /** Keep-alive deadlines of waiting V2 calls, behind one timer. */
  private readonly keepAlive: DeadlineQueue<Waiter>;
  /** The change raised last (resourceChange): the next registration told the same shares it. */
  private readonly changes = new LastMemo<ResourceChange>();

  constructor(
    private readonly clock: Clock,
    private readonly options: RegistryOptions,
    private readonly hooks: RegistryHooks = {},
    private readonly events: RegistrationStream = new RegistrationStream(),
  ) {
    this.keepAlive = new DeadlineQueue(clock, (w) => {
      this.drop(w);
      this.finish(w, { result: WERR.TIMEOUT });
      if (this.events.active) this.events.publish({ type: 'timed-out', registration: w.reg });
    });
  }

  /** Stop the keep-alive timer (service close; waiting calls are ended by remove()). */
  close(): void {
    this.keepAlive.stop();
  }

  get size(): number {
    return this.regs.size;
  }

  /** How many of them are V2 (the rest are V1). */
  get sizeV2(): number {
    return this.v2;
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
    if (reg.isV2) this.v2++;
    return reg;
  }

  /** Lookup by id alone (the operator's and the sources' own questions; a client's call uses lookup). */
  get(id: string): Registration | undefined {
    return this.regs.get(id.toLowerCase());
  }

  /** Lookup as the owner: a handle of another association group or principal is unknown. */
  lookup(id: string, owner: Owner): Registration | undefined {
    const reg = this.regs.get(id.toLowerCase());
    if (!reg) return undefined;
    if (reg.associationGroupId !== owner.associationGroupId || reg.principal !== owner.principal) return undefined;
    return reg;
  }

  /** Remove; every waiting AsyncNotify of it completes with ERROR_NOT_FOUND (Decision 9). */
  remove(reg: Registration, reason: string): boolean {
    if (reg.removed) return false;
    reg.removed = true;
    this.regs.delete(reg.id);
    if (reg.isV2) this.v2--;
    const waiters = Few.list(reg.waiters);
    reg.waiters = undefined;
    for (const w of waiters) this.finish(w, { result: WERR.NOT_FOUND });
    this.hooks.onRemoved?.(reg, reason);
    return true;
  }

  /**
   * AsyncNotify on a found registration: answered at once when something is pending (or on
   * keep-alive 0), otherwise the call waits FIFO with its keep-alive deadline.
   */
  asyncNotify(reg: Registration, call: AbortWatch, reply: NotifyReply): void {
    reg.lastUse = this.clock.now();
    if (reg.hasPending() && reg.waiters === undefined) {
      const next = reg.takeNext() as { r: AsyncNotifyResult; forced: boolean };
      this.hooks.onDelivered?.(reg, next.r, next.forced);
      reply.send(next.r);
      return;
    }
    const keepAlive = reg.isV2 ? reg.keepAliveTimeout : undefined;
    if (keepAlive === 0) {
      reply.send({ result: WERR.TIMEOUT });
      return;
    }
    const w = new Waiter(this, reg, reply);
    if (keepAlive !== undefined) this.keepAlive.add(w, this.clock.now() + keepAlive * 1000);
    reg.waiters = Few.add(reg.waiters, w);
    this.waiting++;
    if (this.events.active) this.events.publish({ type: 'waiting', registration: reg });
    // Told at once when the call is already aborted: it leaves again before the limit counts it.
    call.onAbort(w);
    if (reg.waitingCalls > this.options.maxWaitersPerRegistration) {
      const oldest = Few.first(reg.waiters) as Waiter;
      reg.waiters = Few.remove(reg.waiters, oldest);
      this.finish(oldest, { result: WERR.NO_SYSTEM_RESOURCES });
    }
  }

  /** The call can no longer be answered: forget it (the RPC runtime answers or drops it). */
  waiterAborted(w: Waiter): void {
    if (!this.drop(w)) return;
    this.release(w);
    if (this.events.active) this.events.publish({ type: 'abandoned', registration: w.reg });
  }

  /** Queue a RESOURCE_CHANGE if it is a transition of this registration's resource state. */
  raiseResourceChange(reg: Registration, available: boolean): boolean {
    const state = available ? WITNESS_STATE_AVAILABLE : WITNESS_STATE_UNAVAILABLE;
    if (reg.resourceState === state) return false;
    reg.resourceState = state;
    const change = this.changes.get(reg.netName, available ? RESOURCE_STATE_AVAILABLE : RESOURCE_STATE_UNAVAILABLE, undefined, resourceChange);
    reg.pendingChanges = Few.add(reg.pendingChanges, change);
    if (Few.size(reg.pendingChanges) > this.options.maxPendingChanges) {
      reg.pendingChanges = Few.remove(reg.pendingChanges, Few.first(reg.pendingChanges) as ResourceChange);
    }
    this.pump(reg);
    return true;
  }

  /** Queue a move; a later one of the same type replaces it (only the newest addresses matter). */
  raiseMove(reg: Registration, type: MoveType, addresses: readonly IpAddrInfo[]): void {
    (reg.pendingMoves ??= {})[type] = addresses;
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
      if (reg.isV2 && reg.waiters === undefined && reg.lastUse + unusedMs < now) gone.push(reg);
    }
    for (const reg of gone) this.remove(reg, 'unused');
    return gone;
  }

  /** Answer waiting calls oldest first while something is pending. */
  private pump(reg: Registration): void {
    while (reg.waiters !== undefined && reg.hasPending()) {
      const w = Few.first(reg.waiters) as Waiter;
      reg.waiters = Few.remove(reg.waiters, w);
      const next = reg.takeNext() as { r: AsyncNotifyResult; forced: boolean };
      this.finish(w, next.r);
      this.hooks.onDelivered?.(reg, next.r, next.forced);
    }
  }

  private drop(w: Waiter): boolean {
    if (!Few.has(w.reg.waiters, w)) return false;
    w.reg.waiters = Few.remove(w.reg.waiters, w);
    return true;
  }

  private release(w: Waiter): void {
    this.keepAlive.remove(w);
    this.waiting--;
    // Spec: LastUseTime = now and IsAsyncNotifyRegistered = FALSE when a call leaves.
    w.reg.lastUse = this.clock.now();
  }

  private finish(w: Waiter, r: AsyncNotifyResult): void {
    this.release(w);
    w.reply.send(r);
  }
}
