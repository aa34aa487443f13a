/**
 * Snapshot → model, without a ctdbd: the events each CTDB fact raises, in order. Node
 * states first (NodeDown before any placement change), placement after; a topology change
 * (reloadips, reloadnodes) moves nothing by itself; an IP nobody hosts is a LIF down.
 */
import { parseConfig } from '../../../src/config';
import { ClusterModel } from '../../../src/cluster/model';
import { NodeFlags } from '../../../src/cluster/ctdb/protocol';
import type { CtdbSnapshot } from '../../../src/cluster/ctdb/snapshot';
import { configFromSnapshot, newSyncState, syncModel, syncNodes, syncPlacement, type SyncState } from '../../../src/cluster/ctdb/sync';
import { cutOffHold, judge, type SmbView } from '../../../src/cluster/peers/judge';
import type { ClusterEvent } from '../../../src/cluster/types';

const base = parseConfig('cluster: { source: ctdb, server: { netbiosName: SOFS, dnsName: sofs.test }, shares: [{ name: data }] }\n', 'c.yaml');
const nodes = (flags: number[] = [0, 0, 0]) => flags.map((f, pnn) => ({ pnn, flags: f, address: `10.0.0.${pnn + 1}` }));
const ip = (address: string, host: number | undefined, possible = [0, 1, 2]) => ({ address, host, possible });

function snapshot(over: Partial<CtdbSnapshot> = {}): CtdbSnapshot {
  return { pnn: 0, nodes: nodes(), ips: [ip('192.0.2.1', 0), ip('192.0.2.2', 1), ip('2001:db8::3', 2)], unanswered: [], disagreed: [], ...over };
}
const brief = (es: readonly ClusterEvent[]) =>
  es.map((e) => ('lif' in e ? `${e.type} ${e.lif}${e.type === 'LifMoved' ? ` ${e.from}→${e.to}${e.planned ? ' planned' : ''}` : ''}` : 'node' in e ? `${e.type} ${e.node}` : e.type));

describe('CTDB snapshot → cluster model', () => {
  it('IPv4 and IPv6 public IPs become LIFs named by their address; smbAddress from the node address', () => {
    const m = new ClusterModel(configFromSnapshot(base, snapshot(), 4445));
    expect(m.lifs().map((l) => [l.name, l.ipv4, l.ipv6, l.homeNode, l.currentNode])).toEqual([
      ['192.0.2.1', '192.0.2.1', undefined, 'pnn0', 'pnn0'],
      ['192.0.2.2', '192.0.2.2', undefined, 'pnn0', 'pnn1'],
      ['2001:db8::3', undefined, '2001:db8::3', 'pnn0', 'pnn2'],
    ]);
    expect(m.node('pnn1')?.smbAddress).toBe('10.0.0.2:4445');
    expect(m.shares()).toEqual([{ name: 'data', svm: 'SOFS', continuouslyAvailable: true, node: 'pnn0' }]);
  });

  it('a down node and its IP moving in the same re-read: NodeDown first, then the move', () => {
    const m = new ClusterModel(configFromSnapshot(base, snapshot(), 445));
    const st = newSyncState();
    const ev = syncModel(m, snapshot({ nodes: nodes([0, NodeFlags.BANNED, 0]), ips: [ip('192.0.2.1', 0), ip('192.0.2.2', 2), ip('2001:db8::3', 2)] }), base, 445, st);
    expect(brief(ev)).toEqual(['NodeDown pnn1', 'LifMoved 192.0.2.2 pnn1→pnn2']);
    // The same facts again: nothing.
    expect(syncModel(m, snapshot({ nodes: nodes([0, NodeFlags.BANNED, 0]), ips: [ip('192.0.2.1', 0), ip('192.0.2.2', 2), ip('2001:db8::3', 2)] }), base, 445, st)).toEqual([]);
    // Back: NodeUp, nothing else (its IP stays where it is).
    expect(brief(syncModel(m, snapshot({ ips: [ip('192.0.2.1', 0), ip('192.0.2.2', 2), ip('2001:db8::3', 2)] }), base, 445, st))).toEqual(['NodeUp pnn1']);
  });

  it('disabled and unhealthy are not down (CTDB moves their IPs, reported then); stopped and disconnected are', () => {
    const m = new ClusterModel(configFromSnapshot(base, snapshot(), 445));
    const st = newSyncState();
    const ev = syncModel(m, snapshot({ nodes: nodes([0, NodeFlags.PERMANENTLY_DISABLED, NodeFlags.UNHEALTHY]) }), base, 445, st);
    expect(brief(ev)).toEqual([]);
    expect(brief(syncModel(m, snapshot({ nodes: nodes([0, NodeFlags.STOPPED, NodeFlags.DISCONNECTED | NodeFlags.UNHEALTHY]) }), base, 445, st))).toEqual(['NodeDown pnn1', 'NodeDown pnn2']);
  });

  it('a node the SMB2 probe failed first: CTDB agreeing is logged once, and CTDB\'s OK does not recover it (the watcher does)', () => {
    const m = new ClusterModel(configFromSnapshot(base, snapshot(), 445));
    const st = newSyncState();
    m.failNode('pnn1'); // the health watcher's doing (a hung smbd)
    const lines: string[] = [];
    const log = { warn: (_o: unknown, msg: string) => lines.push(msg), info: (_o: unknown, msg: string) => lines.push(msg) } as never;
    const down = snapshot({ nodes: nodes([0, NodeFlags.BANNED, 0]) });
    expect(syncModel(m, down, base, 445, st, log)).toEqual([]);
    expect(syncModel(m, down, base, 445, st, log)).toEqual([]);
    expect(lines.filter((l) => /the probe spoke first/.test(l))).toHaveLength(1);
    expect(syncModel(m, snapshot(), base, 445, st, log)).toEqual([]);
    expect(m.node('pnn1')?.up).toBe(false);
  });

  it('an announced move is planned; an IP nobody hosts is down, and up again where it lands', () => {
    const m = new ClusterModel(configFromSnapshot(base, snapshot(), 445));
    const st = newSyncState();
    st.announced.set('192.0.2.1', 'pnn1');
    expect(brief(syncModel(m, snapshot({ ips: [ip('192.0.2.1', 1), ip('192.0.2.2', undefined), ip('2001:db8::3', 2)] }), base, 445, st))).toEqual([
      'LifMoved 192.0.2.1 pnn0→pnn1 planned',
      'LifDown 192.0.2.2',
    ]);
    expect(brief(syncModel(m, snapshot({ ips: [ip('192.0.2.1', 1), ip('192.0.2.2', 0), ip('2001:db8::3', 2)] }), base, 445, st))).toEqual([
      'LifMoved 192.0.2.2 pnn1→pnn0',
      'LifUp 192.0.2.2',
    ]);
    expect(st.announced.size).toBe(0);
  });

  it('an IP that leaves a node still up is a planned move even before its releaseip: CLIENT_MOVE first (LifMoving), then the move', () => {
    const m = new ClusterModel(configFromSnapshot(base, snapshot(), 445));
    const st = newSyncState();
    expect(brief(syncModel(m, snapshot({ ips: [ip('192.0.2.1', 2), ip('192.0.2.2', 1), ip('2001:db8::3', 2)] }), base, 445, st))).toEqual([
      'LifMoving 192.0.2.1',
      'LifMoved 192.0.2.1 pnn0→pnn2 planned',
    ]);
  });

  it('reloadips adds an IP and removes one: the others do not move, the removed one goes down', () => {
    const m = new ClusterModel(configFromSnapshot(base, snapshot(), 445));
    const st = newSyncState();
    const ev = syncModel(m, snapshot({ ips: [ip('192.0.2.1', 0), ip('192.0.2.4', 1), ip('2001:db8::3', 2)] }), base, 445, st);
    expect(brief(ev)).toEqual(['LifDown 192.0.2.2']);
    expect(m.lifs().map((l) => [l.name, l.currentNode])).toEqual([['192.0.2.1', 'pnn0'], ['192.0.2.4', 'pnn1'], ['2001:db8::3', 'pnn2']]);
  });

  /**
   * The peer watch's R5 as PeerWatch.holdCutOff applies it (latched when this node loses its
   * majority, ended by cutOffHold on a fresh read), with the heartbeats it hears set by hand.
   */
  function cutOffPeerWatch(st: SyncState) {
    const members = ['pnn0', 'pnn1', 'pnn2'];
    const serving: SmbView = { pnn0: 'serving', pnn1: 'serving', pnn2: 'serving' };
    const w = { heard: [] as string[], latched: true };
    st.holdCutOff = (view) => {
      if (!w.latched) return undefined;
      // (Cut off, it reaches no peer's SMB server either.)
      const own = Object.fromEntries(members.map((n) => [n, n === 'pnn0' || w.heard.includes(n) ? 'serving' : 'silent'])) as SmbView;
      const v = judge({ self: 'pnn0', members, own, heard: new Map(w.heard.map((n) => [n, serving])) });
      const why = cutOffHold(v, new Set(w.heard), view, 1000);
      if (why === undefined) w.latched = false;
      return why;
    };
    return w;
  }

  it('R5, a 60 s link cut seen from the cut-off node: only its own IP is told; the others\' IPs, where they ended, never', () => {
    const m = new ClusterModel(configFromSnapshot(base, snapshot(), 445));
    const st = newSyncState();
    const w = cutOffPeerWatch(st);
    // 30 s in, its lone ctdbd calls both peers gone, released its own IP, and lists the others' as hosted by no node.
    const isolated = snapshot({ nodes: nodes([0, NodeFlags.DISCONNECTED, NodeFlags.DISCONNECTED]), ips: [ip('192.0.2.1', undefined), ip('192.0.2.2', undefined), ip('2001:db8::3', undefined)] });
    expect(brief(syncModel(m, isolated, base, 445, st))).toEqual(['LifDown 192.0.2.1']);
    // The link is back: heartbeats first, its ctdbd not rejoined yet (the peer watch's hold-lifted re-applies the old facts).
    w.heard = ['pnn1', 'pnn2'];
    expect(brief(syncNodes(m, isolated, st))).toEqual([]);
    expect(brief(syncModel(m, isolated, base, 445, st))).toEqual([]);
    // ctdbd rejoined, the takeover run not ended: its own list still says "no node" for the others' IPs.
    const rejoining = snapshot({ ips: [ip('192.0.2.1', 1), ip('192.0.2.2', undefined), ip('2001:db8::3', undefined)], disagreed: ['192.0.2.2', '2001:db8::3'] });
    expect(brief(syncModel(m, rejoining, base, 445, st))).toEqual([]);
    expect(brief(syncPlacement(m, rejoining, st))).toEqual([]);
    // The takeover run ended: one net change, its own IP's move; the others' IPs are where they were.
    const after = snapshot({ ips: [ip('192.0.2.1', 1), ip('192.0.2.2', 1), ip('2001:db8::3', 2)] });
    expect(brief(syncModel(m, after, base, 445, st))).toEqual(['LifMoved 192.0.2.1 pnn0→pnn1', 'LifUp 192.0.2.1']);
    expect(m.nodes().map((n) => n.up)).toEqual([true, true, true]);
    // Followed again from then on.
    expect(w.latched).toBe(false);
    expect(brief(syncModel(m, snapshot({ nodes: nodes([0, NodeFlags.BANNED, 0]), ips: [ip('192.0.2.1', 2), ip('192.0.2.2', 2), ip('2001:db8::3', 2)] }), base, 445, st))).toEqual([
      'NodeDown pnn1', 'LifMoved 192.0.2.1 pnn1→pnn2', 'LifMoved 192.0.2.2 pnn1→pnn2',
    ]);
  });

  it('R5: cut off, an IP CTDB gives this node is told (first-hand), and a peer\'s IP that really moved is told once back', () => {
    const m = new ClusterModel(configFromSnapshot(base, snapshot(), 445));
    const st = newSyncState();
    const w = cutOffPeerWatch(st);
    expect(brief(syncModel(m, snapshot({ nodes: nodes([0, NodeFlags.DISCONNECTED, NodeFlags.DISCONNECTED]), ips: [ip('192.0.2.1', 0), ip('192.0.2.2', 0), ip('2001:db8::3', undefined)] }), base, 445, st))).toEqual([
      'LifMoving 192.0.2.2', 'LifMoved 192.0.2.2 pnn1→pnn0 planned',
    ]);
    w.heard = ['pnn1', 'pnn2'];
    expect(brief(syncModel(m, snapshot({ ips: [ip('192.0.2.1', 0), ip('192.0.2.2', 0), ip('2001:db8::3', 1)] }), base, 445, st))).toEqual([
      'LifMoving 2001:db8::3', 'LifMoved 2001:db8::3 pnn2→pnn1 planned',
    ]);
  });
});
