/**
 * WitnessrGetInterfaceList in the storage world (Decision 3): the serving node hosts the
 * local address the call arrived on; the list is that SVM's data LIFs, with
 * INTERFACE_WITNESS on the LIFs its SFO partner hosts. A node without an SFO partner (a
 * CTDB node: any node may witness for any other) flags the LIFs every other node hosts, as
 * Samba's rpcd_witness flags the public IPs another node hosts. A call on a node's own
 * address (CTDB's node address, not a LIF) is served by that node for the only SVM.
 */
import { parseHostPort } from '../lib/address';
import type { ClusterModelView, LifView, SvmView } from '../cluster/types';
import { WERR, WITNESS_SERVICE_VERSION } from './constants';
import {
  INTERFACE_WITNESS,
  WITNESS_INFO_IPv4,
  WITNESS_INFO_IPv6,
  WITNESS_STATE_AVAILABLE,
  WITNESS_STATE_UNAVAILABLE,
} from '../gen/witness';
import type { InterfaceInfo } from './types';

/** Longest InterfaceGroupName that fits WCHAR[260] with its NUL. */
const MAX_GROUP_NAME = 259;

/** A socket's local address as the model knows it (IPv4-mapped IPv6 → IPv4, no zone). */
export function normalizeAddress(address: string): string {
  let a = address.trim();
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a)) a = a.slice(7);
  return a;
}

export interface ServingPoint {
  /** Undefined when the call came in on a node address. */
  readonly lif: LifView | undefined;
  readonly svm: SvmView;
  /** The node hosting the local address right now. */
  readonly node: string;
  readonly partner: string | undefined;
}

/** The SVM and node a witness connection arrived on, or undefined for a non-LIF address. */
export function servingPoint(model: ClusterModelView, localAddress: string): ServingPoint | undefined {
  const address = normalizeAddress(localAddress);
  const lif = model.lifByAddress(address);
  if (!lif) return nodeAddressPoint(model, address);
  const svm = model.svm(lif.svm);
  if (!svm) return undefined;
  const node = lif.currentNode;
  return { lif, svm, node, partner: model.node(node)?.partner };
}

function nodeAddressPoint(model: ClusterModelView, address: string): ServingPoint | undefined {
  const svms = model.svms();
  if (svms.length !== 1) return undefined;
  const node = model.nodes().find((n) => {
    if (n.smbAddress === undefined) return false;
    try {
      return normalizeAddress(parseHostPort(n.smbAddress, 445).host) === address;
    } catch {
      return false;
    }
  });
  return node && { lif: undefined, svm: svms[0], node: node.name, partner: node.partner };
}

export interface InterfaceListResult {
  readonly result: number;
  readonly interfaces: readonly InterfaceInfo[];
}

/**
 * `groupName`: 'node' names each entry after the node hosting it now (Decision 3, as a
 * Windows cluster names its interface groups); 'server' gives every entry the CIFS server's
 * DNS name, as Samba's rpcd_witness does (NETBIOSNAME.REALM), for clusters moving from it.
 */
export function buildInterfaceList(model: ClusterModelView, localAddress: string, groupName: 'node' | 'server' = 'node'): InterfaceListResult {
  const at = servingPoint(model, localAddress);
  if (!at) return { result: WERR.NO_MORE_ITEMS, interfaces: [] };
  const interfaces: InterfaceInfo[] = [];
  for (const name of at.svm.lifs) {
    const lif = model.lif(name);
    if (!lif || (!lif.ipv4 && !lif.ipv6)) continue;
    let flags = 0;
    if (lif.ipv4) flags |= WITNESS_INFO_IPv4;
    if (lif.ipv6) flags |= WITNESS_INFO_IPv6;
    const witnessNode = at.partner !== undefined ? lif.currentNode === at.partner : lif.currentNode !== at.node;
    if (witnessNode) flags |= INTERFACE_WITNESS;
    interfaces.push({
      groupName: (groupName === 'server' ? at.svm.dnsName : lif.currentNode).slice(0, MAX_GROUP_NAME),
      version: WITNESS_SERVICE_VERSION,
      state: lif.operational ? WITNESS_STATE_AVAILABLE : WITNESS_STATE_UNAVAILABLE,
      ipv4: lif.ipv4,
      ipv6: lif.ipv6,
      flags,
      lif: lif.name,
    });
  }
  return { result: interfaces.length === 0 ? WERR.NO_MORE_ITEMS : WERR.OK, interfaces };
}
