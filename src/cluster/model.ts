/**
 * The cluster model: nodes in SFO pairs, SVMs with data LIFs and shares, and the storage
 * semantics of DOMAIN.md. Every change is a ClusterEvent delivered synchronously, in order,
 * to subscribers (the Witness service). The model knows nothing about RPC or probes.
 *
 * Event rules (what the Witness service can rely on):
 *  - failNode (unplanned takeover): one NodeDown naming the LIFs that were on the node;
 *    `partner` is set when they failed over to it (the partner exists and is up).
 *  - recoverNode: the node is up again and its LIFs are given back home: one NodeUp.
 *  - takeover / giveback / migrateLif / applyConfig moves (planned): every LifMoving is
 *    raised before any of the LIFs moves, then one LifMoved (planned: true) per LIF.
 *    giveback ends with NodeUp.
 *  - Shares follow their aggregate: takeover and failover move them to the partner and
 *    giveback back home without ShareMoved (the clients' LIF events cover that); only
 *    moveShare (volume move / ARL) and a config change raise ShareMoved.
 */
import type { Logger } from 'pino';
import { addressKey, canonicalIpv6 } from '../lib/address';
import type { LifConfig, WitnessdConfig } from '../config';
import { deploymentFindings, type FindingInput } from './findings';
import type { ClusterEvent, ClusterModelView, DeploymentFinding, LifView, NodeView, ShareView, SvmView } from './types';
import { isIPv4 } from 'node:net';

export type ModelErrorCode = 'not-found' | 'invalid-state' | 'invalid-argument';

/** A refused operator command: the model is unchanged. */
export class ModelError extends Error {
  constructor(
    readonly code: ModelErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

interface NodeState {
  name: string;
  partner: string | undefined;
  smbAddress: string | undefined;
  up: boolean;
  takenOver: boolean;
}
interface LifState {
  name: string;
  svm: string;
  ipv4: string | undefined;
  ipv6: string | undefined;
  homeNode: string;
  currentNode: string;
  up: boolean;
}
interface ShareState {
  name: string;
  svm: string;
  continuouslyAvailable: boolean;
  /** Node serving the share now. */
  node: string;
  /** Node owning the share's aggregate (where giveback returns it). */
  homeNode: string;
}
interface SvmState {
  name: string;
  netbiosName: string;
  dnsName: string;
  aliases: string[];
  lifs: string[];
  shares: string[];
}

export interface TimedEvent {
  readonly at: string;
  readonly event: ClusterEvent;
}

export interface AddressChange {
  /** New IPv4 address; null removes it; undefined keeps it. */
  readonly ipv4?: string | null;
  readonly ipv6?: string | null;
}

const shareKey = (svm: string, name: string) => `${svm}\u0000${name.toLowerCase()}`;
const RECENT_EVENTS = 50;

export interface ClusterModelOptions {
  readonly logger?: Logger;
  /** The deployment rules the model's source holds it to (default: the SFO-pair rules of findings.ts). */
  readonly rules?: (m: FindingInput) => DeploymentFinding[];
}

export class ClusterModel implements ClusterModelView {
  private config: WitnessdConfig;
  private nodeMap = new Map<string, NodeState>();
  private lifMap = new Map<string, LifState>();
  private shareMap = new Map<string, ShareState>();
  private svmMap = new Map<string, SvmState>();
  private byAddress = new Map<string, string>();
  private listeners: Array<(e: ClusterEvent) => void> = [];
  private recent: TimedEvent[] = [];
  private readonly logger: Logger | undefined;

  constructor(config: WitnessdConfig, readonly options: ClusterModelOptions = {}) {
    this.config = config;
    this.logger = options.logger;
    this.build(config);
  }

  // ---- views -------------------------------------------------------------------------

  nodes(): readonly NodeView[] {
    return [...this.nodeMap.values()].map((n) => this.nodeView(n));
  }
  node(name: string): NodeView | undefined {
    const n = this.nodeMap.get(name);
    return n && this.nodeView(n);
  }
  svms(): readonly SvmView[] {
    return [...this.svmMap.values()].map((s) => this.svmView(s));
  }
  svm(name: string): SvmView | undefined {
    const s = this.svmMap.get(name);
    return s && this.svmView(s);
  }
  lifs(): readonly LifView[] {
    return [...this.lifMap.values()].map((l) => this.lifView(l));
  }
  lif(name: string): LifView | undefined {
    const l = this.lifMap.get(name);
    return l && this.lifView(l);
  }
  lifByAddress(address: string): LifView | undefined {
    const key = addressKey(address);
    const name = key === undefined ? undefined : this.byAddress.get(key);
    return name === undefined ? undefined : this.lif(name);
  }
  shares(svm?: string): readonly ShareView[] {
    return [...this.shareMap.values()].filter((s) => svm === undefined || s.svm === svm).map((s) => this.shareView(s));
  }
  share(svm: string, name: string): ShareView | undefined {
    const s = this.shareMap.get(shareKey(svm, name));
    return s && this.shareView(s);
  }
  findings(): readonly DeploymentFinding[] {
    return (this.options.rules ?? deploymentFindings)({
      nodes: this.nodes(),
      svms: this.svms(),
      lifs: this.lifs(),
      shares: this.shares(),
      probing: this.config.watcher.mode !== 'simulated',
    });
  }
  subscribe(listener: (event: ClusterEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** The last events, oldest first (for `witnessctl status`). */
  recentEvents(): readonly TimedEvent[] {
    return [...this.recent];
  }
  currentConfig(): WitnessdConfig {
    return this.config;
  }

  // ---- storage operations ------------------------------------------------------------

  /** Unplanned failure: the node's LIFs and storage fail over to its SFO partner. */
  failNode(name: string): ClusterEvent[] {
    const n = this.needNode(name);
    if (!n.up) throw new ModelError('invalid-state', `node ${name} is already down`);
    const partner = n.partner === undefined ? undefined : this.nodeMap.get(n.partner);
    const canTakeOver = partner !== undefined && partner.up && partner !== n;
    const lifs = this.lifsOn(name);
    n.up = false;
    n.takenOver = canTakeOver;
    if (canTakeOver) {
      for (const l of lifs) l.currentNode = partner.name;
      for (const s of this.shareMap.values()) if (s.node === name) s.node = partner.name;
      this.reindex();
    }
    return this.emit([{ type: 'NodeDown', node: name, ...(canTakeOver ? { partner: partner.name } : {}), lifs: lifs.map((l) => l.name) }]);
  }

  /** The node is back: it comes up and its LIFs and storage are given back home. */
  recoverNode(name: string): ClusterEvent[] {
    const n = this.needNode(name);
    if (n.up) throw new ModelError('invalid-state', `node ${name} is already up`);
    n.up = true;
    n.takenOver = false;
    for (const l of this.lifMap.values()) if (l.homeNode === name && l.currentNode === n.partner) l.currentNode = name;
    for (const s of this.shareMap.values()) if (s.homeNode === name && s.node === n.partner) s.node = name;
    this.reindex();
    return this.emit([{ type: 'NodeUp', node: name, lifs: this.lifsOn(name).filter((l) => l.up).map((l) => l.name) }]);
  }

  /** Planned takeover: the partner takes the node's LIFs and storage; the node is drained. */
  takeover(name: string): ClusterEvent[] {
    const n = this.needNode(name);
    if (!n.up) throw new ModelError('invalid-state', `node ${name} is not up (down or already taken over)`);
    const partner = n.partner === undefined ? undefined : this.nodeMap.get(n.partner);
    if (!partner) throw new ModelError('invalid-state', `node ${name} has no SFO partner to take it over`);
    if (!partner.up) throw new ModelError('invalid-state', `SFO partner ${partner.name} of node ${name} is not up`);
    const moves = this.lifsOn(name).map((l) => ({ lif: l, from: name, to: partner.name }));
    return this.plannedMoves(moves, () => {
      n.up = false;
      n.takenOver = true;
      for (const s of this.shareMap.values()) if (s.node === name) s.node = partner.name;
    });
  }

  /** Giveback: the node takes its LIFs and storage back from its partner. */
  giveback(name: string): ClusterEvent[] {
    const n = this.needNode(name);
    if (!n.takenOver) throw new ModelError('invalid-state', `node ${name} is not taken over; nothing to give back`);
    const moves = [...this.lifMap.values()]
      .filter((l) => l.homeNode === name && l.currentNode === n.partner)
      .map((l) => ({ lif: l, from: l.currentNode, to: name }));
    const events = this.plannedMoves(moves, () => {
      n.up = true;
      n.takenOver = false;
      for (const s of this.shareMap.values()) if (s.homeNode === name && s.node === n.partner) s.node = name;
    });
    return events.concat(this.emit([{ type: 'NodeUp', node: name, lifs: this.lifsOn(name).filter((l) => l.up).map((l) => l.name) }]));
  }

  /** LIF migration: one LIF moves to another node's port. */
  migrateLif(lifName: string, to: string): ClusterEvent[] {
    const l = this.needLif(lifName);
    const dest = this.needNode(to);
    if (!dest.up) throw new ModelError('invalid-state', `node ${to} is not up`);
    if (l.currentNode === to) throw new ModelError('invalid-state', `LIF ${lifName} is already on node ${to}`);
    return this.plannedMoves([{ lif: l, from: l.currentNode, to }], () => undefined);
  }

  /**
   * An outside cluster manager (CTDB) announces that it is about to move a LIF: LifMoving
   * only (CLIENT_MOVE goes out now); the move itself arrives later through relocateLif.
   */
  announceLifMove(lifName: string, to: string): ClusterEvent[] {
    const l = this.needLif(lifName);
    this.needNode(to);
    if (l.currentNode === to) throw new ModelError('invalid-state', `LIF ${lifName} is already on node ${to}`);
    return this.emit([{ type: 'LifMoving', lif: l.name, svm: l.svm, from: l.currentNode, to }]);
  }

  /**
   * An outside cluster manager (CTDB) has moved a LIF: it is on `to` now. `planned` when a
   * LifMoving announced it; otherwise clients are told UNAVAILABLE, then AVAILABLE at its
   * new place (src/witness/events.ts).
   */
  relocateLif(lifName: string, to: string, planned: boolean): ClusterEvent[] {
    const l = this.needLif(lifName);
    this.needNode(to);
    if (l.currentNode === to) throw new ModelError('invalid-state', `LIF ${lifName} is already on node ${to}`);
    const from = l.currentNode;
    l.currentNode = to;
    this.reindex();
    return this.emit([{ type: 'LifMoved', lif: l.name, svm: l.svm, from, to, planned }]);
  }

  /** Volume move / aggregate relocation: the share is served by another node. */
  moveShare(shareName: string, to: string, svm?: string): ClusterEvent[] {
    const s = this.needShare(shareName, svm);
    this.needNode(to);
    if (s.node === to) throw new ModelError('invalid-state', `share ${s.name} of SVM ${s.svm} is already served by node ${to}`);
    const from = s.node;
    s.node = to;
    s.homeNode = to;
    return this.emit([{ type: 'ShareMoved', share: s.name, svm: s.svm, from, to }]);
  }

  setLifUp(lifName: string): ClusterEvent[] {
    const l = this.needLif(lifName);
    if (l.up) throw new ModelError('invalid-state', `LIF ${lifName} is already up`);
    l.up = true;
    return this.emit([{ type: 'LifUp', lif: l.name, svm: l.svm }]);
  }

  setLifDown(lifName: string): ClusterEvent[] {
    const l = this.needLif(lifName);
    if (!l.up) throw new ModelError('invalid-state', `LIF ${lifName} is already down`);
    l.up = false;
    return this.emit([{ type: 'LifDown', lif: l.name, svm: l.svm }]);
  }

  changeLifAddress(lifName: string, change: AddressChange): ClusterEvent[] {
    const l = this.needLif(lifName);
    let ipv4 = l.ipv4;
    let ipv6 = l.ipv6;
    if (change.ipv4 !== undefined) {
      if (change.ipv4 !== null && !isIPv4(change.ipv4)) throw new ModelError('invalid-argument', `"${change.ipv4}" is not an IPv4 address`);
      ipv4 = change.ipv4 ?? undefined;
    }
    if (change.ipv6 !== undefined) {
      const v6 = change.ipv6 === null ? undefined : canonicalIpv6(change.ipv6);
      if (change.ipv6 !== null && v6 === undefined) throw new ModelError('invalid-argument', `"${change.ipv6}" is not an IPv6 address`);
      ipv6 = v6;
    }
    if (ipv4 === undefined && ipv6 === undefined) throw new ModelError('invalid-argument', `LIF ${lifName} needs an IPv4 or an IPv6 address`);
    for (const a of [ipv4, ipv6]) {
      const owner = a === undefined ? undefined : this.byAddress.get(addressKey(a) as string);
      if (owner !== undefined && owner !== l.name) throw new ModelError('invalid-argument', `address ${a} belongs to LIF ${owner}`);
    }
    if (ipv4 === l.ipv4 && ipv6 === l.ipv6) throw new ModelError('invalid-state', `LIF ${lifName} already has these addresses`);
    const old = addrs(l);
    l.ipv4 = ipv4;
    l.ipv6 = ipv6;
    this.reindex();
    return this.emit([{ type: 'LifAddressChanged', lif: l.name, svm: l.svm, old, now: addrs(l) }]);
  }

  /** The operator asks one witness client (by ClientComputerName) to move to a node. */
  clientMove(client: string, to: string): ClusterEvent[] {
    if (client.trim() === '') throw new ModelError('invalid-argument', 'a client name is required');
    this.needNode(to);
    return this.emit([{ type: 'ClientMoveRequested', client, to }]);
  }

  /**
   * Reload: replace the configuration, keeping runtime state (node failures, takeovers,
   * operator moves) where the configuration did not change, and raise events for what did.
   */
  applyConfig(next: WitnessdConfig): ClusterEvent[] {
    const before = this.config;
    const oldLifs = new Map(before.svms.flatMap((s) => s.lifs.map((l) => [l.name, { ...l, svm: s.name }] as const)));
    const oldShares = new Map(before.svms.flatMap((s) => s.shares.map((sh) => [shareKey(s.name, sh.name), sh] as const)));
    const prevNodes = this.nodeMap;
    const prevLifs = this.lifMap;
    const prevShares = this.shareMap;

    const moving: Array<{ lif: string; svm: string; from: string; to: string }> = [];
    const after: ClusterEvent[] = [];
    const lifState = (svm: string, lc: LifConfig): LifState => {
      const prev = prevLifs.get(lc.name);
      const oldCfg = oldLifs.get(lc.name);
      if (!prev || prev.svm !== svm || !oldCfg) {
        return { name: lc.name, svm, ipv4: lc.ipv4, ipv6: lc.ipv6, homeNode: lc.homeNode, currentNode: lc.currentNode, up: lc.up };
      }
      // A field the new config changed wins; otherwise the runtime value stays.
      const currentNode = lc.currentNode !== oldCfg.currentNode ? lc.currentNode : prev.currentNode;
      const up = lc.up !== oldCfg.up ? lc.up : prev.up;
      if (currentNode !== prev.currentNode) moving.push({ lif: lc.name, svm, from: prev.currentNode, to: currentNode });
      if (lc.ipv4 !== prev.ipv4 || lc.ipv6 !== prev.ipv6) {
        after.push({ type: 'LifAddressChanged', lif: lc.name, svm, old: addrs(prev), now: addrs(lc) });
      }
      if (up !== prev.up) after.push(up ? { type: 'LifUp', lif: lc.name, svm } : { type: 'LifDown', lif: lc.name, svm });
      return { name: lc.name, svm, ipv4: lc.ipv4, ipv6: lc.ipv6, homeNode: lc.homeNode, currentNode, up };
    };

    const nodeMap = new Map<string, NodeState>();
    for (const nc of next.nodes) {
      const prev = prevNodes.get(nc.name);
      nodeMap.set(nc.name, { name: nc.name, partner: nc.partner, smbAddress: nc.smbAddress, up: prev?.up ?? true, takenOver: prev?.takenOver ?? false });
    }
    const lifMap = new Map<string, LifState>();
    const shareMap = new Map<string, ShareState>();
    const svmMap = new Map<string, SvmState>();
    for (const sc of next.svms) {
      svmMap.set(sc.name, svmState(sc));
      for (const lc of sc.lifs) lifMap.set(lc.name, lifState(sc.name, lc));
      for (const shc of sc.shares) {
        const key = shareKey(sc.name, shc.name);
        const prev = prevShares.get(key);
        const oldCfg = oldShares.get(key);
        let node = shc.node;
        let homeNode = shc.node;
        if (prev && oldCfg && oldCfg.node === shc.node) {
          node = prev.node;
          homeNode = prev.homeNode;
        }
        if (prev && node !== prev.node) after.push({ type: 'ShareMoved', share: shc.name, svm: sc.name, from: prev.node, to: node });
        shareMap.set(key, { name: shc.name, svm: sc.name, continuouslyAvailable: shc.continuouslyAvailable, node, homeNode });
      }
    }
    for (const prev of prevLifs.values()) {
      const now = lifMap.get(prev.name);
      if ((!now || now.svm !== prev.svm) && prev.up) after.push({ type: 'LifDown', lif: prev.name, svm: prev.svm });
    }

    const events: ClusterEvent[] = [];
    events.push(...this.emit(moving.map((m): ClusterEvent => ({ type: 'LifMoving', ...m }))));
    this.config = next;
    this.nodeMap = nodeMap;
    this.lifMap = lifMap;
    this.shareMap = shareMap;
    this.svmMap = svmMap;
    this.reindex();
    events.push(...this.emit(moving.map((m): ClusterEvent => ({ type: 'LifMoved', ...m, planned: true }))));
    events.push(...this.emit(after));
    this.logger?.info({ source: next.source, events: events.length }, 'cluster configuration applied');
    return events;
  }

  // ---- internals ---------------------------------------------------------------------

  private build(config: WitnessdConfig): void {
    for (const nc of config.nodes) {
      this.nodeMap.set(nc.name, { name: nc.name, partner: nc.partner, smbAddress: nc.smbAddress, up: true, takenOver: false });
    }
    for (const sc of config.svms) {
      this.svmMap.set(sc.name, svmState(sc));
      for (const lc of sc.lifs) {
        this.lifMap.set(lc.name, { name: lc.name, svm: sc.name, ipv4: lc.ipv4, ipv6: lc.ipv6, homeNode: lc.homeNode, currentNode: lc.currentNode, up: lc.up });
      }
      for (const shc of sc.shares) {
        this.shareMap.set(shareKey(sc.name, shc.name), {
          name: shc.name,
          svm: sc.name,
          continuouslyAvailable: shc.continuouslyAvailable,
          node: shc.node,
          homeNode: shc.node,
        });
      }
    }
    this.reindex();
  }

  private plannedMoves(moves: Array<{ lif: LifState; from: string; to: string }>, alsoApply: () => void): ClusterEvent[] {
    const moving = moves.map((m): ClusterEvent => ({ type: 'LifMoving', lif: m.lif.name, svm: m.lif.svm, from: m.from, to: m.to }));
    // CLIENT_MOVE must reach clients before the move: every LifMoving precedes the change.
    const events = this.emit(moving);
    for (const m of moves) m.lif.currentNode = m.to;
    alsoApply();
    this.reindex();
    return events.concat(
      this.emit(moves.map((m): ClusterEvent => ({ type: 'LifMoved', lif: m.lif.name, svm: m.lif.svm, from: m.from, to: m.to, planned: true }))),
    );
  }

  private emit(events: ClusterEvent[]): ClusterEvent[] {
    for (const e of events) {
      this.recent.push({ at: new Date().toISOString(), event: e });
      if (this.recent.length > RECENT_EVENTS) this.recent.shift();
      this.logger?.info({ event: e }, `cluster event ${e.type}`);
      for (const listener of [...this.listeners]) {
        try {
          listener(e);
        } catch (err) {
          // One broken subscriber must not stop the others or the model.
          this.logger?.error({ err, event: e.type }, 'cluster event subscriber threw');
        }
      }
    }
    return events;
  }

  private reindex(): void {
    this.byAddress.clear();
    for (const l of this.lifMap.values()) {
      for (const a of [l.ipv4, l.ipv6]) if (a !== undefined) this.byAddress.set(addressKey(a) as string, l.name);
    }
    for (const s of this.svmMap.values()) {
      s.lifs = [...this.lifMap.values()].filter((l) => l.svm === s.name).map((l) => l.name);
      s.shares = [...this.shareMap.values()].filter((sh) => sh.svm === s.name).map((sh) => sh.name);
    }
  }

  private lifsOn(node: string): LifState[] {
    return [...this.lifMap.values()].filter((l) => l.currentNode === node);
  }

  private needNode(name: string): NodeState {
    const n = this.nodeMap.get(name);
    if (!n) throw new ModelError('not-found', `no node ${name} (nodes: ${[...this.nodeMap.keys()].join(', ')})`);
    return n;
  }
  private needLif(name: string): LifState {
    const l = this.lifMap.get(name);
    if (!l) throw new ModelError('not-found', `no LIF ${name} (LIFs: ${[...this.lifMap.keys()].join(', ')})`);
    return l;
  }
  private needShare(name: string, svm?: string): ShareState {
    if (svm !== undefined) {
      if (!this.svmMap.has(svm)) throw new ModelError('not-found', `no SVM ${svm}`);
      const s = this.shareMap.get(shareKey(svm, name));
      if (!s) throw new ModelError('not-found', `no share ${name} in SVM ${svm}`);
      return s;
    }
    const found = [...this.shareMap.values()].filter((s) => s.name.toLowerCase() === name.toLowerCase());
    if (found.length === 0) throw new ModelError('not-found', `no share ${name}`);
    if (found.length > 1) throw new ModelError('invalid-argument', `share ${name} exists in SVMs ${found.map((s) => s.svm).join(', ')}: name the SVM`);
    return found[0];
  }

  private nodeView(n: NodeState): NodeView {
    return { name: n.name, partner: n.partner, smbAddress: n.smbAddress, up: n.up, takenOver: n.takenOver };
  }
  private lifView(l: LifState): LifView {
    const node = this.nodeMap.get(l.currentNode);
    return {
      name: l.name,
      svm: l.svm,
      ipv4: l.ipv4,
      ipv6: l.ipv6,
      homeNode: l.homeNode,
      currentNode: l.currentNode,
      up: l.up,
      operational: l.up && node !== undefined && node.up,
    };
  }
  private shareView(s: ShareState): ShareView {
    return { name: s.name, svm: s.svm, continuouslyAvailable: s.continuouslyAvailable, node: s.node };
  }
  private svmView(s: SvmState): SvmView {
    return { name: s.name, netbiosName: s.netbiosName, dnsName: s.dnsName, aliases: [...s.aliases], lifs: [...s.lifs], shares: [...s.shares] };
  }
}

function svmState(sc: WitnessdConfig['svms'][number]): SvmState {
  return { name: sc.name, netbiosName: sc.netbiosName, dnsName: sc.dnsName, aliases: [...sc.aliases], lifs: [], shares: [] };
}

function addrs(l: { ipv4?: string; ipv6?: string }): { ipv4?: string; ipv6?: string } {
  return { ...(l.ipv4 !== undefined ? { ipv4: l.ipv4 } : {}), ...(l.ipv6 !== undefined ? { ipv6: l.ipv6 } : {}) };
}

export function createClusterModel(config: WitnessdConfig, options: ClusterModelOptions = {}): ClusterModel {
  return new ClusterModel(config, options);
}
