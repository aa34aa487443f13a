/** The peer watch's view of the cluster model (PeerCluster): members with their SMB addresses, fail and recover. */
import type { Logger } from 'pino';
import type { ClusterModel } from '../model';
import { smbTargets, type PeerCluster, type PeerMember } from './watch';

export function modelPeerCluster(
  model: Pick<ClusterModel, 'nodes' | 'node' | 'lifs' | 'failNode' | 'recoverNode'>,
  self: string,
  /** The cluster manager calls the node inactive now. */
  inactive: (node: string) => boolean,
  log?: Logger,
): PeerCluster {
  const act = (what: string, node: string, fn: () => unknown): void => {
    try {
      fn();
    } catch (err) {
      log?.warn({ node, err: (err as Error).message }, `peer watch could not ${what} ${node}`);
    }
  };
  return {
    self,
    members: (): PeerMember[] => {
      const lifs = model.lifs();
      return model.nodes().flatMap((n) => {
        if (n.smbAddress === undefined) return [];
        const ips = lifs.filter((l) => l.currentNode === n.name && l.up).map((l) => (l.ipv4 ?? l.ipv6) as string);
        return [{ name: n.name, ...smbTargets(n.smbAddress, ips) }];
      });
    },
    isUp: (node) => model.node(node)?.up === true,
    fail: (node) => act('fail', node, () => model.failNode(node)),
    recover: (node) => act('recover', node, () => model.recoverNode(node)),
    inactiveByCluster: inactive,
  };
}
