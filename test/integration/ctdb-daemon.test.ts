/**
 * witnessd in CTDB mode, assembled as `witnessd --config FILE --ctdb-socket PATH` assembles
 * it, against a fake ctdbd: the model comes from ctdbd alone; the witness endpoint and the
 * endpoint mapper listen on the node address and the public IP the node hosts, bind on
 * TAKE_IP and close (with their clients) on RELEASE_IP; the admin API serves the event
 * script's hook; real Witness clients over TCP hear RESOURCE_CHANGE and CLIENT_MOVE.
 * Addresses 127.66.0.x (loopback, bindable without a namespace), dynamic ports.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { parseConfig } from '../../src/config';
import { CtdbSrvid, NodeFlags } from '../../src/cluster/ctdb/protocol';
import type { CtdbSource } from '../../src/cluster/ctdb/source';
import { startWitnessd, type Witnessd } from '../../src/cli/daemon';
import { WitnessClient } from '../../src/client/witness-client';
import { FakeCtdbd } from '../unit/ctdb/fake-ctdbd';

jest.setTimeout(30_000);

const NET = '127.66.0';
const YAML = `
cluster:
  source: ctdb
  nodemapPollMs: 20
  controlTimeoutMs: 500
  server: { netbiosName: SOFS, dnsName: sofs.ctdb.test }
  shares: [{ name: data }]
  peerWatch: { enabled: false }   # one witnessd, no smbd: CTDB's facts alone
watcher: { mode: simulated }
auth: { allowAnonymous: true }
admin: { token: integration-token-0123456789 }
`;

describe('witnessd with the CTDB source', () => {
  let fake: FakeCtdbd;
  let d: Witnessd;
  const clients: WitnessClient[] = [];

  beforeEach(async () => {
    fake = await FakeCtdbd.start(NET);
    d = await startWitnessd(parseConfig(YAML, 'ctdb.yaml'), {
      logger: pino({ level: process.env.CTDBA_LOG ?? 'silent' }), epmPort: 0, witnessPort: 0, ctdbSocket: fake.path,
      adminAddress: `${NET}.22:0`,
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await d.close();
    await fake.dispose();
  });

  function client(name: string, ip: string): WitnessClient {
    const c = new WitnessClient({
      server: `${NET}.22`, ipAddress: ip, witnessAddress: `${NET}.22`, netName: 'SOFS', clientName: name, version: 1,
      epmPort: d.epmEndpoint?.port, retryDelayMs: 100,
    });
    clients.push(c);
    return c;
  }

  it('listens on the node address and the hosted public IP, and follows TAKE_IP / RELEASE_IP', async () => {
    expect(d.source.name).toBe('ctdb');
    expect((d.source as CtdbSource).nodeName).toBe('pnn1');
    expect(d.witnessEndpoint.addresses).toEqual([`${NET}.22`, `${NET}.32`]);
    expect(d.epmEndpoint?.addresses).toEqual([`${NET}.22`, `${NET}.32`]);
    expect(d.admin.url).toMatch(new RegExp(`^http://${NET.replace(/\./g, '\\.')}\\.22:\\d+$`));

    // A client connected to .32 is closed when CTDB releases .32 here.
    const sock = net.createConnection({ host: `${NET}.32`, port: d.witnessEndpoint.port });
    await new Promise((r) => sock.once('connect', r));
    const closed = new Promise((r) => sock.once('close', r));
    fake.place(`${NET}.32`, 0);
    fake.message(CtdbSrvid.RELEASE_IP, `${NET}.32`);
    await closed;
    await d.listenersSettled();
    expect(d.witnessEndpoint.addresses).toEqual([`${NET}.22`]);
    await expect(connect(`${NET}.32`, d.witnessEndpoint.port)).rejects.toThrow(/ECONNREFUSED/);

    fake.place(`${NET}.33`, 1);
    fake.message(CtdbSrvid.TAKE_IP, `${NET}.33`);
    await waitFor(() => d.witnessEndpoint.addresses.includes(`${NET}.33`));
    await d.listenersSettled();
    await connect(`${NET}.33`, d.witnessEndpoint.port);
    await connect(`${NET}.33`, d.epmEndpoint!.port);
  });

  it('a node CTDB sees DISCONNECTED: its clients hear UNAVAILABLE at once; re-placed → AVAILABLE', async () => {
    const c = client('hv1', `${NET}.31`);
    await c.start();
    await waitFor(() => d.witness.admin.counts().pendingAsyncNotify === 1);
    const t0 = performance.now();
    fake.setFlags(0, NodeFlags.DISCONNECTED);
    const n1 = await c.next(5000);
    expect(n1.notification).toEqual({ type: 1, changes: [{ changeType: 0xff, name: 'SOFS' }] });
    expect(n1.receivedAt - t0).toBeLessThan(1000);
    fake.place(`${NET}.31`, 2);
    fake.message(CtdbSrvid.IPREALLOCATED);
    expect((await c.next(5000)).notification).toEqual({ type: 1, changes: [{ changeType: 1, name: 'SOFS' }] });
  });

  it('the event script\'s hook over the admin API: releaseip → CLIENT_MOVE before the answer', async () => {
    const c = client('hv2', `${NET}.32`);
    await c.start();
    await waitFor(() => d.witness.admin.counts().pendingAsyncNotify === 1);
    fake.publicIps.set(2, fake.publicIps.get(2)!.map((ip) => (ip.address === `${NET}.32` ? { ...ip, pnn: 0 } : ip)));
    const post = (body: unknown, token = 'integration-token-0123456789') =>
      fetch(`${d.admin.url}/v1/ctdb/event`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const res = await post({ event: 'releaseip', ip: `${NET}.32`, iface: 'lo', maskbits: 32, waitMs: 3000 });
    expect(res.status).toBe(200);
    const reply = await res.json();
    expect(reply).toMatchObject({ ok: true, notified: 1, delivered: 1, destination: 'pnn0' });
    const n = await c.next(1000);
    expect(n.notification).toEqual({ type: 2, addresses: [{ flags: 0x9, ipv4: `${NET}.31` }] });

    expect((await post({ event: 'monitor' })).status).toBe(200);
    expect((await post({ event: 'releaseip' })).status).toBe(400);
    expect((await post({ event: 'nonsense' })).status).toBe(400);
    expect((await post({ event: 'monitor' }, 'wrong-token-wrong-token')).status).toBe(401);
    const status = (await (await fetch(`${d.admin.url}/v1/status`, { headers: { authorization: 'Bearer integration-token-0123456789' } })).json()) as { source: unknown };
    expect(status.source).toMatchObject({ name: 'ctdb', health: { ok: true }, pnn: 1, connected: true, localAddresses: [`${NET}.22`, `${NET}.32`] });
  });
});

describe('witnessd CLI in CTDB mode', () => {
  const ROOT = path.resolve(__dirname, '../..');
  const witnessd = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'scripts/bin/witnessd.js'), ...args], { encoding: 'utf8', timeout: 60_000 });

  it('--print-ctdb-config prints a valid config with a fresh cluster token', () => {
    const a = witnessd(['--print-ctdb-config']);
    expect(a.status).toBe(0);
    const cfg = parseConfig(a.stdout, 'printed');
    expect(cfg.cluster.source).toBe('ctdb');
    expect(cfg.admin.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a.stdout).toContain('minimumLevel: integrity');
  }, 120_000);

  it('a ctdbd that never answers: start fails after cluster.startTimeoutMs with the socket named', async () => {
    const cfg = parseConfig(`${YAML}`.replace('  nodemapPollMs: 20', '  nodemapPollMs: 20\n  startTimeoutMs: 300'), 'ctdb.yaml');
    await expect(startWitnessd(cfg, { logger: pino({ level: 'silent' }), ctdbSocket: '/nonexistent/ctdbd.socket', epmPort: 0, witnessPort: 0 }))
      .rejects.toThrow(/cannot read the cluster from ctdbd at \/nonexistent\/ctdbd\.socket: connect ENOENT/);
  });
});

function connect(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
