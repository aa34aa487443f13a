/**
 * CTDB facts → the cluster model. Nodes are CTDB nodes (`pnnN`, no SFO partner, smbAddress =
 * node address), data LIFs are public IPs (named by the address; home = the first node that
 * may host it), one SVM = the CIFS server from the YAML. Pure functions over a model and a
 * snapshot, so that the order of events is testable without a ctdbd:
 *  1. topology (nodes or IPs added or removed: reloadnodes, reloadips) through applyConfig,
 *     with the model's runtime placement carried over so that nothing "moves" there;
 *  2. node states: a node CTDB calls inactive (disconnected, banned, stopped) goes down at once (NodeDown →
 *     UNAVAILABLE to the registrations on the IPs it hosted), before CTDB re-places its IPs;
 *  3. placement: an IP on another node → relocateLif (planned when the event script's
 *     releaseip announced it), an IP that no node hosts → LIF down, hosted again → LIF up.
 * While this node is cut off (the peer watch's R5: holdCutOff), steps 2 and 3 wait for every
 * node and IP but this node's own IPs, and a fresh read that shows its ctdbd rejoined ends
 * the wait: the model then moves from where it was to that read, one net change.
 */
import type { Logger } from 'pino';
import { formatHostPort } from '../../lib/address';
import { ctdbSettings, type CtdbSettings, type LifConfig, type WitnessdConfig } from '../../config';
import type { ClusterModel } from '../model';
import type { ClusterEvent } from '../types';
import type { ManagerView } from '../peers/judge';
import { ctdbNodeName } from './names';
import { NodeFlags, nodeFlagNames } from './protocol';
import { nodeDown, type CtdbSnapshot } from './snapshot';

/** Samba's NODE_FLAGS_DISABLED (ctdb disable, and UNHEALTHY): what its rpcd_witness reports as unavailable. */
const NODE_FLAGS_DISABLED = NodeFlags.UNHEALTHY | NodeFlags.PERMANENTLY_DISABLED;
const disabled = (flags: number): boolean => (flags & NODE_FLAGS_DISABLED) !== 0;

/** The Samba compatibility choices of the cluster section (cluster-ctdb.ts), with Samba's defaults... and witnessd's. */
export type SambaCompat = Pick<CtdbSettings, 'includeNodeIps' | 'includePublicIps' | 'disabledNode'>;
const COMPAT_DEFAULTS: SambaCompat = { includeNodeIps: false, includePublicIps: true, disabledNode: 'client-move' };

/** The configuration the model is built from: the YAML's CIFS server and shares, CTDB's nodes and IPs. */
export function configFromSnapshot(base: WitnessdConfig, snap: CtdbSnapshot, smbPort: number, current?: ClusterModel): WitnessdConfig {
  const self = ctdbNodeName(snap.pnn);
  const nodes = snap.nodes
    .filter((n) => (n.flags & NodeFlags.DELETED) === 0)
    .map((n) => ({ name: ctdbNodeName(n.pnn), partner: undefined, smbAddress: formatHostPort({ host: n.address, port: smbPort }) }));
  const svm = base.svms[0];
  const compat = ctdbSettings(base) ?? COMPAT_DEFAULTS;
  const lifs = (compat.includePublicIps ? snap.ips : []).map((ip): LifConfig => {
    const home = ctdbNodeName(ip.possible[0] ?? ip.host ?? snap.pnn);
    const now = current?.lif(ip.address);
    const v6 = ip.address.includes(':');
    return {
      name: ip.address,
      ipv4: v6 ? undefined : ip.address,
      ipv6: v6 ? ip.address : undefined,
      homeNode: home,
      // Runtime placement stays the model's: step 3 moves it, with the right events.
      currentNode: now?.currentNode ?? (ip.host === undefined ? home : ctdbNodeName(ip.host)),
      up: now?.up ?? ip.host !== undefined,
    };
  });
  // Node IPs (Samba's include node ips): pinned to their node, down while it is disabled.
  const nodeLifs = !compat.includeNodeIps ? [] : snap.nodes.filter((n) => (n.flags & NodeFlags.DELETED) === 0 && !lifs.some((l) => l.name === n.address)).map((n): LifConfig => {
    const v6 = n.address.includes(':');
    const node = ctdbNodeName(n.pnn);
    return { name: n.address, ipv4: v6 ? undefined : n.address, ipv6: v6 ? n.address : undefined, homeNode: node, currentNode: node, up: current?.lif(n.address)?.up ?? !disabled(n.flags) };
  });
  return {
    ...base,
    nodes,
    svms: [{ ...svm, lifs: [...nodeLifs, ...lifs], shares: svm.shares.map((sh) => ({ ...sh, node: self })) }],
  };
}

export interface SyncState {
  /** Nodes this source failed in the model (only these does it recover). */
  readonly downByCtdb: Set<string>;
  /** Nodes CTDB calls down now (whoever failed them in the model), so each is logged once. */
  readonly ctdbSaysDown: Set<string>;
  /** LIF → destination node announced by the event script's releaseip (CLIENT_MOVE sent). */
  readonly announced: Map<string, string>;
  readonly compat: SambaCompat;
  /** disabledNode resource-change: public IP → the disabled node it was reported UNAVAILABLE on. */
  readonly downByDisable: Map<string, string>;
  /**
   * Asked before CTDB's "inactive" fails a node: a reason to wait, or undefined (the peer
   * watch's rules R5/R6: a cut-off node, or a node only this ctdbd lost). Held facts are
   * applied when asked again (the next node-map change, re-read, or the watch's signal).
   */
  holdDown?: (node: string) => string | undefined;
  /**
   * Asked before CTDB's facts about other nodes are applied: a reason to hold them all (the
   * peer watch's R5: this node is cut off, its ctdbd's view of the others is its isolation;
   * or it is back but its ctdbd has not rejoined), or undefined. Given a fresh full read
   * (syncModel), the hold may end; nothing else can end it.
   */
  holdCutOff?: (view?: ManagerView) => string | undefined;
}

export const newSyncState = (compat: SambaCompat = COMPAT_DEFAULTS): SyncState => ({
  downByCtdb: new Set(), ctdbSaysDown: new Set(), announced: new Map(), compat, downByDisable: new Map(),
});

function sameTopology(model: ClusterModel, cfg: WitnessdConfig): boolean {
  const names = (xs: readonly { name: string }[]) => xs.map((x) => x.name).sort().join(',');
  return names(model.nodes()) === names(cfg.nodes) && names(model.lifs()) === names(cfg.svms[0].lifs);
}

/** Bring the model to the snapshot; returns the events raised (in order). */
export function syncModel(model: ClusterModel, snap: CtdbSnapshot, base: WitnessdConfig, smbPort: number, state: SyncState, log?: Logger): ClusterEvent[] {
  const events: ClusterEvent[] = [];
  const cfg = configFromSnapshot(base, snap, smbPort, model);
  if (!sameTopology(model, cfg)) {
    log?.info({ nodes: cfg.nodes.map((n) => n.name), ips: cfg.svms[0].lifs.map((l) => l.name) }, 'ctdb: the set of nodes or public IPs changed');
    events.push(...model.applyConfig(cfg));
  }
  // (A fresh read: the one thing that can end R5's hold. Held, steps 2 and 3 say why.)
  state.holdCutOff?.(managerView(snap));
  events.push(...syncNodes(model, snap, state, log));
  events.push(...syncPlacement(model, snap, state, log));
  return events;
}

/** What R5 asks of a fresh read: the peers ctdbd does not reach, and whether the nodes agree on placement. */
export function managerView(snap: CtdbSnapshot): ManagerView {
  const unreached = snap.nodes.filter((n) => (n.flags & NodeFlags.DELETED) === 0 && ((n.flags & NodeFlags.DISCONNECTED) !== 0 || snap.unanswered.includes(n.pnn)));
  return { unreached: unreached.map((n) => ctdbNodeName(n.pnn)), placementAgreed: snap.disagreed.length === 0 };
}

export function syncNodes(model: ClusterModel, snap: CtdbSnapshot, state: SyncState, log?: Logger): ClusterEvent[] {
  const events: ClusterEvent[] = [];
  // R5: cut off, this node's ctdbd calls every peer gone (and itself, maybe, banned): none of it is told.
  const cutOff = state.holdCutOff?.();
  if (cutOff !== undefined) {
    log?.debug({ why: cutOff }, 'ctdb: node states held (this node is cut off)');
    return events;
  }
  for (const n of snap.nodes) {
    const name = ctdbNodeName(n.pnn);
    const view = model.node(name);
    if (!view) continue;
    const flags = nodeFlagNames(n.flags).join('|');
    if (nodeDown(n.flags)) {
      const first = !state.ctdbSaysDown.has(name);
      state.ctdbSaysDown.add(name);
      if (view.up) {
        // (Held by the peer watch: asked again at the next node-map change or re-read.)
        if (state.holdDown?.(name) === undefined) {
          log?.warn({ node: name, flags, first: 'ctdb' }, `ctdb: node ${name} is ${flags}: down (CTDB spoke first)`);
          events.push(...model.failNode(name));
          state.downByCtdb.add(name);
        }
      } else if (first && !state.downByCtdb.has(name)) {
        // The health watcher failed it (or the operator): theirs to recover, not ours.
        log?.info({ node: name, flags, first: 'smb2-probe' }, `ctdb: node ${name} is ${flags}; the SMB2 probe had already declared it down (the probe spoke first)`);
      }
    } else {
      state.ctdbSaysDown.delete(name);
      if (state.downByCtdb.delete(name) && !view.up) {
        log?.info({ node: name, flags }, `ctdb: node ${name} is ${flags} again: up`);
        events.push(...model.recoverNode(name));
      }
    }
    events.push(...syncDisabled(model, n.address, name, disabled(n.flags), state, log));
  }
  return events;
}

/**
 * Samba's view of a disabled node, where the configuration asks for it: its node IP (include
 * node ips) is down while it is disabled; with disabledNode resource-change its public IPs
 * are reported UNAVAILABLE now and come back AVAILABLE where CTDB places them (syncPlacement).
 */
function syncDisabled(model: ClusterModel, address: string, node: string, isDisabled: boolean, state: SyncState, log?: Logger): ClusterEvent[] {
  const events: ClusterEvent[] = [];
  const own = state.compat.includeNodeIps ? model.lif(address) : undefined;
  if (own && own.homeNode === node && own.up === isDisabled) events.push(...(isDisabled ? model.setLifDown(own.name) : model.setLifUp(own.name)));
  if (state.compat.disabledNode !== 'resource-change') return events;
  for (const lif of model.lifs()) {
    if (lif.currentNode !== node || lif.name === own?.name) continue;
    if (isDisabled && lif.up) {
      log?.info({ ip: lif.name, node }, `ctdb: node ${node} is disabled: public IP ${lif.name} UNAVAILABLE (disabledNode: resource-change)`);
      state.downByDisable.set(lif.name, node);
      events.push(...model.setLifDown(lif.name));
    } else if (!isDisabled && state.downByDisable.get(lif.name) === node) {
      state.downByDisable.delete(lif.name);
      events.push(...model.setLifUp(lif.name));
    }
  }
  return events;
}

export function syncPlacement(model: ClusterModel, snap: CtdbSnapshot, state: SyncState, log?: Logger): ClusterEvent[] {
  const events: ClusterEvent[] = [];
  const self = ctdbNodeName(snap.pnn);
  const cutOff = state.holdCutOff?.();
  for (const ip of snap.ips) {
    const lif = model.lif(ip.address);
    if (!lif) continue;
    // R5: cut off, this node's ctdbd says the others' IPs are hosted by no node (it lost them,
    // not they): only what this node itself took or released is told, where it went waits.
    if (cutOff !== undefined && ip.host !== snap.pnn && !(lif.currentNode === self && ip.host === undefined)) continue;
    if (ip.host === undefined) {
      if (lif.up) {
        log?.info({ ip: ip.address, was: lif.currentNode }, `ctdb: public IP ${ip.address} is hosted by no node`);
        events.push(...model.setLifDown(lif.name));
      }
      continue;
    }
    const to = ctdbNodeName(ip.host);
    if (!model.node(to)) continue;
    events.push(...placeLif(model, lif.name, to, state, log));
    // Reported UNAVAILABLE for a disabled holder: up again only once it is elsewhere.
    const heldBy = state.downByDisable.get(lif.name);
    if (heldBy !== undefined && heldBy !== to) state.downByDisable.delete(lif.name);
    if (!model.lif(lif.name)?.up && !state.downByDisable.has(lif.name)) events.push(...model.setLifUp(lif.name));
  }
  return events;
}

/**
 * One IP is on `to` now (a snapshot or CTDB's TAKE_IP message says so). The move is planned
 * when the holder's releaseip announced it, or when its holder is still up: CTDB moved the
 * IP off a live node (moveip, disable, a failed monitor), and a node other than the holder
 * can learn the new placement before the holder's event script has asked us. Its clients
 * then get CLIENT_MOVE now, and the late releaseip finds the IP moved already.
 */
export function placeLif(model: ClusterModel, lifName: string, to: string, state: SyncState, log?: Logger): ClusterEvent[] {
  const lif = model.lif(lifName);
  if (!lif || lif.currentNode === to) return [];
  const from = lif.currentNode;
  const announcedTo = state.announced.get(lifName);
  state.announced.delete(lifName);
  // (An IP that was hosted by no node is down already: its clients were told UNAVAILABLE.)
  const holderUp = lif.up && model.node(from)?.up === true && !state.ctdbSaysDown.has(from);
  const planned = announcedTo !== undefined || holderUp;
  const why = announcedTo !== undefined ? ' (announced at releaseip)' : holderUp ? ' (its holder is up: a planned move, announced now)' : '';
  log?.info({ ip: lifName, from, to, planned, announcedTo }, `ctdb: public IP ${lifName} moved ${from} → ${to}${why}`);
  const events = announcedTo === undefined && holderUp ? model.announceLifMove(lifName, to) : [];
  return [...events, ...model.relocateLif(lifName, to, planned)];
}
