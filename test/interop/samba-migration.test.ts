/**
 * A running Samba cluster moves from Samba's own Witness service (rpcd_witness behind a
 * standalone samba-dcerpcd) to witnessd, node by node, while clients keep being served
 * (issue 21 item 9; the README's "Moving a Samba cluster from rpcd_witness to witnessd").
 * On the realistic cluster of scripts/lib/netns-cluster.ts, every node starts as a Samba
 * 4.22 cluster node serving its own witness; then, for each node in turn, exactly the
 * README's steps: `ctdb disable` (its IPs move to the others), Samba restarted with
 * on-demand helpers and the two `smb3 share cap:` lines, witnessd started through its event
 * script and the script enabled, `ctdb enable`. After every step every public IP still
 * serves the share (smbclient from the client namespace) and answers GetInterfaceList on
 * 135 (rpcd_witness or witnessd, whichever node holds it); a migrated node's 135 is
 * witnessd's, and its CA share keeps CLUSTER in TREE_CONNECT (0x70: checked by tshark in
 * samba-cluster.test.ts; here smbclient's own view is enough for "served").
 * Cost: one cluster bring-up, then about 1-2 min per node (CTDB's takeover runs).
 */
import { NetnsCluster, waitFor } from '../../scripts/lib/netns-cluster';
import { DEFAULT_SERVER } from '../../scripts/lib/netns-cluster-config';
import * as fs from 'node:fs';
import { describeWithPeers, runTool } from './helpers';

describeWithPeers('rolling migration of a Samba cluster from rpcd_witness to witnessd', ['ctdbd', 'ctdb', 'smbd', 'smbclient', 'rpcclient', 'ip'], () => {
  let c: NetnsCluster | undefined;

  beforeAll(async () => {
    c = await NetnsCluster.start({ witness: 'rpcd_witness' });
  }, 300_000);

  afterAll(async () => {
    await c?.stop();
  }, 60_000);

  const cluster = (): NetnsCluster => {
    if (!c) throw new Error('cluster did not start');
    return c;
  };

  /** Who listens on 135 on node `pnn` (process names). */
  const owners135 = async (pnn: number): Promise<string[]> => {
    const ss = await cluster().exec(pnn, 'ss', ['-Hltnp', 'sport = :135'], { timeoutMs: 10_000 });
    return [...new Set([...ss.stdout.matchAll(/\(\("([^"]+)",pid=(\d+)/g)].map((m) => (Number(m[2]) === cluster().pids(pnn).witnessd ? 'witnessd' : m[1])))];
  };

  /**
   * Every public IP serves the share and answers GetInterfaceList (listing every public IP),
   * wherever CTDB has put it; retried for a while: an IP in flight refuses for a moment.
   */
  const servedEverywhere = async (step: string): Promise<void> => {
    const cl = cluster();
    for (const n of cl.nodes) {
      await waitFor(`${step}: //${n.publicIp}/${DEFAULT_SERVER.share} served`, async () => {
        const r = await cl.exec('client', 'smbclient', ['-s', '/dev/null', `-U${cl.credentials}`, `//${n.publicIp}/${DEFAULT_SERVER.share}`, '-c', 'ls'], { timeoutMs: 30_000 });
        return r.code === 0 ? true : undefined;
      }, 60_000, 500);
      await waitFor(`${step}: GetInterfaceList through ${n.publicIp}`, async () => {
        const r = await cl.exec('client', 'rpcclient', ['-s', '/dev/null', `-U${cl.credentials}`, `ncacn_ip_tcp:${n.publicIp}[sign]`, '-c', 'GetInterfaceList'], { timeoutMs: 30_000 });
        return cl.nodes.every((m) => r.stdout.includes(` ${m.publicIp} `)) ? true : undefined;
      }, 60_000, 500);
    }
  };

  it('starts as a Samba cluster serving its own witness (samba-dcerpcd on 135 on every node)', async () => {
    const cl = cluster();
    for (const n of cl.nodes) expect({ node: n.pnn, on135: await owners135(n.pnn) }).toEqual({ node: n.pnn, on135: ['samba-dcerpcd'] });
    await servedEverywhere('before');
  }, 180_000);

  for (const pnn of [0, 1, 2]) {
    it(`moves node ${pnn} to witnessd while the others keep serving (disable, reconfigure Samba, start witnessd, enable)`, async () => {
      const cl = cluster();
      const others = cl.nodes.filter((n) => n.pnn !== pnn).map((n) => n.pnn);
      // 1. Out of service: CTDB moves its IPs to the other nodes.
      await cl.ctdbOk(pnn, ['disable']);
      await waitFor(`node ${pnn} holds no public IP`, async () => ([...(await cl.ips(others[0])).values()].every((h) => h !== pnn && h >= 0) ? true : undefined), 90_000, 500);
      await servedEverywhere(`node ${pnn} disabled`);
      // 2. Samba: on-demand helpers (samba-dcerpcd leaves 135), the CA share keeps CLUSTER.
      cl.setWitnessKind(pnn, 'witnessd');
      expect(fs.readFileSync(cl.node(pnn).smbConf, 'utf8')).toMatch(/rpc start on demand helpers = yes[^]*smb3 share cap:CONTINUOUS AVAILABILITY = yes\n\s*smb3 share cap:CLUSTER = yes/);
      await cl.stopSamba(pnn);
      await cl.startSamba(pnn);
      // 3. witnessd: started by its event script, then the script enabled for CTDB's events.
      const [cmd, argv] = cl.nodeArgv(pnn, 'env', ['CTDB_BASE=/etc/ctdb', 'sh', '/etc/ctdb/events/legacy/09.witnessd.script', 'startup']);
      const start = await runTool(cmd, argv, { timeoutMs: 120_000 });
      if (start.code !== 0) throw new Error(`09.witnessd.script startup on node ${pnn} failed (${start.code}):\n${start.stdout}${start.stderr}`);
      await cl.ctdbOk(pnn, ['event', 'script', 'enable', 'legacy', '09.witnessd']);
      expect(await owners135(pnn)).toEqual(['witnessd']);
      // 4. Back in service: CTDB gives it an IP again.
      await cl.ctdbOk(pnn, ['enable']);
      await cl.waitCtdbOk(120_000);
      await cl.placeIps();
      await servedEverywhere(`node ${pnn} back on witnessd`);
      expect(await owners135(pnn)).toEqual(['witnessd']);
    }, 420_000);
  }

  it('ends with witnessd on every node and CTDB healthy', async () => {
    const cl = cluster();
    await cl.waitHealthy(60_000);
    for (const n of cl.nodes) {
      expect({ node: n.pnn, on135: await owners135(n.pnn), witnessd: cl.pids(n.pnn).witnessd !== undefined }).toEqual({ node: n.pnn, on135: ['witnessd'], witnessd: true });
    }
  }, 120_000);
});
