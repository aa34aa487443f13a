/**
 * Cluster events → notifications (Decision 8). Which registrations care and what they
 * are told; the Registry queues and delivers.
 */
import type { ClusterEvent, ClusterModelView, LifView } from '../cluster/types';
import type { MessageType, MoveType } from './constants';
import {
  CLIENT_MOVE_NOTIFICATION,
  IPADDR_OFFLINE,
  IPADDR_ONLINE,
  IPADDR_V4,
  IPADDR_V6,
  IP_CHANGE_NOTIFICATION,
  RESOURCE_CHANGE_NOTIFICATION,
  SHARE_MOVE_NOTIFICATION,
  WITNESS_REGISTER_IP_NOTIFICATION,
} from '../gen/witness';
import type { Registration, Registry } from './registry';
import type { IpAddrInfo } from './types';

export interface RaisedNotification {
  readonly reg: Registration;
  readonly type: MessageType;
  readonly detail: string;
}

/** IPADDR_INFO entries for LIFs: one per address family (V4 and V6 are exclusive per entry). */
export function addressInfos(lifs: readonly LifView[], withState: boolean): IpAddrInfo[] {
  const out: IpAddrInfo[] = [];
  for (const lif of lifs) {
    const state = withState ? (lif.operational ? IPADDR_ONLINE : IPADDR_OFFLINE) : 0;
    if (lif.ipv4) out.push({ flags: IPADDR_V4 | state, ipv4: lif.ipv4 });
    if (lif.ipv6) out.push({ flags: IPADDR_V6 | state, ipv6: lif.ipv6 });
  }
  return out;
}

/** The SVM's LIFs currently hosted by `node`. */
export function lifsOnNode(model: ClusterModelView, svm: string, node: string, except?: string): LifView[] {
  const s = model.svm(svm);
  if (!s) return [];
  return s.lifs
    .map((n) => model.lif(n))
    .filter((l): l is LifView => l !== undefined && l.currentNode === node && l.name !== except);
}

const eqi = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * Apply one event. `byLif` returns the registrations whose IpAddress is that LIF's;
 * `all` every registration. Returns what was raised (for logs and metrics).
 */
export function applyEvent(
  ev: ClusterEvent,
  model: ClusterModelView,
  registry: Registry,
  /** A snapshot (the caller's copy): raising may change the registrations of a LIF. */
  byLif: (lif: string) => readonly Registration[],
  all: () => Iterable<Registration>,
): RaisedNotification[] {
  const raised: RaisedNotification[] = [];
  const resource = (lifs: readonly string[], available: boolean): void => {
    for (const lif of lifs) {
      for (const reg of byLif(lif)) {
        if (registry.raiseResourceChange(reg, available)) {
          raised.push({ reg, type: RESOURCE_CHANGE_NOTIFICATION, detail: available ? 'AVAILABLE' : 'UNAVAILABLE' });
        }
      }
    }
  };
  const move = (reg: Registration, type: MoveType, list: IpAddrInfo[], detail: string): void => {
    registry.raiseMove(reg, type, list);
    raised.push({ reg, type, detail });
  };

  switch (ev.type) {
    case 'NodeDown':
      // Unplanned takeover: whoever was connected to the failed node's LIFs must move.
      resource(ev.lifs, false);
      break;
    case 'NodeUp':
      resource(ev.lifs, true);
      break;
    case 'LifDown':
      resource([ev.lif], false);
      break;
    case 'LifUp':
      resource([ev.lif], true);
      break;
    case 'LifMoved':
      // A planned move was announced by LifMoving (CLIENT_MOVE before the move). An
      // unplanned one (LIF failover) broke the clients' connections to that address; a
      // NodeDown for the same failure may have raised UNAVAILABLE already (transitions only).
      if (!ev.planned) {
        resource([ev.lif], false);
        // A cluster manager (CTDB) re-placed the address: it serves again at its new place.
        if (model.lif(ev.lif)?.operational) resource([ev.lif], true);
      }
      break;
    case 'LifMoving': {
      // Planned takeover, LIF migration, upgrade: tell clients before the move where to go:
      // the destination node's LIFs of the SVM (the moving LIF itself if it will be alone there).
      const regs = byLif(ev.lif);
      if (regs.length === 0) break;
      let dest = lifsOnNode(model, ev.svm, ev.to, ev.lif);
      if (dest.length === 0) {
        const self = model.lif(ev.lif);
        dest = self ? [self] : [];
      }
      const list = addressInfos(dest, true);
      if (list.length === 0) break;
      for (const reg of regs) move(reg, CLIENT_MOVE_NOTIFICATION, list, `to ${ev.to}`);
      break;
    }
    case 'ClientMoveRequested':
      for (const reg of [...all()]) {
        if (!eqi(reg.clientName, ev.client)) continue;
        const list = addressInfos(lifsOnNode(model, reg.svm, ev.to), true);
        if (list.length > 0) move(reg, CLIENT_MOVE_NOTIFICATION, list, `to ${ev.to}`);
      }
      break;
    case 'ShareMoved': {
      // SHARE_MOVE is V2 only and only for registrations that named the share.
      const list = addressInfos(lifsOnNode(model, ev.svm, ev.to), false);
      if (list.length === 0) break;
      for (const reg of [...all()]) {
        if (reg.isV2 && reg.svm === ev.svm && eqi(reg.shareName, ev.share)) move(reg, SHARE_MOVE_NOTIFICATION, list, `${ev.share} to ${ev.to}`);
      }
      break;
    }
    case 'LifAddressChanged': {
      // IP_CHANGE is V2 only and only for registrations that asked for IP notification.
      const list = addressInfos([{ ...(model.lif(ev.lif) as LifView), ipv4: ev.now.ipv4, ipv6: ev.now.ipv6 }], false);
      if (list.length === 0) break;
      for (const reg of byLif(ev.lif)) {
        if (reg.isV2 && (reg.flags & WITNESS_REGISTER_IP_NOTIFICATION) !== 0) move(reg, IP_CHANGE_NOTIFICATION, list, `${ev.lif} now ${[ev.now.ipv4, ev.now.ipv6].filter(Boolean).join(' ')}`);
      }
      break;
    }
  }
  return raised;
}
