import { buildInterfaceList, normalizeAddress } from '../../../src/witness/interface-list';
import { WERR } from '../../../src/witness/constants';
import {
  INTERFACE_WITNESS,
  WITNESS_STATE_AVAILABLE,
  WITNESS_STATE_UNAVAILABLE,
  WITNESS_V2,
} from '../../../src/gen/witness';
import { FakeGroup, asyncNotify, ctx, setup } from './helpers';

describe('GetInterfaceList (Decision 3)', () => {
  test('a call arriving on node1 lists the SVM LIFs; only the SFO partner LIF carries INTERFACE_WITNESS', () => {
    const { model } = setup();
    const r = buildInterfaceList(model, '127.0.0.11');
    expect(r.result).toBe(WERR.OK);
    expect(r.interfaces.map((i) => [i.lif, i.groupName, i.ipv4, i.flags, i.state, i.version])).toEqual([
      ['lif1', 'node1', '127.0.0.11', 0x1, WITNESS_STATE_AVAILABLE, WITNESS_V2],
      ['lif2', 'node2', '127.0.0.12', 0x5, WITNESS_STATE_AVAILABLE, WITNESS_V2],
    ]);
  });

  test('a call arriving on node2 flags node1 LIFs', () => {
    const { model } = setup();
    const r = buildInterfaceList(model, '127.0.0.12');
    expect(r.interfaces.find((i) => i.lif === 'lif1')?.flags).toBe(0x5);
    expect(r.interfaces.find((i) => i.lif === 'lif2')?.flags).toBe(0x1);
  });

  test('IPv4-mapped local addresses are understood', () => {
    const { model } = setup();
    expect(normalizeAddress('::ffff:127.0.0.11')).toBe('127.0.0.11');
    expect(buildInterfaceList(model, '::ffff:127.0.0.11').result).toBe(WERR.OK);
  });

  test('an address that is no data LIF gives an empty list → ERROR_NO_MORE_ITEMS', () => {
    const { model, svc } = setup();
    expect(buildInterfaceList(model, '127.0.0.1')).toEqual({ result: WERR.NO_MORE_ITEMS, interfaces: [] });
    expect(svc.getInterfaceList(ctx(new FakeGroup(1), '10.9.9.9')).result).toBe(WERR.NO_MORE_ITEMS);
    svc.close();
  });

  test('after node1 fails, lif1 is hosted (and AVAILABLE) on node2 and no LIF sits on the dead partner', () => {
    const { model } = setup();
    model.failNode('node1');
    // lif1 failed over to node2: group name follows the hosting node; it is operational there.
    const r = buildInterfaceList(model, '127.0.0.12');
    expect(r.interfaces.map((i) => [i.lif, i.groupName, i.state, i.flags])).toEqual([
      ['lif1', 'node2', WITNESS_STATE_AVAILABLE, 0x1],
      ['lif2', 'node2', WITNESS_STATE_AVAILABLE, 0x1],
    ]);
  });

  test('a LIF that is down is UNAVAILABLE; dual-stack LIFs carry both flags', () => {
    const yaml = `
nodes:
  - { name: a, partner: b }
  - { name: b, partner: a }
svms:
  - name: vs
    netbiosName: NAS
    dnsName: nas.example
    lifs:
      - { name: la, ipv4: 10.0.0.1, ipv6: "fd00::1", homeNode: a, currentNode: a, up: true }
      - { name: lb, ipv4: 10.0.0.2, homeNode: b, currentNode: b, up: false }
    shares: []
`;
    const { model } = setup({}, yaml);
    const r = buildInterfaceList(model, '10.0.0.1');
    expect(r.interfaces.map((i) => [i.lif, i.flags, i.state, i.ipv6])).toEqual([
      ['la', 0x3, WITNESS_STATE_AVAILABLE, 'fd00::1'],
      ['lb', 0x5, WITNESS_STATE_UNAVAILABLE, undefined],
    ]);
  });
});
