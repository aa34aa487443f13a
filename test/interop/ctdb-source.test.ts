/**
 * witnessd's ctdbd client against real ctdbd 4.22 (three nodes on loopback, ctdb-cluster.ts):
 * what our packets decode to equals what the ctdb tool prints (`ctdb -X status`, `ctdb -X ip
 * all`); CTDB's messages arrive (RELEASE_IP on the old node, TAKE_IP on the new, IPREALLOCATED
 * everywhere); while the holder's releaseip script runs, the other nodes already know where
 * the IP goes (what the planned-move hook relies on: ctdb_takeover.c's redundant releases);
 * a killed peer is seen DISCONNECTED through the node-map poll; a restarted
 * ctdbd is reconnected to and re-read. Figures (poll cost, detection time) are printed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config';
import { CtdbConnection } from '../../src/cluster/ctdb/client';
import { CtdbControl, CtdbSrvid, NodeFlags, messageText } from '../../src/cluster/ctdb/protocol';
import { readNodeMap, readSnapshot } from '../../src/cluster/ctdb/snapshot';
import { CtdbSource } from '../../src/cluster/ctdb/source';
import { CtdbCluster, nodeAddress, publicIp } from './helpers/ctdb-cluster';
import { describeWithPeers, sleep } from './helpers';

jest.setTimeout(240_000);

describeWithPeers('ctdbd client protocol against real ctdbd (three nodes)', ['ip'], () => {
  let cluster: CtdbCluster;
  const open: CtdbConnection[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctdb-source-'));
  const views = path.join(dir, 'releaseip-views.log');

  beforeAll(async () => {
    // At releaseip, before 10.interface removes the address: what nodes 0–2 say about the IP.
    const script = path.join(dir, '08.views.script');
    fs.writeFileSync(script, [
      '#!/bin/sh',
      '[ "$1" = releaseip ] || exit 0',
      `for n in 0 1 2; do echo "$(ctdb pnn) $3 asked $n: $(timeout 5 ctdb -n $n -X ip | grep "|$3|")" >> ${views}; done`,
      'exit 0',
      '',
    ].join('\n'), { mode: 0o755 });
    cluster = await CtdbCluster.start({ eventScripts: [script] });
  });
  afterAll(async () => {
    for (const c of open) c.close('test end');
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function connect(pnn: number, onMessage: (srvid: bigint, text: string) => void = () => undefined): Promise<CtdbConnection> {
    const c = await CtdbConnection.connect({
      path: cluster.socketPath(pnn), onMessage: (s, d) => onMessage(s, messageText(d)), onClose: () => undefined,
    });
    open.push(c);
    return c;
  }

  it('the snapshot equals what the ctdb tool prints, on every node', async () => {
    for (const pnn of [0, 1, 2]) {
      const snap = await readSnapshot(await connect(pnn));
      expect(snap.pnn).toBe(pnn);
      const status = await cluster.status(pnn);
      expect(snap.nodes.map((n) => [n.pnn, n.address, n.flags])).toEqual(status.map((s) => [s.pnn, s.address, 0]));
      const ips = await cluster.ips(pnn);
      expect(new Map(snap.ips.map((ip) => [ip.address, ip.host ?? -1]))).toEqual(ips);
      expect(snap.ips.map((ip) => ip.possible)).toEqual([[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
      expect(snap.ips.map((ip) => ip.address)).toEqual([publicIp(0), publicIp(1), publicIp(2)]);
    }
  });

  it('polling the node map is cheap (figures printed)', async () => {
    const c = await connect(1);
    const n = 500;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await c.control({ opcode: CtdbControl.GET_NODEMAP });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    process.stderr.write(`GET_NODEMAP: ${(ms / n).toFixed(3)} ms per round trip, ${((cpu.user + cpu.system) / n / 1000).toFixed(3)} ms witnessd CPU per call\n`);
    expect(ms / n).toBeLessThan(50);
  });

  it('moveip: RELEASE_IP on the holder, TAKE_IP on the destination, IPREALLOCATED on all; the others know the destination during the holder\'s releaseip', async () => {
    const seen: Array<{ pnn: number; srvid: bigint; text: string; at: number }> = [];
    const conns: CtdbConnection[] = [];
    for (const pnn of [0, 1, 2]) {
      const c = await connect(pnn, (srvid, text) => seen.push({ pnn, srvid, text, at: Date.now() }));
      for (const s of [CtdbSrvid.RELEASE_IP, CtdbSrvid.TAKE_IP, CtdbSrvid.IPREALLOCATED]) {
        expect((await c.control({ opcode: CtdbControl.REGISTER_SRVID, srvid: s })).status).toBe(0);
      }
      conns.push(c);
    }
    const ip = publicIp(0);
    await cluster.ctdbOk(0, ['moveip', ip, '2']);
    await cluster.waitFor('IPREALLOCATED everywhere', async () => ([0, 1, 2].every((p) => seen.some((m) => m.pnn === p && m.srvid === CtdbSrvid.IPREALLOCATED)) ? true : undefined), 20_000);
    expect(seen.filter((m) => m.srvid === CtdbSrvid.RELEASE_IP && m.text === ip).map((m) => m.pnn)).toEqual([0]);
    expect(seen.filter((m) => m.srvid === CtdbSrvid.TAKE_IP && m.text === ip).map((m) => m.pnn)).toEqual([2]);
    const snap = await readSnapshot(conns[1]);
    expect(snap.ips.find((x) => x.address === ip)?.host).toBe(2);
    // While node 0's releaseip ran: node 0 (the holder) still said 0; node 1 already said 2.
    const lines = fs.readFileSync(views, 'utf8').split('\n').filter((l) => l.includes(` ${ip} asked`));
    expect(lines.find((l) => l.startsWith(`0 ${ip} asked 0:`))).toContain(`|${ip}|0|`);
    expect(lines.find((l) => l.startsWith(`0 ${ip} asked 1:`))).toContain(`|${ip}|2|`);
  });

  it('a killed node is DISCONNECTED in the node map within a poll or two; the source reconnects to a restarted ctdbd and re-reads', async () => {
    const watcher = await connect(1);
    const killedAt = Date.now();
    await cluster.killNode(2);
    let seenAt = 0;
    for (let i = 0; i < 200 && seenAt === 0; i++) {
      const nodes = await readNodeMap(watcher);
      if ((nodes.find((n) => n.pnn === 2)?.flags ?? 0) & NodeFlags.DISCONNECTED) seenAt = Date.now();
      else await sleep(10);
    }
    expect(seenAt).toBeGreaterThan(0);
    process.stderr.write(`kill -9 of node 2's ctdbd → DISCONNECTED in node 1's node map after ${seenAt - killedAt} ms\n`);

    // A source on node 2's socket while its ctdbd is away: it waits, then connects and reads.
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { logs.push(JSON.parse(c.toString()).msg); cb(); } }));
    const config = parseConfig('cluster: { source: ctdb, reconnectMinMs: 100, reconnectMaxMs: 500, startTimeoutMs: 60000, server: { netbiosName: SOFS, dnsName: sofs.test } }\nwatcher: { mode: simulated }\n', 'c.yaml');
    const starting = CtdbSource.open({ config, logger, ctdbSocket: cluster.socketPath(2) });
    await sleep(500);
    await cluster.startNode(2);
    const source = await starting;
    try {
      expect(logs.some((m) => /ctdbd not ready; retrying/.test(m))).toBe(true);
      source.start({ told: (fn) => ({ result: fn(), told: [] }), whenDelivered: () => Promise.resolve(0) });
      expect(source.nodeAddress).toBe(nodeAddress(2));
      // ctdbd restarted under the running source: reconnect and a full re-read.
      await cluster.killNode(2);
      await cluster.waitFor('lost', async () => (logs.some((m) => /lost the connection to ctdbd/.test(m)) ? true : undefined), 10_000);
      expect(source.listenAddresses()).toEqual([nodeAddress(2)]);
      await sleep(1500); // ctdb-eventd of the killed ctdbd exits about a second later
      await cluster.startNode(2);
      await cluster.waitFor('reconnected', async () => (logs.some((m) => /reconnected to ctdbd; model re-read in full/.test(m)) ? true : undefined), 60_000);
      expect(source.status()).toMatchObject({ connected: true, reconnects: 1, pnn: 2 });
    } finally {
      await source.close();
    }
  });
});
