/**
 * `witnessctl net-witness` in CTDB mode, on the real three-node CTDB cluster with witnessd on
 * every node (helpers/ctdb-cluster.ts, ctdb-witnessd.ts): run on one node, it lists and
 * updates the registrations every node holds, as Samba's `net witness` does over the
 * cluster-wide registration database. Real rpcclients register at nodes 1 and 2; the
 * administrator's commands run against node 0's admin API:
 * - `list --json`: both registrations, server_id.vnn = the PNN holding each;
 * - `client-move --witness-client-computer-name=... --witness-new-ip=...`: the client's
 *   pending AsyncNotify prints a client move to that address, from node 1's witnessd;
 * - `--witness-new-node=2`: the public IP node 2 hosts; the V2 registration moved elsewhere
 *   is force-unregistered 3–10 s later by default (real rpcclient sees WERR_NOT_FOUND);
 *   `force-unregister`: NOT_FOUND;
 * - the refusals (usage errors) match Samba's own `net witness` run beside it.
 */
import { CtdbCluster, nodeAddress, publicIp } from './helpers/ctdb-cluster';
import { CTDB_ADMIN_TOKEN, CTDB_CREDENTIALS, CTDB_SERVER, adminUrl, killWitnessds, waitWitnessdUp, witnessdClusterOptions } from './helpers/ctdb-witnessd';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeWithPeers, InteractiveRpcclient, onEmergencyExit, rpcclientTarget, runTool, sleep } from './helpers';
import { main as witnessctl } from '../../src/cli/witnessctl';

async function net(pnn: number, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await witnessctl(['net-witness', ...args, '--admin', adminUrl(pnn), '--token', CTDB_ADMIN_TOKEN], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env: {} });
  return { code, out, err };
}

describeWithPeers('witnessctl net-witness on a three-node CTDB cluster', ['ctdbd', 'ctdb', 'rpcclient', 'ip', 'net'], () => {
  let cluster: CtdbCluster | undefined;
  let unregister: (() => void) | undefined;
  const clients: InteractiveRpcclient[] = [];
  const handles: Record<string, string> = {};

  beforeAll(async () => {
    // Generous: every node starts witnessd through its event script, slow on a loaded machine.
    cluster = await CtdbCluster.start({ ...witnessdClusterOptions(), startTimeoutMs: 180_000 });
    const c = cluster;
    unregister = onEmergencyExit(() => killWitnessds(c));
    await waitWitnessdUp(cluster);
    await cluster.waitAllOk(120_000);
    await cluster.placeIps(60_000);
    // net-a at node 1 for node 0's public IP (V1); net-b at node 2 for node 1's (V2, a share).
    for (const [name, at, ip, cmd] of [['net-a', 1, 0, 'Register'], ['net-b', 2, 1, 'RegisterEx']] as const) {
      const t = rpcclientTarget(nodeAddress(at), 'sign', CTDB_CREDENTIALS);
      const rc = InteractiveRpcclient.start(t.binding, t.user, 10 * 60_000);
      clients.push(rc);
      const extra = cmd === 'RegisterEx' ? ` -s ${CTDB_SERVER.share} -t 120` : '';
      handles[name] = await rc.register(`-n ${CTDB_SERVER.netbiosName} -i ${publicIp(ip)}${extra} -c ${name}`, 15_000, cmd);
    }
  }, 360_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    if (cluster) {
      await cluster.stop();
      killWitnessds(cluster);
    }
    unregister?.();
  }, 60_000);

  const uuid = (h: string): string => h.split(':')[1].toLowerCase();

  test('the refusals are Samba 4.22 net\'s own: the same message and exit code from `net witness` beside it', async () => {
    // Samba's net on node 0 (clustering = yes: it needs ctdbd for its messaging, so it runs here).
    const dir = path.join(cluster!.base(0), 'samba-net');
    for (const d of ['lock', 'private', 'cache', 'state', 'ncalrpc']) mkdirSync(path.join(dir, d), { recursive: true });
    const conf = path.join(dir, 'smb.conf');
    writeFileSync(conf, `[global]\n  netbios name = ${CTDB_SERVER.netbiosName}\n  clustering = yes\n  ctdbd socket = ${cluster!.socketPath(0)}\n` +
      ['lock', 'private', 'cache', 'state', 'ncalrpc'].map((d) => `  ${d === 'cache' ? 'cache directory' : d === 'state' ? 'state directory' : `${d} dir`} = ${path.join(dir, d)}\n`).join(''));
    const cases = [
      ['force-unregister'],
      ['client-move', '--witness-apply-to-all'],
      ['client-move', '--witness-apply-to-all', '--witness-new-ip=192.0.2.1', '--witness-new-node=1'],
      ['share-move', '--witness-net-name=x', '--witness-new-ip=not-an-ip'],
      ['force-response', '--witness-apply-to-all', '--witness-client-computer-name=x'],
      ['list', '--bogus'],
    ];
    for (const args of cases) {
      const samba = await runTool('net', ['-s', conf, 'witness', ...args], { timeoutMs: 30_000, env: cluster!.env(0) });
      const ours = await net(0, args);
      const first = (t: string): string => t.trim().split('\n')[0] ?? '';
      expect([args.join(' '), ours.code]).toEqual([args.join(' '), samba.code]);
      if (samba.code !== 1) expect([args.join(' '), first(ours.out)]).toEqual([args.join(' '), first(samba.stdout)]);
    }
  }, 120_000);

  test('list --json on node 0: every node\'s registrations, vnn = the node holding each', async () => {
    const r = await net(0, ['list', '--json']);
    expect(r).toMatchObject({ code: 0, err: '' });
    const doc = JSON.parse(r.out);
    expect(Object.keys(doc)).toEqual(['filters', 'registrations']);
    const a = doc.registrations[uuid(handles['net-a'])];
    const b = doc.registrations[uuid(handles['net-b'])];
    expect(a).toMatchObject({ version: '0x00010001', net_name: CTDB_SERVER.netbiosName, share_name: null, ip_address: publicIp(0), client_computer_name: 'net-a', server_id: { vnn: 1 } });
    expect(b).toMatchObject({ version: '0x00020000', share_name: CTDB_SERVER.share, ip_address: publicIp(1), timeout: 120, server_id: { vnn: 2 } });
    expect(a.auth).toMatchObject({ account_name: 'demo', domain_name: 'DEMO' });
    expect(a.connection.local_address).toBe(`ipv4:${nodeAddress(1)}:${a.connection.local_address.split(':').pop()}`);
    const text = await net(2, ['list', '--witness-client-computer-name=^net-']);
    expect(text.out.trim().split('\n').slice(2).map((l) => l.slice(0, 36)).sort()).toEqual([uuid(handles['net-a']), uuid(handles['net-b'])].sort());
  });

  test('client-move --witness-client-computer-name=net-a --witness-new-ip=IP: the client held by node 1 is told to go there', async () => {
    const from = await clients[0].send(`AsyncNotify ${handles['net-a']}`);
    await sleep(300);
    const r = await net(0, ['client-move', '--witness-client-computer-name=net-a', `--witness-new-ip=${publicIp(2)}`]);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe(`CLIENT_MOVE_TO_IPV4: ${publicIp(2)}`);
    expect(r.out).toContain(`${uuid(handles['net-a'])} `);
    await clients[0].waitFor(new RegExp(`Client move with 1 messages[\\s\\S]*Flags 0x00000009 ${publicIp(2).replace(/\./g, '\\.')} `, 'i'), 20_000, 'the client move to the new IP', from);
  });

  test('client-move --witness-new-node=2 lists what node 2 hosts; 3–10 s later the default forced unregister ends net-b (real rpcclient: AsyncNotify and UnRegister WERR_NOT_FOUND); force-unregister ends net-a', async () => {
    const j = JSON.parse((await net(1, ['client-move', '--json', '--witness-client-computer-name=net-b', '--witness-new-node=2'])).out);
    expect(j.message).toEqual({ type: 'CLIENT_MOVE_TO_NODE', new_node: 2 });
    expect(Object.keys(j.registrations)).toEqual([uuid(handles['net-b'])]);
    const from = await clients[1].send(`AsyncNotify ${handles['net-b']}`);
    await clients[1].waitFor(new RegExp(`Client move with 1 messages[\\s\\S]*Flags 0x00000009 ${publicIp(2).replace(/\./g, '\\.')} `, 'i'), 20_000, 'a client move to node 2\'s IP', from);
    const movedAt = Date.now();
    // net-b registered for node 1's IP and was sent node 2's: witnessd (on node 2) removes it 5 s later.
    await clients[1].command(`AsyncNotify ${handles['net-b']}`, /result was WERR_NOT_FOUND/, 20_000, 'the pending AsyncNotify ended by the forced unregister');
    const afterMs = Date.now() - movedAt;
    process.stdout.write(`ctdb: forced unregister ended net-b's AsyncNotify ${(afterMs / 1000).toFixed(1)} s after its CLIENT_MOVE\n`);
    expect(afterMs).toBeGreaterThanOrEqual(3_000);
    expect(afterMs).toBeLessThanOrEqual(10_000);
    await clients[1].command(`UnRegister ${handles['net-b']}`, /result was WERR_NOT_FOUND/, 15_000, 'UnRegister of the removed handle');

    const gone = await net(0, ['force-unregister', `--witness-registration=${uuid(handles['net-a'])}`]);
    expect([gone.code, gone.out.split('\n')[0]]).toEqual([0, 'FORCE_UNREGISTER:']);
    const after = JSON.parse((await net(0, ['list', '--json'])).out);
    expect(Object.keys(after.registrations)).toEqual([]);
    await clients[0].command(`AsyncNotify ${handles['net-a']}`, /result was WERR_NOT_FOUND/, 15_000, 'AsyncNotify of the force-unregistered handle');
  }, 60_000);
});
