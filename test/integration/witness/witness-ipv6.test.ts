/**
 * A data LIF that only has an IPv6 address (::1) on node1, an IPv4 one on node2: interface
 * list flags, IPv6 text in registrations, witness connections over IPv6, and IPv6 addresses
 * in move lists — end to end over real sockets.
 */
import { parseConfig } from '../../../src/config';
import { RpcClient } from '../../../src/client/rpc-client';
import { WITNESS_SYNTAX, witnessCalls } from '../../../src/client/witness-calls';
import { WitnessClient } from '../../../src/client/witness-client';
import { CLIENT_MOVE_NOTIFICATION, RESOURCE_CHANGE_NOTIFICATION } from '../../../src/gen/witness';
import { startTestWitnessd, type TestWitnessd } from '../../../scripts/drill-witnessd';

jest.setTimeout(30_000);

const YAML = `
nodes:
  - { name: node1, partner: node2 }
  - { name: node2, partner: node1 }
svms:
  - name: vs6
    netbiosName: SOFS6
    dnsName: sofs6.demo.local
    lifs:
      - { name: lif6, ipv6: "0:0:0:0:0:0:0:1", homeNode: node1, currentNode: node1, up: true }
      - { name: lif4, ipv4: 127.0.0.12, homeNode: node2, currentNode: node2, up: true }
    shares:
      - { name: vmstore, continuouslyAvailable: true, node: node1 }
listener:
  addresses: ["::1", 127.0.0.12]
  witnessPort: 0
  epmPort: 0
watcher: { mode: simulated }
admin: { address: 127.0.0.1:0 }
auth: { allowAnonymous: true }
logging: { level: silent }
`;

describe('IPv6 data LIF end to end', () => {
  let d: TestWitnessd;
  beforeAll(async () => {
    d = await startTestWitnessd({ config: parseConfig(YAML, 'ipv6.yaml') });
  });
  afterAll(async () => {
    await d?.close();
  });

  test('GetInterfaceList over IPv6 (serving node1): the IPv4 partner LIF is the witness interface', async () => {
    const c = await RpcClient.connect({ host: '::1', port: d.witnessPort });
    try {
      await c.bind(WITNESS_SYNTAX);
      const r = await witnessCalls.getInterfaceList(c);
      expect(r.interfaces).toEqual([
        { groupName: 'node1', version: 0x20000, state: 1, flags: 0x2, ipv6: '::1' },
        { groupName: 'node2', version: 0x20000, state: 1, flags: 0x5, ipv4: '127.0.0.12' },
      ]);
    } finally {
      await c.close();
    }
  });

  test('a client of the IPv4 LIF registers over IPv6 and is told to move to ::1', async () => {
    const wc = new WitnessClient({ server: '127.0.0.12', netName: 'SOFS6', clientName: 'v6', epmPort: d.epmPort, retryDelayMs: 50 });
    const reg = await wc.start(10_000);
    try {
      expect(reg.witnessAddress).toBe('::1');
      expect(d.witness.service.list({ clientName: 'v6' })[0]).toMatchObject({ ipAddress: '127.0.0.12', lif: 'lif4' });
      d.model.migrateLif('lif4', 'node1');
      const n = await wc.next(5000);
      expect(n.notification).toEqual({ type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: 0x2 | 0x8, ipv6: '::1' }] });
    } finally {
      await wc.stop();
      d.model.migrateLif('lif4', 'node2');
    }
  });

  test('a client of the IPv6 LIF, registered with a non-canonical spelling, hears about node1 failing', async () => {
    const wc = new WitnessClient({ server: '::1', ipAddress: '0::0:1', netName: 'sofs6.demo.local', clientName: 'v6b', epmPort: d.epmPort, retryDelayMs: 50 });
    const reg = await wc.start(10_000);
    try {
      expect(reg.witnessAddress).toBe('127.0.0.12');
      expect(d.witness.service.list({ ipAddress: '::1' }).map((r) => r.clientName)).toEqual(['v6b']);
      d.model.failNode('node1');
      const n = await wc.next(5000);
      expect(n.notification).toEqual({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff, name: 'sofs6.demo.local' }] });
    } finally {
      await wc.stop();
      d.model.recoverNode('node1');
    }
  });
});
