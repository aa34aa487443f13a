/**
 * The updates `net witness` sends to the process holding a registration (Samba's
 * MSG_RPCD_WITNESS_REGISTRATION_UPDATE): client-move and share-move to a node, to every
 * address or to one address; force-unregister; force-response. What a move lists follows
 * srv_witness_nt.c: the SVM's interfaces on the node (or all, or the one address), each
 * ONLINE when it serves and OFFLINE otherwise; an empty list answers the next AsyncNotify
 * with a NULL response (ERROR_SUCCESS), as Samba's does.
 */
import type { ClusterModelView, LifView } from '../cluster/types';
import { addressKey } from '../lib/address';
import { addressInfos } from './events';
import type { MoveTarget, RegistrationUpdate } from './admin-port';
import { MESSAGE_TYPES, WERR } from './constants';
import type { Registration, Registry } from './registry';
import type { IpAddrInfo } from './types';

/** The IPADDR_INFO list a move of `reg` to `to` carries. */
export function moveList(model: ClusterModelView, reg: Registration, to: MoveTarget): IpAddrInfo[] {
  const lifs = (model.svm(reg.svm)?.lifs ?? []).map((n) => model.lif(n)).filter((l): l is LifView => l !== undefined);
  if ('allNodes' in to) return addressInfos(lifs, true);
  if ('node' in to) return addressInfos(lifs.filter((l) => l.currentNode === to.node), true);
  const key = addressKey(to.ip);
  return addressInfos(lifs, true).filter((a) => addressKey((a.ipv4 ?? a.ipv6) as string) === key);
}

/** Apply one update to one registration; false when it does not apply (a share move of one without a share). */
export function applyUpdate(registry: Registry, model: ClusterModelView, reg: Registration, u: RegistrationUpdate): boolean {
  if (u.type === 'FORCE_UNREGISTER') registry.remove(reg, 'operator');
  else if (u.type === 'FORCE_RESPONSE') registry.force(reg, { result: u.result >>> 0, response: u.response });
  else {
    // SHARE_MOVE is for V2 registrations that named a share (net witness selects only those).
    if (u.type === 'SHARE_MOVE' && (!reg.isV2 || reg.shareName === undefined)) return false;
    const list = moveList(model, reg, u.to);
    if (list.length > 0) registry.raiseMove(reg, MESSAGE_TYPES[u.type], list);
    else registry.force(reg, { result: WERR.OK });
  }
  return true;
}
