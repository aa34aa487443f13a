/**
 * The status page's timeline: cluster events, notifications (with their latency), queued
 * notifications and registrations, as entries with a sequence number in a bounded ring.
 * Fed by what the producing rooms publish (the cluster model's subscribe, the Witness
 * service's registration stream, observe()), which the daemon binds.
 *
 * A fan-out to thousands of registrations must not become thousands of entries or thousands
 * of writes during the fan-out: what the hooks report is aggregated in place (counts, latency
 * min/max/mean, the first SAMPLES items) and becomes entries on the next turn of the event
 * loop. A cluster event closes the aggregates before it, so the order stays true.
 */
import type { ClusterEvent } from '../../cluster/types';
import { describeEvent } from '../format';
import type { ForcedNotification } from '../port';
import { IPADDR_OFFLINE, IPADDR_ONLINE, RESOURCE_CHANGE_NOTIFICATION } from '../../gen/witness';
import { CHANGE_TYPE_NAMES, MESSAGE_TYPE_NAMES, versionName, werrName } from '../../witness/constants';
import type { RegistrationFacts } from '../../witness/types';
import type { RegistrationStream } from '../../witness/stream';
import { performance } from 'node:perf_hooks';

/** A registration as the hooks pass it (the Witness service's Registration fits). */
export type RegistrationRef = Pick<RegistrationFacts, 'id' | 'clientName' | 'netName' | 'ipAddress' | 'version' | 'lif'>;

/** A delivered response as the Witness service reports it (its DeliveredNotification fits). */
export interface NotificationReport {
  readonly registration: RegistrationRef;
  readonly response: ForcedNotification | undefined;
  readonly forced: boolean;
  readonly result: string;
  readonly latencyMs: number;
  readonly queued: boolean;
}

export interface RegistrationSample {
  readonly registration: string;
  readonly client: string;
  readonly netName: string;
  readonly ipAddress: string;
  readonly version: 'V1' | 'V2' | string;
}
export interface NotificationSample extends RegistrationSample {
  readonly type: string;
  /** e.g. "SOFS UNAVAILABLE", "127.0.0.12 ONLINE". */
  readonly detail: string;
  readonly result: string;
  readonly forced: boolean;
  readonly latencyMs: number;
  readonly queued: boolean;
}
export interface LatencySummary {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

interface EntryBase {
  /** 1, 2, 3, … per daemon run; the SSE event id. */
  readonly seq: number;
  /** ISO time of the first thing the entry reports. */
  readonly at: string;
}
export type TimelineEntry = EntryBase &
  (
    | { readonly kind: 'cluster'; readonly type: ClusterEvent['type']; readonly text: string; readonly event: ClusterEvent }
    | {
        readonly kind: 'notifications';
        readonly count: number;
        readonly byType: Readonly<Record<string, number>>;
        /** How many of them had waited in a queue for the client's next AsyncNotify. */
        readonly fromQueue: number;
        readonly latencyMs: LatencySummary;
        readonly samples: readonly NotificationSample[];
      }
    | {
        readonly kind: 'queued';
        readonly count: number;
        readonly byType: Readonly<Record<string, number>>;
        readonly samples: ReadonlyArray<RegistrationSample & { readonly type: string; readonly detail: string }>;
      }
    | {
        readonly kind: 'registrations';
        readonly added: number;
        readonly removed: number;
        /** Removals by reason (UnRegister, association-closed, unused, operator, …). */
        readonly removedBy: Readonly<Record<string, number>>;
        readonly samples: ReadonlyArray<RegistrationSample & { readonly action: 'registered' | 'unregistered'; readonly reason?: string }>;
      }
  );

/** Distributes Omit over the union (plain Omit would merge its members). */
type WithoutBase<T> = T extends unknown ? Omit<T, keyof EntryBase> : never;
type EntryBody = WithoutBase<TimelineEntry>;

export interface StatusFeedOptions {
  /** Entries kept for pages that connect or reconnect (default 500). */
  readonly capacity?: number;
  /** Items listed per aggregated entry; the rest are counted (default 20). */
  readonly samples?: number;
}


/**
 * The registration's sample with the entry's own fields, made as one literal: a spread copy
 * gets a hidden class of its own in V8 (~0.15 KB each, hundreds held; memory benchmark).
 */
function sample<T extends object>(r: RegistrationRef, extra: T): RegistrationSample & T {
  return Object.assign({ registration: r.id, client: r.clientName, netName: r.netName, ipAddress: r.ipAddress, version: versionName(r.version) }, extra);
}

function typeName(r: ForcedNotification | undefined): string {
  return r ? MESSAGE_TYPE_NAMES[r.type] ?? `type ${r.type}` : 'NONE';
}

/** What one response said, in the protocol's words. */
export function describeResponse(r: ForcedNotification | undefined): { type: string; detail: string } {
  const type = typeName(r);
  if (!r) return { type, detail: 'NULL response' };
  if (r.type === RESOURCE_CHANGE_NOTIFICATION) return { type, detail: r.changes.map((c) => `${c.name} ${CHANGE_TYPE_NAMES[c.changeType] ?? `0x${c.changeType.toString(16)}`}`).join(', ') };
  const state = (f: number) => (f & IPADDR_OFFLINE ? ' OFFLINE' : f & IPADDR_ONLINE ? ' ONLINE' : '');
  return { type, detail: r.addresses.map((a) => `${[a.ipv4, a.ipv6].filter(Boolean).join(' ')}${state(a.flags)}`).join(', ') };
}

const count = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

interface NotifAgg {
  kind: 'notifications';
  at: number;
  count: number;
  byType: Record<string, number>;
  fromQueue: number;
  min: number;
  max: number;
  sum: number;
  samples: NotificationSample[];
}
interface QueuedAgg {
  kind: 'queued';
  at: number;
  count: number;
  byType: Record<string, number>;
  samples: Array<RegistrationSample & { type: string; detail: string }>;
}
interface RegAgg {
  kind: 'registrations';
  at: number;
  added: number;
  removed: number;
  removedBy: Record<string, number>;
  samples: Array<RegistrationSample & { action: 'registered' | 'unregistered'; reason?: string }>;
}
type Pending = { kind: 'cluster'; at: number; event: ClusterEvent } | NotifAgg | QueuedAgg | RegAgg;

export class StatusFeed {
  private readonly capacity: number;
  private readonly maxSamples: number;
  private readonly ring: TimelineEntry[] = [];
  private seq = 0;
  private pending: Pending[] = [];
  private notif: NotifAgg | undefined;
  private queuedAgg: QueuedAgg | undefined;
  private regs: RegAgg | undefined;
  private flushTimer: NodeJS.Immediate | undefined;
  private listeners: Array<(e: TimelineEntry) => void> = [];

  constructor(o: StatusFeedOptions = {}) {
    this.capacity = o.capacity ?? 500;
    this.maxSamples = o.samples ?? 20;
  }

  // ---- what the rooms publish (bound by the daemon) ----------------------------------

  /**
   * Follow the Witness service's stream. The latency of a notification is from when it was
   * raised (the cluster event's handling, the operator's force) to its delivery; for one that
   * waited in a queue, from when the oldest queued one was raised (it stands for the batch).
   */
  observe(events: RegistrationStream): () => void {
    const queuedSince = new Map<RegistrationRef, number>();
    return events.subscribe((e) => {
      switch (e.type) {
        case 'registered':
          return this.registered(e.registration);
        case 'removed':
          queuedSince.delete(e.registration);
          return this.unregistered(e.registration, e.reason);
        case 'queued':
          if (!queuedSince.has(e.registration)) queuedSince.set(e.registration, e.raisedAt);
          return this.queued(e.registration, e.message, e.detail);
        case 'delivered': {
          const since = queuedSince.get(e.registration);
          const now = e.deliveredAt ?? performance.now();
          if (since !== undefined && !e.registration.hasPending()) queuedSince.delete(e.registration);
          return this.notified({
            registration: e.registration, response: e.response, forced: e.forced, result: werrName(e.result),
            latencyMs: now - (since ?? e.raisedAt ?? now), queued: since !== undefined,
          });
        }
      }
    });
  }

  /** The cluster model's subscriber. */
  clusterEvent(event: ClusterEvent): void {
    this.closeAggregates();
    this.pending.push({ kind: 'cluster', at: Date.now(), event });
    this.schedule();
  }

  registered(reg: RegistrationRef): void {
    const a = this.regAgg();
    a.added++;
    if (a.samples.length < this.maxSamples) a.samples.push(sample(reg, { action: 'registered' as const }));
  }

  unregistered(reg: RegistrationRef, reason: string): void {
    const a = this.regAgg();
    a.removed++;
    count(a.removedBy, reason);
    if (a.samples.length < this.maxSamples) a.samples.push(sample(reg, { action: 'unregistered' as const, reason }));
  }

  notified(n: NotificationReport): void {
    let a = this.notif;
    if (!a) {
      a = this.notif = { kind: 'notifications', at: Date.now(), count: 0, byType: {}, fromQueue: 0, min: Infinity, max: 0, sum: 0, samples: [] };
      this.open(a);
    }
    const type = typeName(n.response);
    a.count++;
    count(a.byType, n.forced ? `FORCED ${type}` : type);
    if (n.queued) a.fromQueue++;
    a.min = Math.min(a.min, n.latencyMs);
    a.max = Math.max(a.max, n.latencyMs);
    a.sum += n.latencyMs;
    if (a.samples.length < this.maxSamples) {
      const d = describeResponse(n.response);
      a.samples.push(sample(n.registration, { type: d.type, detail: d.detail, result: n.result, forced: n.forced, latencyMs: round(n.latencyMs), queued: n.queued }));
    }
  }

  queued(reg: RegistrationRef, type: string, detail: string): void {
    let a = this.queuedAgg;
    if (!a) {
      a = this.queuedAgg = { kind: 'queued', at: Date.now(), count: 0, byType: {}, samples: [] };
      this.open(a);
    }
    a.count++;
    count(a.byType, type);
    if (a.samples.length < this.maxSamples) a.samples.push(sample(reg, { type, detail }));
  }

  // ---- readers ------------------------------------------------------------------------

  /** Entries after `seq` (all kept ones without it), oldest first, and how many were lost. */
  since(seq?: number): { entries: TimelineEntry[]; missed: number } {
    // A sequence number from the future is from an earlier run of the daemon: everything is new.
    if (seq === undefined || seq > this.seq) return { entries: [...this.ring], missed: 0 };
    const first = this.ring[0]?.seq ?? this.seq + 1;
    return { entries: this.ring.filter((e) => e.seq > seq), missed: Math.max(0, first - 1 - seq) };
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Called with each new entry, in order; returns the unsubscribe function. */
  onEntry(listener: (e: TimelineEntry) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Turn what is pending into entries now (also runs on the next turn by itself). */
  flush(): void {
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const pending = this.pending;
    this.pending = [];
    this.closeAggregates();
    for (const p of pending) this.append(p.at, body(p));
  }

  close(): void {
    this.flush();
    this.listeners = [];
  }

  // ---- internals ----------------------------------------------------------------------

  private regAgg(): RegAgg {
    if (!this.regs) {
      this.regs = { kind: 'registrations', at: Date.now(), added: 0, removed: 0, removedBy: {}, samples: [] };
      this.open(this.regs);
    }
    return this.regs;
  }

  private open(a: Pending): void {
    this.pending.push(a);
    this.schedule();
  }

  /** Later reports start new aggregates (after the cluster event that is coming). */
  private closeAggregates(): void {
    this.notif = undefined;
    this.queuedAgg = undefined;
    this.regs = undefined;
  }

  private schedule(): void {
    this.flushTimer ??= setImmediate(() => this.flush());
  }

  private append(at: number, b: EntryBody): void {
    const entry = { seq: ++this.seq, at: new Date(at).toISOString(), ...b } as TimelineEntry;
    this.ring.push(entry);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const l of [...this.listeners]) l(entry);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function body(p: Pending): EntryBody {
  switch (p.kind) {
    case 'cluster':
      return { kind: 'cluster', type: p.event.type, text: describeEvent(p.event), event: p.event };
    case 'notifications':
      return {
        kind: 'notifications', count: p.count, byType: p.byType, fromQueue: p.fromQueue,
        latencyMs: { min: round(p.min), max: round(p.max), mean: round(p.sum / p.count) }, samples: p.samples,
      };
    case 'queued':
      return { kind: 'queued', count: p.count, byType: p.byType, samples: p.samples };
    case 'registrations':
      return { kind: 'registrations', added: p.added, removed: p.removed, removedBy: p.removedBy, samples: p.samples };
  }
}
