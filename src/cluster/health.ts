/**
 * The node-health watcher: probes each node's SMB server and feeds node failures and
 * recoveries into the cluster model, with hysteresis (failureThreshold consecutive failed
 * probes declare a node down, recoveryThreshold good ones bring it back) so that one lost
 * probe never fails a node over.
 *
 * Operator overrides: operatorFail() fails the node in the model and holds it down whatever
 * the probes say until operatorRecover(); operatorRecover() recovers it in the model and
 * starts the node's hysteresis afresh, so a node whose SMB server is still dead is declared
 * down again after failureThreshold probes. In simulated mode nothing is probed: only the
 * operator (or the drill) changes node state.
 *
 * The watcher only acts on transitions it decided itself: a node drained by a planned
 * takeover is not "recovered" by a good probe.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { parseHostPort } from '../lib/address';
import type { WatcherConfig } from '../config';
import type { ClusterModel } from './model';
import type { Probe, ProbeResult, ProbeTarget } from './probes/probe';
import { smb2NegotiateProbe } from './probes/smb2';
import { tcpConnectProbe } from './probes/tcp';
import type { ClusterEvent } from './types';

export type NodeHealth = 'unknown' | 'healthy' | 'down';

export interface NodeWatchStatus {
  readonly node: string;
  /** host:port probed, or undefined when the node has no smbAddress (or mode is simulated). */
  readonly target: string | undefined;
  readonly health: NodeHealth;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  /** True while the operator holds the node down (`witnessctl node fail`). */
  readonly heldDownByOperator: boolean;
  readonly lastProbe: { readonly ok: boolean; readonly detail: string; readonly at: string } | undefined;
  readonly probes: number;
}

export interface HealthStateChange {
  readonly node: string;
  readonly from: NodeHealth;
  readonly to: NodeHealth;
  readonly by: 'probe' | 'operator';
  readonly detail: string;
}

/** What the watcher tells the outside (metrics); the daemon binds it, so this room imports no exporter. */
export interface HealthMetrics {
  probeResult(node: string, ok: boolean): void;
  nodeStateChanged(node: string, to: 'up' | 'down', by: 'probe' | 'operator'): void;
}

/** The part of the model the watcher drives. */
export type WatchedModel = Pick<ClusterModel, 'nodes' | 'node' | 'failNode' | 'recoverNode'>;

export interface HealthWatcherOptions {
  readonly model: WatchedModel;
  readonly config: WatcherConfig;
  readonly logger?: Logger;
  readonly metrics?: HealthMetrics;
  /** Replaces the probe chosen by config.mode (tests). */
  readonly probe?: Probe;
}

interface NodeWatch {
  node: string;
  target: ProbeTarget | undefined;
  targetText: string | undefined;
  health: NodeHealth;
  failures: number;
  successes: number;
  heldDown: boolean;
  /** The watcher itself failed the node in the model (so it may recover it). */
  downByWatcher: boolean;
  last: { ok: boolean; detail: string; at: string } | undefined;
  probes: number;
  inFlight: Promise<void> | undefined;
  /** Bumped by operator actions so a probe started before them is ignored. */
  epoch: number;
}

export function probeFor(mode: WatcherConfig['mode']): Probe | undefined {
  switch (mode) {
    case 'smb2-negotiate':
      return smb2NegotiateProbe;
    case 'tcp-connect':
      return tcpConnectProbe;
    case 'simulated':
      return undefined;
  }
}

export class HealthWatcher extends EventEmitter {
  private config: WatcherConfig;
  private readonly model: WatchedModel;
  private readonly logger: Logger | undefined;
  private readonly metrics: HealthMetrics | undefined;
  private readonly probeOverride: Probe | undefined;
  private readonly watches = new Map<string, NodeWatch>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(options: HealthWatcherOptions) {
    super();
    this.model = options.model;
    this.config = options.config;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.probeOverride = options.probe;
    this.syncNodes();
  }

  get mode(): WatcherConfig['mode'] {
    return this.config.mode;
  }

  /** Start probing (no-op in simulated mode). The first round starts at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.probe() === undefined) {
      this.logger?.info({ mode: this.config.mode }, 'health watcher: simulated mode, nodes change state only by operator command');
      return;
    }
    this.logger?.info({ mode: this.config.mode, intervalMs: this.config.intervalMs, timeoutMs: this.config.timeoutMs, failureThreshold: this.config.failureThreshold, recoveryThreshold: this.config.recoveryThreshold }, 'health watcher started');
    void this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), this.config.intervalMs);
    this.timer.unref();
  }

  /** Stop probing and wait for probes in flight (each is bounded by timeoutMs). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.watches.values()].map((w) => w.inFlight));
  }

  /** New watcher settings (config reload); the node list follows the model on every round. */
  async reconfigure(config: WatcherConfig): Promise<void> {
    const wasRunning = this.running;
    await this.stop();
    this.config = config;
    this.syncNodes();
    if (wasRunning) this.start();
  }

  /** One probe round over every probed node not already being probed. */
  async probeAll(): Promise<void> {
    const probe = this.probe();
    if (probe === undefined) return;
    this.syncNodes();
    const rounds: Promise<void>[] = [];
    for (const w of this.watches.values()) {
      if (w.target === undefined) continue;
      if (!w.inFlight) {
        const target = w.target;
        const epoch = w.epoch;
        w.inFlight = probe(target, this.config.timeoutMs)
          .catch((err: Error): ProbeResult => ({ ok: false, detail: `probe error: ${err.message}` }))
          .then((r) => {
            w.inFlight = undefined;
            if (this.watches.get(w.node) === w && w.epoch === epoch) this.onResult(w, r);
          });
      }
      rounds.push(w.inFlight);
    }
    await Promise.all(rounds);
  }

  /** `witnessctl node fail`: unplanned failure now, held until operatorRecover. */
  operatorFail(node: string): ClusterEvent[] {
    const events = this.model.failNode(node); // throws ModelError for an unknown or down node
    const w = this.watches.get(node);
    if (w) {
      const from = w.health;
      w.heldDown = true;
      w.downByWatcher = false;
      w.epoch++;
      this.change(w, from, 'down', 'operator', 'node fail by operator');
    }
    return events;
  }

  /** `witnessctl node recover`: the node is up again; probes judge it afresh from now on. */
  operatorRecover(node: string): ClusterEvent[] {
    const events = this.model.recoverNode(node);
    const w = this.watches.get(node);
    if (w) {
      const from = w.health;
      w.heldDown = false;
      w.downByWatcher = false;
      w.failures = 0;
      w.successes = 0;
      w.epoch++;
      this.change(w, from, 'unknown', 'operator', 'node recover by operator');
    }
    return events;
  }

  status(): NodeWatchStatus[] {
    return [...this.watches.values()].map((w) => ({
      node: w.node,
      target: w.targetText,
      health: w.health,
      consecutiveFailures: w.failures,
      consecutiveSuccesses: w.successes,
      heldDownByOperator: w.heldDown,
      lastProbe: w.last && { ...w.last },
      probes: w.probes,
    }));
  }

  // ---- internals ---------------------------------------------------------------------

  private probe(): Probe | undefined {
    if (this.config.mode === 'simulated') return undefined;
    return this.probeOverride ?? probeFor(this.config.mode);
  }

  private syncNodes(): void {
    const probing = this.config.mode !== 'simulated';
    const seen = new Set<string>();
    for (const n of this.model.nodes()) {
      seen.add(n.name);
      let target: ProbeTarget | undefined;
      let targetText: string | undefined;
      if (probing && n.smbAddress !== undefined) {
        try {
          target = parseHostPort(n.smbAddress, 445);
          targetText = n.smbAddress;
        } catch {
          target = undefined; // the config validator rejects bad addresses; be safe anyway
        }
      }
      const w = this.watches.get(n.name);
      if (!w) {
        this.watches.set(n.name, {
          node: n.name, target, targetText, health: 'unknown', failures: 0, successes: 0, heldDown: false,
          downByWatcher: false, last: undefined, probes: 0, inFlight: undefined, epoch: 0,
        });
      } else if (w.targetText !== targetText) {
        w.target = target;
        w.targetText = targetText;
        w.failures = 0;
        w.successes = 0;
        w.epoch++;
      }
    }
    for (const name of [...this.watches.keys()]) if (!seen.has(name)) this.watches.delete(name);
  }

  private onResult(w: NodeWatch, r: ProbeResult): void {
    const at = new Date().toISOString();
    const changed = w.last === undefined || w.last.ok !== r.ok || w.last.detail !== r.detail;
    w.last = { ok: r.ok, detail: r.detail, at };
    w.probes++;
    this.metrics?.probeResult(w.node, r.ok);
    const fields = { node: w.node, target: w.targetText, ok: r.ok, detail: r.detail, failures: w.failures, successes: w.successes };
    // A probe result is logged when it differs from the previous one; repeats go to debug.
    if (changed) this.logger?.info(fields, `probe ${w.node}: ${r.detail}`);
    else this.logger?.debug(fields, `probe ${w.node}: ${r.detail}`);

    if (r.ok) {
      w.successes++;
      w.failures = 0;
    } else {
      w.failures++;
      w.successes = 0;
    }
    if (w.heldDown) return; // the operator holds it down: count, log, do not act

    if (r.ok && w.health !== 'healthy' && (w.health === 'unknown' || w.successes >= this.config.recoveryThreshold)) {
      const from = w.health;
      this.change(w, from, 'healthy', 'probe', r.detail);
      if (from === 'down' && w.downByWatcher && this.model.node(w.node)?.up === false) {
        w.downByWatcher = false;
        this.act(() => this.model.recoverNode(w.node), w.node, 'recover');
      }
    } else if (!r.ok && w.health !== 'down' && w.failures >= this.config.failureThreshold) {
      const from = w.health;
      this.change(w, from, 'down', 'probe', r.detail);
      if (this.model.node(w.node)?.up === true) {
        w.downByWatcher = true;
        this.act(() => this.model.failNode(w.node), w.node, 'fail');
      }
    }
  }

  private act(fn: () => unknown, node: string, what: string): void {
    try {
      fn();
    } catch (err) {
      this.logger?.error({ err, node }, `health watcher could not ${what} node ${node}`);
    }
  }

  private change(w: NodeWatch, from: NodeHealth, to: NodeHealth, by: 'probe' | 'operator', detail: string): void {
    w.health = to;
    if (to !== 'unknown') this.metrics?.nodeStateChanged(w.node, to === 'healthy' ? 'up' : 'down', by);
    const level = to === 'down' ? 'warn' : 'info';
    this.logger?.[level]({ node: w.node, from, to, by, detail }, `node ${w.node} ${from} -> ${to} (${by}: ${detail})`);
    const change: HealthStateChange = { node: w.node, from, to, by, detail };
    this.emit('state', change);
  }
}
