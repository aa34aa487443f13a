/**
 * The realistic cluster of scripts/lib/netns-cluster.ts, end to end with real peers (issue 21
 * item 1): three nodes, each in its own network namespace with ctdbd 4.22 (CTDB's stock
 * 10.interface moving the public IPs on eth0), a clustered smbd 4.22 and witnessd started by
 * its CTDB event script; the clients (smbclient, rpcclient) run in the client namespace and
 * reach the cluster only through the public IPs.
 * - every node OK, its daemons running, public IP i on node i's eth0 (the kernel says so);
 * - smbclient writes a file through one public IP and reads it back through every other
 *   one (one CA share on the directory the nodes share);
 * - rpcclient GetInterfaceList through a public IP lists every public IP, and what answers
 *   on port 135 there is witnessd (the socket's owner in the node's namespace);
 * - `ctdb moveip` moves node 0's IP to node 1: the address leaves node 0's eth0, appears on
 *   node 1's, and the client's next connection lands on node 1 (its neighbour entry for
 *   the IP now carries node 1's MAC, CTDB's gratuitous ARP) and is served there.
 * Cost: one cluster bring-up (≈30-60 s on a loaded two-core machine), then seconds per test.
 */
import * as fs from 'node:fs';
import { NetnsCluster, waitFor } from '../../scripts/lib/netns-cluster';
import { describeWithPeers } from './helpers';

const SHARE = 'vmstore';

describeWithPeers('a three-node Samba CTDB cluster, one network namespace per node (smbd, ctdbd, witnessd)', ['ctdbd', 'ctdb', 'smbd', 'smbclient', 'rpcclient', 'ip'], () => {
  let c: NetnsCluster | undefined;

  beforeAll(async () => {
    c = await NetnsCluster.start();
    process.stderr.write(`netns cluster up in ${c.timings.total} ms (${JSON.stringify(c.timings)})\n`);
  }, 300_000);

  afterAll(async () => {
    await c?.stop();
  }, 60_000);

  const cluster = (): NetnsCluster => {
    if (!c) throw new Error('cluster did not start');
    return c;
  };

  /** smbclient in the client namespace against //IP/vmstore. */
  const smbclient = (ip: string, commands: string, cwd?: string) =>
    cluster().exec('client', 'smbclient', ['-s', '/dev/null', `-U${cluster().credentials}`, `//${ip}/${SHARE}`, '-c', commands], { timeoutMs: 60_000, cwd });

  it('has every node OK, its daemons running, and public IP i on node i\'s eth0', async () => {
    const cl = cluster();
    const st = await cl.status(0);
    expect(st.map((s) => [s.pnn, s.ok])).toEqual([[0, true], [1, true], [2, true]]);
    for (const n of cl.nodes) {
      const pids = cl.pids(n.pnn);
      expect({ node: n.pnn, ctdbd: !!pids.ctdbd, smbd: !!pids.smbd, witnessd: !!pids.witnessd }).toEqual({ node: n.pnn, ctdbd: true, smbd: true, witnessd: true });
      const mine = await cl.addressesOn(n.pnn);
      expect(mine).toEqual(expect.arrayContaining([n.address, n.publicIp]));
      for (const other of cl.nodes) if (other !== n) expect(mine).not.toContain(other.publicIp);
    }
  }, 60_000);

  it('serves one share through every public IP: a file written through one is read through the others', async () => {
    const cl = cluster();
    const name = `hello-${process.pid}.txt`;
    const local = `${cl.dir}/${name}`;
    fs.writeFileSync(local, 'written through node 0\n');
    const put = await smbclient(cl.publicIp(0), `put ${local} ${name}`);
    expect(put.code).toBe(0);
    for (const n of cl.nodes) {
      const r = await smbclient(n.publicIp, `ls ${name}`);
      expect({ ip: n.publicIp, code: r.code, listed: r.stdout.includes(name) }).toEqual({ ip: n.publicIp, code: 0, listed: true });
    }
  }, 120_000);

  it('answers GetInterfaceList through a public IP from witnessd, which owns port 135 there', async () => {
    const cl = cluster();
    const ip = cl.publicIp(2);
    const r = await cl.exec('client', 'rpcclient', ['-s', '/dev/null', `-U${cl.credentials}`, `ncacn_ip_tcp:${ip}[sign]`, '-c', 'GetInterfaceList'], { timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/failed|error/i);
    for (const n of cl.nodes) expect(r.stdout).toContain(` ${n.publicIp} `);
    const ss = await cl.exec(2, 'ss', ['-Hltnp', `sport = :135`], { timeoutMs: 10_000 });
    const owners = [...ss.stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    expect(owners.length).toBeGreaterThan(0);
    expect(new Set(owners)).toEqual(new Set([cl.pids(2).witnessd]));
  }, 60_000);

  it('moves a public IP with `ctdb moveip`: it leaves node 0, appears on node 1, and the client is served there', async () => {
    const cl = cluster();
    const ip = cl.publicIp(0);
    await cl.ctdbOk(0, ['moveip', ip, '1']);
    try {
      await waitFor(`${ip} on node 1 in ctdb ip`, async () => ((await cl.ips(2)).get(ip) === 1 ? true : undefined), 30_000);
      expect(await cl.addressesOn(1)).toContain(ip);
      expect(await cl.addressesOn(0)).not.toContain(ip);
      const r = await smbclient(ip, 'ls');
      expect(r.code).toBe(0);
      const mac1 = (await cl.exec(1, 'cat', ['/sys/class/net/eth0/address'], { timeoutMs: 5000 })).stdout.trim();
      const neigh = (await cl.exec('client', 'ip', ['neigh', 'show', ip], { timeoutMs: 5000 })).stdout;
      expect(neigh).toContain(mac1);
    } finally {
      await cl.ctdb(0, ['moveip', ip, '0']);
      await waitFor(`${ip} back on node 0`, async () => ((await cl.ips(2)).get(ip) === 0 ? true : undefined), 30_000).catch(() => undefined);
    }
  }, 120_000);
});
