/**
 * The six Witness operations and the registration lifetime (Decisions 3–9, 11), in domain
 * terms: a CallContext in, results out. The adapter maps these to the generated codec.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { RegistrationFilter, RegistrationUpdate, ToldRegistration, WitnessCountsView as WitnessCounts } from './admin-port';
import type { ClusterEvent, ClusterModelView } from '../cluster/types';
import type { AssociationGroupRef, CallContext } from '../rpc/call-context';
import { principalName } from '../rpc/security';
import { LIMIT_DEFAULTS, TIMEOUT_DEFAULTS, WITNESS_DEFAULTS } from '../config';
import { addressKey, ipv6Prefix64 } from '../lib/address';
import { Few } from '../lib/few';
import { systemClock, type Clock, type TimerHandle } from './clock';
import { MESSAGE_TYPE_NAMES, MESSAGE_TYPES, WERR, werrName } from './constants';
import { RESOURCE_CHANGE_NOTIFICATION } from '../gen/witness';
import { applyEvent, type RaisedNotification } from './events';
import { RegistrationStream } from './stream';
import { DepartedHandles, ForcedUnregister, needsReregistration } from './forced-unregister';
import { buildInterfaceList, type InterfaceListResult } from './interface-list';
import { type NotifyReply, Registry, type Registration } from './registry';
import type { AsyncNotifyResult, Notification, Owner, RegisterArgs, RegistrationInfo } from './types';
import { clip, lifAddressText, validateRegistration } from './validate';
import { LogLimiter, limitedLog } from '../lib/log-limit';
import { applyUpdate } from './updates';

export interface WitnessOptions {
  /** Decision 9: a V2 registration with no waiting AsyncNotify for this long is removed. */
  readonly unusedTimeoutMs: number;
  /** How often the unused sweep runs. */
  readonly sweepIntervalMs: number;
  readonly maxRegistrations: number;
  /** Registrations one client (one association group: its connections share handles) may hold. */
  readonly maxRegistrationsPerClient: number;
  readonly maxPendingChanges: number;
  readonly maxWaitersPerRegistration: number;
  /**
   * Registrations one source address (IPv6: its /64) may hold once the registry is nearly full
   * (SOURCE_RESERVE of maxRegistrations left): one host cannot take the last slots from the others.
   */
  readonly maxRegistrationsPerSource: number;
  /** Upper bound on a RegisterEx KeepAliveTimeout (seconds); undefined honours the client. */
  readonly keepAliveMaxSeconds: number | undefined;
  /** Forced unregister this long after a "go elsewhere" notice was sent (forced-unregister.ts); 0 = never. */
  readonly forcedUnregisterMs: number;
  /** ... of V1 registrations too (Samba); V2 only otherwise. */
  readonly forcedUnregisterV1: boolean;
  /** InterfaceGroupName: the hosting node's name, or the CIFS server's DNS name for every entry (Samba). */
  readonly interfaceGroupName: 'node' | 'server';
}

/** What the configuration sets defaults as its schema says (src/config/sections.ts); the others are the service's own. */
export const DEFAULT_WITNESS_OPTIONS: WitnessOptions = {
  keepAliveMaxSeconds: TIMEOUT_DEFAULTS.keepAliveMaxSeconds,
  unusedTimeoutMs: TIMEOUT_DEFAULTS.unusedRegistrationSeconds * 1000,
  sweepIntervalMs: 5_000,
  maxRegistrations: LIMIT_DEFAULTS.maxRegistrations,
  maxRegistrationsPerClient: LIMIT_DEFAULTS.maxRegistrationsPerClient,
  maxRegistrationsPerSource: LIMIT_DEFAULTS.maxRegistrationsPerSource,
  maxPendingChanges: 64,
  maxWaitersPerRegistration: 8,
  forcedUnregisterMs: WITNESS_DEFAULTS.forcedUnregisterSeconds * 1000,
  forcedUnregisterV1: WITNESS_DEFAULTS.forcedUnregisterV1,
  interfaceGroupName: WITNESS_DEFAULTS.interfaceGroupName,
};

/** Removal reasons that are the server's doing: the owner's UnRegister then gets ERROR_NOT_FOUND, as from Samba. */
const SERVER_REMOVALS = new Set(['forced-unregister', 'operator', 'unused']);

/** The admin port's shapes: the service is handed to the admin API as its WitnessAdminPort. */
export type { RegistrationFilter, WitnessCountsView as WitnessCounts } from './admin-port';

export interface WitnessServiceDeps {
  readonly model: ClusterModelView;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly options?: Partial<WitnessOptions>;
  /** The rate limit of lines a client causes; default: the service's own. */
  readonly logLimiter?: LogLimiter;
}

interface Drain {
  readonly pending: Set<Registration>;
  done(): void;
}

/**
 * Lines a client causes, per second (each other one: PEER_LINES_PER_SECOND). Registrations and
 * their ends are the audit trail, so they get more room; past it, the next line says how many
 * were left out. Cluster events and the notifications they cause are not limited (no client
 * causes them, and the fan-out must not pay for a limiter per notification).
 */
export const WITNESS_LOG_BUDGETS: Readonly<Record<string, number>> = { registration: 100, unregistration: 100 };

const NULL_GUID = '00000000-0000-0000-0000-000000000000';
/**
 * The share of maxRegistrations kept for sources holding fewer than maxRegistrationsPerSource:
 * below it anyone registers (a benchmark's 10,000 clients on one loopback address), within it
 * a source at its limit is refused.
 */
export const SOURCE_RESERVE = 0.1;
/** `s`, or the equal one of `known` (so that equal strings are stored once). */
const sameString = (s: string, ...known: Array<string | undefined>): string => known.find((k) => k === s) ?? s;
/** Addresses compare as addresses (IPv6 spellings), anything else as text. */
const sameAddress = (a: string, b: string): boolean => (addressKey(a) ?? a.toLowerCase()) === (addressKey(b) ?? b.toLowerCase());
const eqi = (a: string | undefined, b: string | undefined): boolean =>
  (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

export class WitnessService {
  readonly options: WitnessOptions;
  readonly registry: Registry;
  private readonly model: ClusterModelView;
  private readonly log: Logger;
  /** The rate-limited log, for what a client causes (limitedLog). */
  private readonly peerLog: Logger;
  private readonly clock: Clock;
  /** The one stream out of the service (stream.ts): metrics, the status page, logs subscribe. */
  readonly events = new RegistrationStream();
  /** performance.now() when the raising in progress began (an event's handling, a forced response). */
  private raisingSince: number | undefined;
  /** Registrations per data LIF (events name LIFs). */
  private readonly byLif = new Map<string, Set<Registration>>();
  /** Registrations per source (sourceKey); absent: none. */
  private readonly bySource = new Map<string, number>();
  /** Registrations per association group (a group holds a few); a key once its close is watched. */
  private readonly byGroup = new Map<number, Few<Registration>>();
  /** One close listener for every association group (not a closure per group). */
  private readonly onGroupClosed = (g: AssociationGroupRef): void => this.groupClosed(g.id);
  private readonly sent: Record<string, number> = Object.fromEntries([...Object.keys(MESSAGE_TYPES), 'FORCED'].map((k) => [k, 0]));
  private readonly unsubscribe: () => void;
  private sweepTimer: TimerHandle | undefined;
  private readonly forcedUnregister: ForcedUnregister | undefined;
  private readonly departed: DepartedHandles;
  private closed = false;
  /** Completion signals asked for (whenDelivered); undefined while nobody waits (the fan-out pays one check). */
  private drains: Set<Drain> | undefined;

  constructor(deps: WitnessServiceDeps) {
    this.model = deps.model;
    this.log = deps.logger;
    this.peerLog = limitedLog(deps.logger, deps.logLimiter ?? new LogLimiter(), WITNESS_LOG_BUDGETS);
    this.clock = deps.clock ?? systemClock;
    this.options = { ...DEFAULT_WITNESS_OPTIONS, ...deps.options };
    this.registry = new Registry(this.clock, this.options, {
      onDelivered: (reg, r, forced) => this.delivered(reg, r, forced),
      onRemoved: (reg, reason) => this.removed(reg, reason),
    }, this.events);
    this.forcedUnregister = this.options.forcedUnregisterMs > 0
      ? new ForcedUnregister(this.clock, this.options.forcedUnregisterMs, (reg) => this.registry.remove(reg, 'forced-unregister'))
      : undefined;
    this.departed = new DepartedHandles(this.clock, this.options.maxRegistrations);
    this.unsubscribe = this.model.subscribe((ev) => this.handleEvent(ev));
    this.scheduleSweep();
  }

  // ---- opnum 0 ------------------------------------------------------------------------

  getInterfaceList(ctx: CallContext): InterfaceListResult {
    const r = buildInterfaceList(this.model, ctx.localAddress, this.options.interfaceGroupName);
    if (r.result !== WERR.OK) {
      this.peerLog.warn({ op: 'GetInterfaceList', localAddress: ctx.localAddress, result: werrName(r.result) }, 'no interfaces for this address');
    }
    return r;
  }

  // ---- opnums 1 and 4 -----------------------------------------------------------------

  register(ctx: CallContext, args: RegisterArgs, ex: boolean): { result: number; handle?: string } {
    const op = ex ? 'RegisterEx' : 'Register';
    const v = validateRegistration(this.model, args, ex);
    if (!v.ok) {
      this.peerLog.info(
        { op, client: clip(args.clientName), netName: clip(args.netName), ip: clip(args.ipAddress), share: clip(args.shareName), result: werrName(v.result), reason: v.reason },
        'registration refused',
      );
      return { result: v.result };
    }
    if (this.registry.size >= this.options.maxRegistrations) {
      this.peerLog.warn({ op, client: args.clientName, remote: ctx.remoteAddress, limit: this.options.maxRegistrations }, 'registration refused: limit reached');
      return { result: WERR.NO_SYSTEM_RESOURCES };
    }
    const source = sourceKey(ctx.remoteAddress);
    const fromSource = this.bySource.get(source) ?? 0;
    if (fromSource >= this.options.maxRegistrationsPerSource && this.registry.size >= this.options.maxRegistrations * (1 - SOURCE_RESERVE)) {
      this.peerLog.warn(
        { op, client: args.clientName, source, held: fromSource, limit: this.options.maxRegistrationsPerSource, registrations: this.registry.size },
        'registration refused: per-source limit reached while the registry is nearly full',
      );
      return { result: WERR.NO_SYSTEM_RESOURCES };
    }
    const held = Few.size(this.byGroup.get(ctx.associationGroup.id));
    if (held >= this.options.maxRegistrationsPerClient) {
      this.peerLog.warn(
        { op, client: args.clientName, remote: ctx.remoteAddress, assocGroup: ctx.associationGroup.id, limit: this.options.maxRegistrationsPerClient },
        'registration refused: per-client limit reached',
      );
      return { result: WERR.NO_SYSTEM_RESOURCES };
    }
    const owner = ownerOf(ctx);
    const reg = this.registry.add({
      id: randomUUID(),
      owner,
      version: args.version >>> 0,
      // The model's own string when the client spelled it the same (one copy per registration otherwise).
      netName: sameString(args.netName as string, v.svm.netbiosName, v.svm.dnsName),
      shareName: ex ? args.shareName : undefined,
      // Stored as validated: the LIF's address text, not the client's (padded, any length) spelling.
      ipAddress: lifAddressText(v.lif, args.ipAddress as string),
      clientName: args.clientName as string,
      flags: ex ? (args.flags ?? 0) >>> 0 : 0,
      keepAliveTimeout: ex ? this.effectiveKeepAlive(args.keepAliveTimeout) : undefined,
      svm: v.svm.name,
      lif: v.lif.name,
      initiallyAvailable: v.lif.operational,
      localAddress: ctx.localAddress,
      localPort: ctx.localPort,
      remoteAddress: ctx.remoteAddress,
      remotePort: ctx.remotePort,
    });
    this.bySource.set(source, fromSource + 1);
    let lifSet = this.byLif.get(reg.lif);
    if (!lifSet) this.byLif.set(reg.lif, (lifSet = new Set()));
    lifSet.add(reg);
    this.trackGroup(ctx, reg);
    if (this.events.active) this.events.publish({ type: 'registered', registration: reg });
    this.peerLog.info(
      { event: 'registered', op, registration: reg.id, client: reg.clientName, netName: reg.netName, ip: reg.ipAddress, share: reg.shareName, lif: reg.lif, version: reg.version, keepAlive: reg.keepAliveTimeout, assocGroup: owner.associationGroupId, principal: owner.principal },
      'registration',
    );
    return { result: WERR.OK, handle: reg.id };
  }

  // ---- opnums 2 and 5 -----------------------------------------------------------------

  /**
   * Decision 5: unknown, unregistered or someone else's handle → ERROR_INVALID_PARAMETER;
   * one the server removed lately (forced, operator, unused) → ERROR_NOT_FOUND, as Samba
   * answers the client that re-registers after a forced unregister.
   */
  unRegister(ctx: CallContext, handle: string, op = 'UnRegister'): number {
    const reg = this.lookup(ctx, handle);
    if (!reg) {
      const result = this.departed.has(handle, ownerOf(ctx)) ? WERR.NOT_FOUND : WERR.INVALID_PARAMETER;
      this.peerLog.info({ op, registration: handle, result: werrName(result) }, 'unregister of unknown handle');
      return result;
    }
    this.registry.remove(reg, op);
    return WERR.OK;
  }

  unRegisterEx(ctx: CallContext, handle: string): number {
    return this.unRegister(ctx, handle, 'UnRegisterEx');
  }

  // ---- opnum 3 ------------------------------------------------------------------------

  /** Unknown handle → ERROR_NOT_FOUND; otherwise answered through `reply` per Decisions 6–7. */
  asyncNotify(ctx: CallContext, handle: string, reply: NotifyReply): void {
    const reg = this.lookup(ctx, handle);
    if (!reg) reply.send({ result: WERR.NOT_FOUND });
    else this.registry.asyncNotify(reg, ctx, reply);
  }

  // ---- events -------------------------------------------------------------------------

  handleEvent(ev: ClusterEvent): void {
    if (this.closed) return;
    // Observers hear of the deliveries once every response was handed to the runtime (stream.ts).
    this.events.hold(() => this.raise(ev));
  }

  private raise(ev: ClusterEvent): void {
    this.raisingSince = performance.now();
    const raised = applyEvent(
      ev,
      this.model,
      this.registry,
      (lif) => [...(this.byLif.get(lif) ?? [])],
      () => this.registry.all(),
    );
    this.telling?.push(...raised);
    const counts: Record<string, number> = {};
    const observed = this.events.active;
    for (const r of raised) {
      const t = MESSAGE_TYPE_NAMES[r.type];
      counts[t] = (counts[t] ?? 0) + 1;
      // Nobody was waiting for it (or not for all of it): it waits for the next AsyncNotify.
      if (observed && r.reg.hasPending()) this.events.publish({ type: 'queued', registration: r.reg, message: t, detail: r.detail, raisedAt: this.raisingSince as number });
    }
    this.raisingSince = undefined;
    // One line per event; each notification gets its own line when it is sent (delivered()).
    this.log.info({ event: 'cluster-event', cluster: ev, raised: counts }, `handled ${ev.type}`);
  }

  // ---- operator -----------------------------------------------------------------------

  /** Notifications raised while an operator command runs (told()); undefined otherwise. */
  private telling: RaisedNotification[] | undefined;

  told<T>(fn: () => T): { result: T; told: ToldRegistration[] } {
    const outer = this.telling;
    const mine: RaisedNotification[] = [];
    this.telling = mine;
    try {
      const result = fn();
      return {
        result,
        told: mine.map(({ reg, type, detail }) => ({
          id: reg.id, clientName: reg.clientName, netName: reg.netName, ipAddress: reg.ipAddress,
          type: MESSAGE_TYPE_NAMES[type] ?? `type-${type}`, detail,
          // Still pending after the command: no AsyncNotify was waiting for it.
          delivery: reg.hasPending() ? 'queued' : 'notified',
        })),
      };
    } finally {
      outer?.push(...mine);
      this.telling = outer;
    }
  }

  /** Resolves once none of these registrations has a notification queued, or after timeoutMs; with how many still had one. */
  whenDelivered(ids: readonly string[], timeoutMs: number): Promise<number> {
    const pending = new Set<Registration>();
    for (const id of ids) {
      const reg = this.registry.get(id);
      if (reg && reg.hasPending()) pending.add(reg);
    }
    if (pending.size === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const drain: Drain = {
        pending,
        done: () => {
          clearTimeout(timer);
          this.drains?.delete(drain);
          if (this.drains?.size === 0) this.drains = undefined;
          resolve(pending.size);
        },
      };
      const timer = setTimeout(drain.done, timeoutMs);
      (this.drains ??= new Set()).add(drain);
    });
  }

  list(filter: RegistrationFilter = {}, limit = Infinity, offset = 0): RegistrationInfo[] {
    return this.select(filter, limit, offset).map((r) => r.info());
  }

  count(filter: RegistrationFilter = {}): number {
    return Object.values(filter).every((v) => v === undefined) ? this.registry.size : this.select(filter).length;
  }

  /** Force unregister; their waiting AsyncNotify calls get ERROR_NOT_FOUND. */
  unregister(filter: RegistrationFilter): RegistrationInfo[] {
    const regs = this.select(filter);
    const out = regs.map((r) => r.info());
    for (const reg of regs) this.registry.remove(reg, 'operator');
    return out;
  }

  /** Make the next AsyncNotify of the selected registrations return exactly this. */
  forceResponse(filter: RegistrationFilter, result: number, response?: Notification): RegistrationInfo[] {
    return this.events.hold(() => this.force(filter, result, response));
  }

  private force(filter: RegistrationFilter, result: number, response?: Notification): RegistrationInfo[] {
    const regs = this.select(filter);
    this.raisingSince = performance.now();
    for (const reg of regs) {
      this.registry.force(reg, { result: result >>> 0, response });
      if (reg.forced && this.events.active) this.events.publish({ type: 'queued', registration: reg, message: 'FORCED', detail: werrName(result >>> 0), raisedAt: this.raisingSince as number });
    }
    this.raisingSince = undefined;
    return regs.map((r) => r.info());
  }

  /** `net witness` updates on registrations chosen by id (updates.ts); unknown ids are skipped. */
  update(ids: readonly string[], u: RegistrationUpdate): RegistrationInfo[] {
    return this.events.hold(() => this.updateEach(ids, u));
  }

  private updateEach(ids: readonly string[], u: RegistrationUpdate): RegistrationInfo[] {
    this.raisingSince = performance.now();
    const done = ids.map((id) => this.registry.get(id)).filter((r): r is Registration => r !== undefined)
      .flatMap((reg) => {
        const info = reg.info();
        return applyUpdate(this.registry, this.model, reg, u) ? [info] : [];
      });
    this.raisingSince = undefined;
    return done;
  }

  counts(): WitnessCounts {
    // Kept by the registry as they come and go: a status page's snapshot costs no pass over all of them.
    const v2 = this.registry.sizeV2;
    return {
      registrations: this.registry.size,
      registrationsV1: this.registry.size - v2,
      registrationsV2: v2,
      pendingAsyncNotify: this.registry.waitingCalls,
      notificationsSent: { ...this.sent },
    };
  }

  /** Run the unused-registration sweep now (also runs on its timer). */
  sweep(): number {
    return this.registry.sweep(this.options.unusedTimeoutMs).length;
  }

  /** Stop timers and event delivery; waiting calls end with ERROR_NOT_FOUND. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    this.forcedUnregister?.stop();
    for (const reg of [...this.registry.all()]) this.registry.remove(reg, 'shutdown');
    this.registry.close();
    // Groups still hold onGroupClosed; it finds nothing in byGroup once cleared.
    this.byGroup.clear();
  }

  // ---- internals ----------------------------------------------------------------------

  private effectiveKeepAlive(requested: number | undefined): number {
    const t = (requested ?? 0) >>> 0;
    const max = this.options.keepAliveMaxSeconds;
    return max !== undefined && t > max ? max : t;
  }

  private lookup(ctx: CallContext, handle: string): Registration | undefined {
    if (handle === NULL_GUID) return undefined;
    return this.registry.lookup(handle, ownerOf(ctx));
  }

  private select(f: RegistrationFilter, limit = Infinity, offset = 0): Registration[] {
    const out: Registration[] = [];
    let skip = offset;
    for (const r of this.registry.all()) {
      if (out.length >= limit) break;
      if (f.id !== undefined && !eqi(r.id, f.id)) continue;
      if (f.netName !== undefined && !eqi(r.netName, f.netName)) continue;
      if (f.shareName !== undefined && !eqi(r.shareName, f.shareName)) continue;
      if (f.ipAddress !== undefined && !sameAddress(r.ipAddress, f.ipAddress)) continue;
      if (f.clientName !== undefined && !eqi(r.clientName, f.clientName)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(r);
    }
    return out;
  }

  private trackGroup(ctx: CallContext, reg: Registration): void {
    const id = ctx.associationGroup.id;
    if (!this.byGroup.has(id)) ctx.associationGroup.onClose(this.onGroupClosed);
    this.byGroup.set(id, Few.add(this.byGroup.get(id), reg));
  }

  private groupClosed(id: number): void {
    const regs = Few.list(this.byGroup.get(id));
    this.byGroup.delete(id);
    for (const reg of [...regs]) this.registry.remove(reg, 'association-closed');
  }

  /** The registration has nothing queued any more (delivered, or removed): tell who waits for that. */
  private drained(reg: Registration): void {
    for (const d of [...(this.drains as Set<Drain>)]) if (d.pending.delete(reg) && d.pending.size === 0) d.done();
  }

  private delivered(reg: Registration, r: AsyncNotifyResult, forced: boolean): void {
    if (this.drains && !reg.hasPending()) this.drained(reg);
    const type = r.response ? MESSAGE_TYPE_NAMES[r.response.type] ?? `type-${r.response.type}` : 'NONE';
    const key = forced ? 'FORCED' : type;
    this.sent[key] = (this.sent[key] ?? 0) + 1;
    if (!forced && this.forcedUnregister && (reg.isV2 || this.options.forcedUnregisterV1) && needsReregistration(reg, r.response)) {
      this.forcedUnregister.arm(reg);
    }
    if (this.events.active) {
      this.events.publish({ type: 'delivered', registration: reg, response: r.response, forced, result: r.result, raisedAt: this.raisingSince, deliveredAt: performance.now() });
    }
  }

  private removed(reg: Registration, reason: string): void {
    const set = this.byLif.get(reg.lif);
    if (set) {
      set.delete(reg);
      if (set.size === 0) this.byLif.delete(reg.lif);
    }
    const source = sourceKey(reg.remoteAddress);
    const n = (this.bySource.get(source) ?? 1) - 1;
    if (n > 0) this.bySource.set(source, n);
    else this.bySource.delete(source);
    const group = reg.associationGroupId;
    if (this.byGroup.has(group)) this.byGroup.set(group, Few.remove(this.byGroup.get(group), reg));
    this.forcedUnregister?.disarm(reg);
    if (SERVER_REMOVALS.has(reason)) this.departed.add(reg.id, reg);
    if (this.drains) this.drained(reg);
    if (this.events.active) this.events.publish({ type: 'removed', registration: reg, reason });
    this.peerLog.info({ event: 'unregistered', registration: reg.id, client: reg.clientName, reason }, 'unregistration');
  }

  private scheduleSweep(): void {
    if (this.closed) return;
    this.sweepTimer = this.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweep();
      this.scheduleSweep();
    }, this.options.sweepIntervalMs);
  }
}

/** The unit of the per-source limit: an IPv4 address, or an IPv6 address's /64 (one host has a /64 to pick from). */
export function sourceKey(remote: string): string {
  const key = addressKey(remote);
  if (key === undefined || !key.includes(':')) return key ?? remote;
  return ipv6Prefix64(key) ?? key;
}

export function ownerOf(ctx: CallContext): Owner {
  return { associationGroupId: ctx.associationGroup.id, principal: principalName(ctx.identity) };
}
