/**
 * Samba rpcd_witness's answers as options, for clusters that move from it (README "Samba
 * compatibility"): GetInterfaceList with one InterfaceGroupName (the server's DNS name) for
 * every entry, node IPs with includeNodeIps (down while the node is disabled), no public IPs
 * with includePublicIps false, and a disabled node reported as RESOURCE_CHANGE UNAVAILABLE
 * (then AVAILABLE where CTDB puts the IP) instead of CLIENT_MOVE. witnessd's defaults keep
 * per-node group names and CLIENT_MOVE.
 */
import pino from 'pino';
import { parseConfig } from '../../../src/config';
import { ClusterModel } from '../../../src/cluster/model';
import { NodeFlags } from '../../../src/cluster/ctdb/protocol';
import type { CtdbSnapshot } from '../../../src/cluster/ctdb/snapshot';
import { configFromSnapshot, newSyncState, syncModel } from '../../../src/cluster/ctdb/sync';
import { ctdbSettings } from '../../../src/config';
import { buildInterfaceList } from '../../../src/witness/interface-list';
import { WitnessService } from '../../../src/witness/service';
import { ManualClock } from '../../../src/witness/clock';
import { CLIENT_MOVE_NOTIFICATION, INTERFACE_WITNESS, RESOURCE_CHANGE_NOTIFICATION, WITNESS_INFO_IPv4 } from '../../../src/gen/witness';
import { asyncNotify, FakeGroup, ctx } from '../witness/helpers';

const doc = (extra = '') => parseConfig(`cluster: { source: ctdb, server: { netbiosName: SOFS, dnsName: sofs.samba.test }${extra} }\n`, 'c.yaml');
const nodes = (flags: number[] = [0, 0, 0]) => flags.map((f, pnn) => ({ pnn, flags: f, address: `10.0.0.${pnn + 1}` }));
const ip = (address: string, host: number | undefined) => ({ address, host, possible: [0, 1, 2] });
const snapshot = (over: Partial<CtdbSnapshot> = {}): CtdbSnapshot => ({ pnn: 0, nodes: nodes(), ips: [ip('192.0.2.1', 0), ip('192.0.2.2', 1), ip('192.0.2.3', 2)], unanswered: [], disagreed: [], ...over });

function cluster(extra = '') {
  const base = doc(extra);
  const model = new ClusterModel(configFromSnapshot(base, snapshot(), 445));
  const state = newSyncState(ctdbSettings(base));
  return { base, model, state, sync: (s: CtdbSnapshot) => syncModel(model, s, base, 445, state) };
}

describe('GetInterfaceList as Samba answers it', () => {
  test('default: public IPs, each named after the node holding it; INTERFACE_WITNESS on the other nodes\'', () => {
    const { model } = cluster();
    const r = buildInterfaceList(model, '10.0.0.1');
    expect(r.interfaces.map((i) => [i.groupName, i.ipv4, i.flags])).toEqual([
      ['pnn0', '192.0.2.1', WITNESS_INFO_IPv4],
      ['pnn1', '192.0.2.2', WITNESS_INFO_IPv4 | INTERFACE_WITNESS],
      ['pnn2', '192.0.2.3', WITNESS_INFO_IPv4 | INTERFACE_WITNESS],
    ]);
  });

  test('interfaceGroupName server + includeNodeIps: one group name (NETBIOSNAME.REALM) for all; node IPs too', () => {
    const { model } = cluster(', includeNodeIps: true');
    const r = buildInterfaceList(model, '10.0.0.2', 'server');
    expect(r.interfaces.map((i) => [i.groupName, i.ipv4, (i.flags & INTERFACE_WITNESS) !== 0])).toEqual([
      ['sofs.samba.test', '10.0.0.1', true],
      ['sofs.samba.test', '10.0.0.2', false],
      ['sofs.samba.test', '10.0.0.3', true],
      ['sofs.samba.test', '192.0.2.1', true],
      ['sofs.samba.test', '192.0.2.2', false],
      ['sofs.samba.test', '192.0.2.3', true],
    ]);
  });

  test('includePublicIps false with includeNodeIps: only the node IPs', () => {
    const { model } = cluster(', includeNodeIps: true, includePublicIps: false');
    expect(buildInterfaceList(model, '10.0.0.1').interfaces.map((i) => i.ipv4)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  test('a disabled node\'s node IP is UNAVAILABLE, and AVAILABLE again when it is enabled', () => {
    const { model, sync } = cluster(', includeNodeIps: true');
    expect(sync(snapshot({ nodes: nodes([0, NodeFlags.PERMANENTLY_DISABLED, 0]) })).map((e) => `${e.type} ${'lif' in e ? e.lif : ''}`)).toEqual(['LifDown 10.0.0.2']);
    expect(model.lif('10.0.0.2')?.operational).toBe(false);
    expect(sync(snapshot()).map((e) => e.type)).toEqual(['LifUp']);
  });
});

describe('ctdb disable: CLIENT_MOVE (witnessd) or RESOURCE_CHANGE UNAVAILABLE (Samba)', () => {
  function witness(model: ClusterModel) {
    return new WitnessService({ model, logger: pino({ level: 'silent' }), clock: new ManualClock(0) });
  }
  const register = (svc: WitnessService, c: ReturnType<typeof ctx>) =>
    svc.register(c, { version: 0x00010001, netName: 'SOFS', ipAddress: '192.0.2.2', clientName: 'hv' }, false).handle as string;

  test('disabledNode resource-change: UNAVAILABLE when node 1 is disabled, AVAILABLE once CTDB moved its IP; no CLIENT_MOVE', async () => {
    const { model, sync } = cluster(', disabledNode: resource-change');
    const svc = witness(model);
    const c = ctx(new FakeGroup(1), '10.0.0.1');
    const h = register(svc, c);
    const first = asyncNotify(svc, c, h);
    sync(snapshot({ nodes: nodes([0, NodeFlags.PERMANENTLY_DISABLED, 0]) }));
    expect(await first).toMatchObject({ response: { type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff }] } });
    // The takeover run: still UNAVAILABLE while node 1 holds it, AVAILABLE on node 2.
    sync(snapshot({ nodes: nodes([0, NodeFlags.PERMANENTLY_DISABLED, 0]) }));
    expect(svc.list({ id: h })[0].pendingNotifications).toBe(0);
    sync(snapshot({ nodes: nodes([0, NodeFlags.PERMANENTLY_DISABLED, 0]), ips: [ip('192.0.2.1', 0), ip('192.0.2.2', 2), ip('192.0.2.3', 2)] }));
    expect(await asyncNotify(svc, c, h)).toMatchObject({ response: { type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0x01 }] } });
    svc.close();
  });

  test('default client-move: the same takeover is a CLIENT_MOVE to node 2', async () => {
    const { model, sync } = cluster();
    const svc = witness(model);
    const c = ctx(new FakeGroup(1), '10.0.0.1');
    const h = register(svc, c);
    const first = asyncNotify(svc, c, h);
    expect(sync(snapshot({ nodes: nodes([0, NodeFlags.PERMANENTLY_DISABLED, 0]) }))).toEqual([]);
    sync(snapshot({ nodes: nodes([0, NodeFlags.PERMANENTLY_DISABLED, 0]), ips: [ip('192.0.2.1', 0), ip('192.0.2.2', 2), ip('192.0.2.3', 2)] }));
    expect(await first).toMatchObject({ response: { type: CLIENT_MOVE_NOTIFICATION, addresses: [{ ipv4: '192.0.2.3' }] } });
    svc.close();
  });
});
