/**
 * A small metrics registry: counters and gauges with labels, rendered in the Prometheus
 * text exposition format (version 0.0.4) by GET /metrics. Every room may increment the
 * standard instruments (WitnessdMetrics) or register its own; collectors compute values at
 * scrape time (e.g. registration counts from the Witness service).
 */
import { WITNESS_V1, WITNESS_V2 } from '../gen/witness';
import { MESSAGE_TYPE_NAMES } from '../witness/constants';
import type { RegistrationStream } from '../witness/stream';
import { LastMemo } from '../lib/last-memo';

export type Labels = Readonly<Record<string, string | number>>;

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Bound on label combinations per metric: a label fed by client input must not grow memory without end. */
const MAX_SERIES = 10_000;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

abstract class Metric {
  protected readonly series = new Map<string, { labels: Labels; value: number }>();
  /**
   * The series of the frozen labels object counted last: a fan-out counts one labels object
   * (sameLabels) ten thousand times in a row, without making its key each time.
   */
  private readonly lastSeries = new LastMemo<{ labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly kind: 'counter' | 'gauge',
  ) {
    if (!NAME_RE.test(name)) throw new Error(`bad metric name ${name}`);
    for (const l of labelNames) if (!LABEL_RE.test(l) || l.startsWith('__')) throw new Error(`bad label name ${l} for ${name}`);
  }

  // Runs on every counted event (a 10,000-client fan-out counts each delivery twice): no
  // arrays or closures per call; the names are checked by counting, as labels has no others.
  protected key(labels: Labels): string {
    const names = this.labelNames;
    let k = '';
    let known = 0;
    for (let i = 0; i < names.length; i++) {
      const v = labels[names[i]];
      if (names[i] in labels) known++;
      k = i === 0 ? String(v ?? '') : `${k}\u0000${String(v ?? '')}`;
    }
    let given = 0;
    for (const n in labels) if (Object.prototype.hasOwnProperty.call(labels, n)) given++;
    if (given !== known) {
      for (const n of Object.keys(labels)) if (!names.includes(n)) throw new Error(`metric ${this.name} has no label ${n}`);
    }
    return k;
  }

  protected slot(labels: Labels): { labels: Labels; value: number } | undefined {
    const last = this.lastSeries.find(labels, undefined, undefined);
    if (last) return last;
    const s = this.slotOf(labels);
    // Only a frozen object is remembered by identity: one that can change may name another series next time.
    if (s && Object.isFrozen(labels)) this.lastSeries.remember(labels, undefined, undefined, s);
    return s;
  }

  private slotOf(labels: Labels): { labels: Labels; value: number } | undefined {
    const k = this.key(labels);
    let s = this.series.get(k);
    if (!s) {
      if (this.series.size >= MAX_SERIES) return undefined;
      s = { labels: { ...labels }, value: 0 };
      this.series.set(k, s);
    }
    return s;
  }

  get(labels: Labels = {}): number {
    return this.series.get(this.key(labels))?.value ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${this.name} ${this.kind}`];
    for (const s of this.series.values()) {
      const ls = this.labelNames.filter((n) => s.labels[n] !== undefined).map((n) => `${n}="${escapeLabel(String(s.labels[n]))}"`);
      lines.push(`${this.name}${ls.length ? `{${ls.join(',')}}` : ''} ${formatValue(s.value)}`);
    }
    return lines.join('\n') + '\n';
  }

  reset(): void {
    this.series.clear();
    this.lastSeries.clear();
  }
}

export class Counter extends Metric {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new Error(`counter ${this.name} can only go up`);
    const s = this.slot(labels);
    if (s) s.value += by;
  }
}

export class Gauge extends Metric {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'gauge');
  }
  set(labels: Labels, value: number): void {
    const s = this.slot(labels);
    if (s) s.value = value;
  }
  inc(labels: Labels = {}, by = 1): void {
    const s = this.slot(labels);
    if (s) s.value += by;
  }
  dec(labels: Labels = {}, by = 1): void {
    this.inc(labels, -by);
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: Array<() => void> = [];

  /** Get or create a counter; the same name always returns the same counter. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.getOrCreate(name, () => new Counter(name, help, labelNames), Counter, labelNames);
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.getOrCreate(name, () => new Gauge(name, help, labelNames), Gauge, labelNames);
  }

  /** A function run before each scrape, to set gauges from live state. Returns a remover. */
  addCollector(fn: () => void): () => void {
    this.collectors.push(fn);
    return () => {
      const i = this.collectors.indexOf(fn);
      if (i >= 0) this.collectors.splice(i, 1);
    };
  }

  /** Prometheus text exposition format (Content-Type: text/plain; version=0.0.4). */
  render(): string {
    for (const c of this.collectors) {
      try {
        c();
      } catch {
        // A failing collector leaves its gauges as they were; the scrape still works.
      }
    }
    return [...this.metrics.values()].map((m) => m.render()).join('');
  }

  private getOrCreate<T extends Metric>(name: string, make: () => T, cls: new (...a: never[]) => T, labelNames: readonly string[]): T {
    const existing = this.metrics.get(name);
    if (existing) {
      if (!(existing instanceof cls) || existing.labelNames.join(',') !== labelNames.join(',')) {
        throw new Error(`metric ${name} already registered with another type or labels`);
      }
      return existing;
    }
    const m = make();
    this.metrics.set(name, m);
    return m;
  }
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The instruments every room shares. Names follow Prometheus conventions (witnessd_ prefix,
 * _total for counters). Labels are bounded sets (opnums, types, node names), never client input.
 */
export class WitnessdMetrics {
  readonly registry: MetricsRegistry;
  /** RPC calls served: interface (witness, epm), opnum. */
  readonly rpcCalls: Counter;
  /** Calls that ended in a DCE/RPC fault: interface, status (hex). */
  readonly rpcFaults: Counter;
  /** Witness operation results: operation, result (WERROR, hex). */
  readonly witnessResults: Counter;
  /** AsyncNotify responses sent: type (RESOURCE_CHANGE, CLIENT_MOVE, SHARE_MOVE, IP_CHANGE). */
  readonly notifications: Counter;
  /** Current registrations: version (1, 2). Set by a collector from the Witness service. */
  readonly registrations: Gauge;
  /** AsyncNotify calls currently held. */
  readonly pendingAsyncNotify: Gauge;
  /** Health probe results: node, result (ok, fail). */
  readonly probeResults: Counter;
  /** Node state in the cluster model (probes, operator, simulated mode alike): node; 1 up, 0 down or taken over. */
  readonly nodeHealthy: Gauge;
  /** Node state changes decided by the watcher or the operator: node, to (up, down), by (probe, operator). */
  readonly nodeStateChanges: Counter;
  /** Cluster events raised: type. */
  readonly clusterEvents: Counter;
  /** Admin API requests: route, code. */
  readonly adminRequests: Counter;
  /** Configuration reloads: result (ok, failed), whatever asked (SIGHUP, witnessctl reload). */
  readonly reloads: Counter;
  /** Refused authentications: reason (unknown user, wrong password, anonymous not allowed, ...). */
  readonly authFailures: Counter;

  constructor(registry = new MetricsRegistry()) {
    this.registry = registry;
    this.rpcCalls = registry.counter('witnessd_rpc_calls_total', 'RPC calls dispatched', ['interface', 'opnum']);
    this.rpcFaults = registry.counter('witnessd_rpc_faults_total', 'RPC calls answered with a fault PDU', ['interface', 'status']);
    this.witnessResults = registry.counter('witnessd_witness_results_total', 'Witness operations by WERROR result', ['operation', 'result']);
    this.notifications = registry.counter('witnessd_notifications_total', 'AsyncNotify responses sent, by message type', ['type']);
    this.registrations = registry.gauge('witnessd_registrations', 'Current witness registrations', ['version']);
    this.pendingAsyncNotify = registry.gauge('witnessd_pending_async_notify', 'AsyncNotify calls currently pending');
    this.probeResults = registry.counter('witnessd_probe_results_total', 'Node health probe results', ['node', 'result']);
    this.nodeHealthy = registry.gauge('witnessd_node_healthy', 'Node state in the cluster model (1 up, 0 failed or taken over)', ['node']);
    this.nodeStateChanges = registry.counter('witnessd_node_state_changes_total', 'Node up/down decisions', ['node', 'to', 'by']);
    this.clusterEvents = registry.counter('witnessd_cluster_events_total', 'Cluster model events', ['type']);
    this.adminRequests = registry.counter('witnessd_admin_requests_total', 'Admin API requests', ['route', 'code']);
    this.reloads = registry.counter('witnessd_config_reloads_total', 'Configuration reloads, by result', ['result']);
    this.authFailures = registry.counter('witnessd_auth_failures_total', 'Refused authentications, by reason', ['reason']);
  }
}

/**
 * The same frozen labels object for the same values as last time (Metric remembers the series
 * of the last frozen one): `sameLabels.get(a, b, c, make)`, make returning a frozen object.
 */
export const sameLabels = (): LastMemo<Labels> => new LastMemo<Labels>();

const notificationLabels = (forced: boolean, type: number | undefined): Labels =>
  Object.freeze({ type: forced ? 'FORCED' : type !== undefined ? MESSAGE_TYPE_NAMES[type] ?? `type-${type}` : 'NONE' });

/**
 * The Witness service's registration stream into the shared instruments: registrations
 * added and removed, AsyncNotify responses by type. Returns the unsubscribe.
 */
export function countRegistrationEvents(m: WitnessdMetrics, events: RegistrationStream): () => void {
  const added = m.registry.counter('witnessd_registrations_added_total', 'Registrations created', ['version']);
  const removed = m.registry.counter('witnessd_registrations_removed_total', 'Registrations removed, by reason', ['reason']);
  const notifications = sameLabels();
  return events.subscribe((e) => {
    if (e.type === 'registered') {
      const v = e.registration.version;
      added.inc({ version: v === WITNESS_V1 ? '1' : v === WITNESS_V2 ? '2' : String(v) });
    } else if (e.type === 'removed') removed.inc({ reason: e.reason });
    else if (e.type === 'delivered') m.notifications.inc(notifications.get(e.forced, e.response?.type, undefined, notificationLabels));
  });
}

/** The health watcher's hooks (HealthMetrics in src/cluster/health.ts), feeding the shared instruments. */
export function healthMetricsSink(m: WitnessdMetrics): {
  probeResult(node: string, ok: boolean): void;
  nodeStateChanged(node: string, to: 'up' | 'down', by: 'probe' | 'operator'): void;
} {
  return {
    probeResult: (node, ok) => m.probeResults.inc({ node, result: ok ? 'ok' : 'fail' }),
    nodeStateChanged: (node, to, by) => m.nodeStateChanges.inc({ node, to, by }),
  };
}
