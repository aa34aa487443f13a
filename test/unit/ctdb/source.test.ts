/**
 * The CTDB source against a fake ctdbd, feeding a real cluster model and Witness service:
 * model building from the node map and public IPs, CTDB facts → notifications (node
 * DISCONNECTED → UNAVAILABLE at once, IP re-placed → AVAILABLE, releaseip hook →
 * CLIENT_MOVE to the destination before the move, node back → AVAILABLE), listeners'
 * address set following TAKE_IP/RELEASE_IP, and a ctdbd that restarts or sends garbage
 * (reconnect, full re-read, no duplicate notification, a log line that says what happened).
 */
import { TestCall, asyncNotify } from '../../helpers/calls';
import pino from 'pino';
import { Writable } from 'node:stream';
import { parseConfig, type WitnessdConfig } from '../../../src/config';
import type { ClusterModel } from '../../../src/cluster/model';
import type { CtdbHookReply, CtdbHookRequest } from '../../../src/cluster/ctdb/hook';
import { CtdbSource } from '../../../src/cluster/ctdb/source';
import { CtdbSrvid, NodeFlags, encodeU32 } from '../../../src/cluster/ctdb/protocol';
import type { CallContext } from '../../../src/rpc/call-context';
import { AuthLevel } from '../../../src/rpc/security';
import { WitnessService } from '../../../src/witness/service';
import type { AsyncNotifyResult } from '../../../src/witness/types';
import { FakeCtdbd } from './fake-ctdbd';

jest.setTimeout(20_000);

const YAML = `
cluster:
  source: ctdb
  nodemapPollMs: 20
  resyncMs: 60000
  controlTimeoutMs: 300
  reconnectMinMs: 20
  reconnectMaxMs: 100
  server: { netbiosName: SOFS, dnsName: sofs.ctdb.test }
  shares: [{ name: data }]
watcher: { mode: simulated }
`;

function ctx(localAddress: string, groupId: number): TestCall {
  return new TestCall({ associationGroup: { id: groupId, onClose: () => () => undefined }, localAddress, remotePort: 50000 + groupId });
}

describe('CTDB source → model → Witness notifications', () => {
  let fake: FakeCtdbd;
  let source: CtdbSource;
  let model: ClusterModel;
  let service: WitnessService;
  let config: WitnessdConfig;
  const logs: Array<{ msg: string; [k: string]: unknown }> = [];
  const aborts: TestCall[] = [];
  const addressSets: string[][] = [];

  beforeEach(async () => {
    logs.length = 0;
    addressSets.length = 0;
    fake = await FakeCtdbd.start();
    config = parseConfig(YAML, 'ctdb.yaml');
    const sink = new Writable({ write(chunk, _enc, cb) { logs.push(JSON.parse(chunk.toString())); cb(); } });
    const logger = pino({ level: 'debug' }, sink);
    source = await CtdbSource.open({ config, logger, ctdbSocket: fake.path });
    model = source.model;
    service = new WitnessService({ model, logger: pino({ level: 'silent' }) });
    source.onAddresses((a) => addressSets.push([...a]));
    // The Witness service is the source's NotificationPort: who was told, and when it was written.
    source.start(service);
  });
  afterEach(async () => {
    for (const a of aborts.splice(0)) a.abort();
    await source.close();
    service.close();
    await fake.dispose();
  });

  function register(ip: string, at: string, group: number): string {
    const r = service.register(ctx(at, group), { version: 0x00010001, netName: 'SOFS', ipAddress: ip, clientName: `client${group}` }, false);
    expect(r.result).toBe(0);
    return r.handle as string;
  }
  function pending(handle: string, at: string, group: number): Promise<AsyncNotifyResult> {
    const a = ctx(at, group);
    aborts.push(a);
    return asyncNotify(service, a, handle);
  }
  const logged = (re: RegExp) => logs.some((l) => re.test(l.msg));
  const hook = (req: CtdbHookRequest) => source.event!(req) as Promise<CtdbHookReply>;

  it('builds the model: CTDB nodes by PNN with their addresses, public IPs with current and home node, the YAML\'s server and shares', () => {
    expect(model.nodes().map((n) => [n.name, n.smbAddress, n.up])).toEqual([
      ['pnn0', '127.0.0.21:445', true], ['pnn1', '127.0.0.22:445', true], ['pnn2', '127.0.0.23:445', true],
    ]);
    expect(model.lifs().map((l) => [l.name, l.ipv4, l.currentNode, l.operational])).toEqual([
      ['127.0.0.31', '127.0.0.31', 'pnn0', true], ['127.0.0.32', '127.0.0.32', 'pnn1', true], ['127.0.0.33', '127.0.0.33', 'pnn2', true],
    ]);
    expect(model.svms()).toEqual([expect.objectContaining({ netbiosName: 'SOFS', dnsName: 'sofs.ctdb.test', shares: ['data'] })]);
    expect(source.nodeName).toBe('pnn1');
    expect(source.listenAddresses()).toEqual(['127.0.0.22', '127.0.0.32']);
    expect(source.status()).toMatchObject({ connected: true, pnn: 1, nodes: [{ name: 'pnn0', flags: ['OK'] }, expect.anything(), expect.anything()] });
  });

  it('node DISCONNECTED → UNAVAILABLE at once (before CTDB moves the IP); IP re-placed → AVAILABLE; node back → no duplicate', async () => {
    const h = register('127.0.0.31', '127.0.0.22', 1);
    const first = pending(h, '127.0.0.22', 1);
    const t0 = Date.now();
    fake.setFlags(0, NodeFlags.DISCONNECTED | NodeFlags.UNHEALTHY);
    const r1 = await first;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r1.response).toEqual({ type: 1, changes: [{ changeType: 0xff, name: 'SOFS' }] });
    expect(model.lif('127.0.0.31')?.currentNode).toBe('pnn0'); // not moved yet
    expect(logged(/node pnn0 is DISCONNECTED\|UNHEALTHY: down \(CTDB spoke first\)/)).toBe(true);

    // The takeover run puts .31 on node 2 and says IPREALLOCATED.
    const second = pending(h, '127.0.0.22', 1);
    fake.place('127.0.0.31', 2);
    fake.message(CtdbSrvid.IPREALLOCATED);
    expect((await second).response).toEqual({ type: 1, changes: [{ changeType: 1, name: 'SOFS' }] });
    expect(model.lif('127.0.0.31')?.currentNode).toBe('pnn2');

    // Node 0 comes back (hosting nothing): no notification for .31, which stayed on node 2.
    fake.setFlags(0, 0);
    await waitFor(() => model.node('pnn0')?.up === true);
    const third = pending(h, '127.0.0.22', 1);
    const none = await Promise.race([third.then(() => 'notified'), new Promise((r) => setTimeout(() => r('quiet'), 150))]);
    expect(none).toBe('quiet');
  });

  it('releaseip hook: CLIENT_MOVE to the destination the other nodes already know, answered once written', async () => {
    const h = register('127.0.0.32', '127.0.0.22', 2);
    const n = pending(h, '127.0.0.22', 2);
    // ctdb moveip 127.0.0.32 0: the takeover run's redundant release told node 2 where it goes.
    fake.publicIps.set(2, fake.publicIps.get(2)!.map((ip) => (ip.address === '127.0.0.32' ? { ...ip, pnn: 0 } : ip)));
    const reply = await hook({ event: 'releaseip', ip: '127.0.0.32', iface: 'lo', maskbits: 32 });
    expect(reply).toMatchObject({ ok: true, event: 'releaseip', notified: 1, delivered: 1, destination: 'pnn0' });
    expect((await n).response).toEqual({ type: 2, addresses: [{ flags: 0x9, ipv4: '127.0.0.31' }] });

    // Then CTDB releases it here (ctdbd records the new PNN before it sends RELEASE_IP) and
    // node 0 takes it: a planned move, no RESOURCE_CHANGE.
    fake.place('127.0.0.32', 0);
    fake.message(CtdbSrvid.RELEASE_IP, '127.0.0.32');
    await waitFor(() => !source.listenAddresses().includes('127.0.0.32'));
    fake.message(CtdbSrvid.IPREALLOCATED);
    await waitFor(() => model.lif('127.0.0.32')?.currentNode === 'pnn0');
    const after = pending(h, '127.0.0.22', 2);
    expect(await Promise.race([after.then(() => 'notified'), new Promise((r) => setTimeout(() => r('quiet'), 150))])).toBe('quiet');
    expect(addressSets).toEqual([['127.0.0.22']]);
  });

  it('releaseip asked on a node that does not hold the IP (the script asks every node): the destination from any node but the holder', async () => {
    const h = register('127.0.0.31', '127.0.0.22', 5); // .31 is on node 0; we are node 1
    const n = pending(h, '127.0.0.22', 5);
    // ctdb moveip 127.0.0.31 2: nodes 1 and 2 already know; node 0 (the holder) still says 0.
    for (const node of [1, 2]) fake.publicIps.set(node, fake.publicIps.get(node)!.map((ip) => (ip.address === '127.0.0.31' ? { ...ip, pnn: 2 } : ip)));
    // A releaseip run on a node that does not hold .31 (CTDB_TEST_MODE does that) moves nothing.
    expect(await hook({ event: 'releaseip', ip: '127.0.0.31', pnn: 1 })).toMatchObject({ notified: 0 });
    const reply = await hook({ event: 'releaseip', ip: '127.0.0.31', pnn: 0 });
    expect(reply).toMatchObject({ notified: 1, delivered: 1, destination: 'pnn2' });
    expect((await n).response).toEqual({ type: 2, addresses: [{ flags: 0x9, ipv4: '127.0.0.33' }] });
  });

  it('releaseip before anyone knows the destination: the other nodes\' addresses; a bounded wait for a client not waiting', async () => {
    register('127.0.0.32', '127.0.0.22', 3); // registered, no AsyncNotify pending
    const t0 = Date.now();
    const reply = await hook({ event: 'releaseip', ip: '127.0.0.32', waitMs: 200 });
    expect(reply).toMatchObject({ notified: 1, delivered: 0, destination: 'pnn0' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(logged(/destination guessed/)).toBe(true);
  });

  it('TAKE_IP adds the address at once; RELEASE_IP removes it', async () => {
    fake.place('127.0.0.33', 1);
    fake.message(CtdbSrvid.TAKE_IP, '127.0.0.33');
    await waitFor(() => addressSets.length === 1);
    expect(addressSets[0]).toEqual(['127.0.0.22', '127.0.0.32', '127.0.0.33']);
    expect(model.lif('127.0.0.33')?.currentNode).toBe('pnn1');
    fake.place('127.0.0.32', 2);
    fake.message(CtdbSrvid.RELEASE_IP, '127.0.0.32');
    await waitFor(() => addressSets.length === 2);
    await source.resync('test');
    expect(addressSets[1]).toEqual(['127.0.0.22', '127.0.0.33']);
    expect(addressSets).toHaveLength(2);
  });

  it('ctdbd restarts: reconnect with backoff, full re-read, changes made meanwhile notified once', async () => {
    const h = register('127.0.0.33', '127.0.0.22', 4);
    const n = pending(h, '127.0.0.22', 4);
    await fake.stop();
    await waitFor(() => logged(/lost the connection to ctdbd/));
    fake.setFlags(2, NodeFlags.BANNED);
    fake.place('127.0.0.33', 0);
    await new Promise((r) => setTimeout(r, 100)); // a few failed reconnects
    await fake.restart();
    await waitFor(() => logged(/reconnected to ctdbd; model re-read in full/));
    // Node 2 banned and .33 re-placed while we were away: UNAVAILABLE, then AVAILABLE.
    expect((await n).response).toEqual({ type: 1, changes: [{ changeType: 0xff, name: 'SOFS' }] });
    expect((await pending(h, '127.0.0.22', 4)).response).toEqual({ type: 1, changes: [{ changeType: 1, name: 'SOFS' }] });
    expect(model.node('pnn2')?.up).toBe(false);
    expect(model.lif('127.0.0.33')?.currentNode).toBe('pnn0');
    expect(fake.registeredCount(CtdbSrvid.IPREALLOCATED)).toBe(1);
    expect(source.status()).toMatchObject({ connected: true, reconnects: 1 });
    // Nothing more to say: a re-read that finds nothing new raises nothing.
    await source.resync('test');
    const more = pending(h, '127.0.0.22', 4);
    expect(await Promise.race([more.then(() => 'notified'), new Promise((r) => setTimeout(() => r('quiet'), 150))])).toBe('quiet');
  });

  it('a peer that sends garbage: a clear log line and a reconnect, never a crash', async () => {
    fake.sendRaw(Buffer.concat([encodeU32(48), encodeU32(0x12345678), Buffer.alloc(40)]));
    await waitFor(() => logged(/not CTDB's protocol \(bad magic 0x12345678\): reconnecting/));
    await waitFor(() => source.status().connected && source.status().reconnects === 1);
    fake.sendRaw(encodeU32(1 << 30)); // a length no packet has
    await waitFor(() => logged(/packet length 1073741824 outside/));
    await waitFor(() => source.status().reconnects === 2);
    expect(fake.connections).toBe(3);
    // A connection that did not last does not reset the backoff: the waits grow.
    const waits = logs.filter((l) => /lost the connection/.test(l.msg)).map((l) => l.retryMs);
    expect(waits).toEqual([20, 40]);
    // Garbage during a reconnect's first read: that attempt fails and one retry follows.
    await fake.stop();
    await waitFor(() => !source.status().connected);
    fake.garbageReply = encodeU32(3);
    await fake.restart();
    await waitFor(() => logged(/reconnect failed/));
    await waitFor(() => source.status().connected, 5000);
    expect(source.status().reconnects).toBe(3);
    const before = fake.connections;
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.connections).toBe(before); // no second reconnect loop
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
