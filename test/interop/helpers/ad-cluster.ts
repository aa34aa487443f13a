/**
 * The netns cluster (scripts/lib/netns-cluster.ts) as ONE clustered member of the test AD DC
 * (scripts/lib/ad-dc.ts, realm DEMO.LOCAL), the DC being the lab's extra host `dc` on the bridge:
 * - every node: `security = ads`, winbindd beside smbd (the harness's `member` option), the
 *   node's own /etc/hosts, /etc/resolv.conf (the DC's DNS) and /etc/krb5.conf;
 * - joined ONCE, from node 0 (`net ads join`): the machine password lives in CTDB's persistent
 *   secrets.tdb, so every node has it; node 0 adds the SPNs clusapi clients ask for
 *   (MSServerClusterMgmtAPI/, as a Windows cluster name object has them);
 * - witnessd's keytab per node is Samba's (`sync machine password to keytab`: host/, cifs/ and
 *   MSServerClusterMgmtAPI/ for the NetBIOS and DNS names, sync_kvno), written on node 0 by the
 *   join and on the others by `net ads keytab create`, and rewritten on EVERY node after a
 *   machine-password change by `sync machine password script`: here a script that runs
 *   `net ads keytab create` in each node's namespace, the stand-in for Samba's
 *   winbind_ctdb_updatekeytab.sh (`onnode -p connected`, which needs ssh between nodes);
 * - witnessd (Kerberos only) starts once its keytab exists: each node's 09.witnessd event
 *   script is enabled then and run for `startup`, as CTDB runs it.
 * Kerberos clients run in the client namespace with the realm's krb5.conf and a hosts file
 * naming the cluster (sofs.demo.local) by ONE node's public IP: the SPN is the name the client
 * connects to, so clients use names, never addresses (as DNS round robin gives a Windows host).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEMO_REALM, startAdDc, type AdDc } from '../../../scripts/lib/ad-dc';
import { DEFAULT_SERVER, NetnsCluster, type ClusterNode } from '../../../scripts/lib/netns-cluster';
import { parseKeytab } from '../../../src/auth/krb5/keytab';
import { KRB_USERS } from './kerberos';
import { runTool, type ToolResult } from './process';

const ADMIN = 'Administrator%Adm1n-Passw0rd!';
/** The SPN services of the keytab: Witness clients (cifs/, host/) and clusapi clients. */
export const KEYTAB_SERVICES = ['host', 'cifs', 'MSServerClusterMgmtAPI'] as const;
export const CLUSTER_NAME = DEFAULT_SERVER.dnsName;

export interface MemberCluster {
  readonly cluster: NetnsCluster;
  readonly dc: AdDc;
  /** Seconds per phase. */
  readonly timings: Record<string, number>;
  /** witnessd's keytab on node `pnn` (Samba writes it). */
  keytab(pnn: number): string;
  /** The kvnos in node `pnn`'s keytab now. */
  keytabKvnos(pnn: number): number[];
  /** `net ARGS` on node `pnn` (its namespace, hosts, resolv.conf, krb5.conf), against its smb.conf. */
  net(pnn: number, args: readonly string[], timeoutMs?: number): Promise<ToolResult>;
  /** A TGT for alice in a fresh ccache (so the next service ticket is fetched anew). */
  kinitAlice(): Promise<string>;
  /** Run `cmd` in the client namespace, where sofs.demo.local is node `pnn`'s public IP. */
  client(pnn: number, cmd: string, args: readonly string[], o: { ccache: string; timeoutMs: number; cwd?: string }): Promise<ToolResult>;
  stop(): Promise<void>;
}

const since = (t: number): number => Math.round((Date.now() - t) / 100) / 10;
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `mount --bind` lines, then exec "$@" (inside `ip netns exec`, which gives a private mount namespace). */
function withBinds(binds: Readonly<Record<string, string>>, cmd: string, args: readonly string[]): [string, string[]] {
  const mounts = Object.entries(binds).map(([from, to]) => `mount --bind ${q(from)} ${q(to)}`).join(' && ');
  return ['sh', ['-c', `${mounts} && exec "$@"`, cmd, cmd, ...args]];
}

export async function startMemberCluster(): Promise<MemberCluster> {
  const timings: Record<string, number> = {};
  let dc: AdDc | undefined;
  let dcStarting: Promise<AdDc> | undefined;
  let cl: NetnsCluster | undefined;
  const t0 = Date.now();
  const keytab = (n: ClusterNode): string => path.join(n.dir, 'witnessd.keytab');
  const nodeFiles = (n: ClusterNode): Record<string, string> => ({
    [path.join(n.dir, 'hosts')]: '/etc/hosts',
    [path.join(n.dir, 'resolv.conf')]: '/etc/resolv.conf',
    [dc!.krb5Conf]: '/etc/krb5.conf',
  });
  const net = (c: NetnsCluster, n: ClusterNode, args: readonly string[], timeoutMs = 60_000): Promise<ToolResult> =>
    c.exec(n.pnn, ...withBinds(nodeFiles(n), 'net', [...args, '-s', n.smbConf]), { timeoutMs });
  const must = <R extends { code: number | null; stdout: string; stderr: string }>(r: R, what: string): R => {
    if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    return r;
  };

  try {
    cl = await NetnsCluster.start({
      witness: 'none', // until the keytabs exist (below)
      extraHosts: ['dc'],
      member: { binds: nodeFiles },
      smbGlobal: (n) => [
        '  server role = member server',
        '  security = ads',
        `  realm = ${DEMO_REALM.realm}`,
        '  idmap config * : backend = tdb',
        '  idmap config * : range = 1000000-1999999',
        `  idmap config ${DEMO_REALM.domain} : backend = rid`,
        `  idmap config ${DEMO_REALM.domain} : range = 2000000-2999999`,
        // A list parameter: the quotes keep the commas of spn_prefixes inside one entry.
        `  sync machine password to keytab = "${keytab(n)}:spn_prefixes=${KEYTAB_SERVICES.join(',')}:sync_kvno:machine_password"`,
        `  sync machine password script = ${path.join(path.dirname(n.dir), 'update-keytabs.sh')}`,
      ],
      witnessdConfig: (n, doc) => ({
        ...doc,
        // The peer watch, patient: on a loaded two-core machine a healthy node's smbd stalled
        // past the probe defaults and was announced down to the clients that
        // AsyncNotify_timeouts keeps waiting for eight minutes (failure detection is not what
        // this file tests).
        cluster: { ...(doc.cluster as object), peerWatch: { enabled: true, probeTimeoutMs: 3000, silenceMs: 15_000 } },
        auth: { minimumLevel: 'integrity', allowAnonymous: false, ntlm: false, kerberos: { keytab: keytab(n) } },
        clusapi: { allowAnonymous: false },
      }),
      beforeCtdb: (n, c) => {
        // The DC provisions while CTDB comes up; the join (beforeSmbd) waits for it.
        if (n.pnn !== 0) return;
        const host = (c as NetnsCluster).hosts.dc;
        const t = Date.now();
        dcStarting = startAdDc({ netns: host.ns, dcAddress: host.address, users: [[KRB_USERS.alice.name, KRB_USERS.alice.password]] })
          .then((d) => { timings.dc = since(t); dc = d; return d; });
        dcStarting.catch(() => undefined);
      },
      beforeSmbd: async (n, c) => {
        const cluster = c as NetnsCluster;
        const d = await dcStarting!;
        if (n.pnn === 0) {
          // Every node's files first: the join already runs `sync machine password script`.
          const dcLine = `${d.dcAddress} ${DEMO_REALM.dcName}.${DEMO_REALM.dnsDomain} ${DEMO_REALM.dcName}`;
          for (const x of cluster.nodes) {
            fs.writeFileSync(path.join(x.dir, 'hosts'), `127.0.0.1 localhost\n${dcLine}\n`);
            fs.writeFileSync(path.join(x.dir, 'resolv.conf'), `nameserver ${d.dcAddress}\n`);
          }
          writeUpdateScript(cluster, nodeFiles);
          const t = Date.now();
          must(await net(cluster, n, ['ads', 'join', `-U${ADMIN}`, '--no-dns-updates'], 120_000), 'net ads join');
          for (const name of [DEFAULT_SERVER.dnsName, DEFAULT_SERVER.netbiosName]) {
            must(await net(cluster, n, ['ads', 'setspn', 'add', DEFAULT_SERVER.netbiosName, `MSServerClusterMgmtAPI/${name}`, `-U${ADMIN}`]), 'net ads setspn add');
          }
          timings.join = since(t);
        } else {
          // Written by the join's `sync machine password script` already; this is the step an
          // administrator runs on the other nodes (and what CTDB's 46.update-keytabs does).
          must(await net(cluster, n, ['ads', 'keytab', 'create', '--option=sync machine password script=']), `net ads keytab create on node ${n.pnn}`);
        }
      },
    });
    const c = cl;
    timings.cluster = since(t0);
    // Now that every keytab exists: witnessd on every node, started by its event script as
    // CTDB's startup event does; the script is enabled (monitor) only once all run, or a node
    // whose witnessd is still starting turns UNHEALTHY and its IP moves.
    const t = Date.now();
    await Promise.all(c.nodes.map(async (n) => {
      const [cmd, argv] = c.nodeArgv(n.pnn, 'sh', ['/etc/ctdb/events/legacy/09.witnessd.script', 'startup']);
      must(await runTool(cmd, argv, { timeoutMs: 120_000, env: { ...process.env, CTDB_BASE: '/etc/ctdb' } }), `09.witnessd.script startup on node ${n.pnn}`);
    }));
    for (const n of c.nodes) c.setWitnessKind(n.pnn, 'witnessd');
    await c.waitHealthy(120_000);
    await c.placeIps();
    timings.witnessd = since(t);
    timings.total = since(t0);
    const d = dc!;
    const clientHosts = (pnn: number): string => {
      const f = path.join(c.dir, `client-hosts.${pnn}`);
      fs.writeFileSync(f, `127.0.0.1 localhost\n${d.dcAddress} ${DEMO_REALM.dcName}.${DEMO_REALM.dnsDomain}\n${c.publicIp(pnn)} ${CLUSTER_NAME} ${DEFAULT_SERVER.netbiosName.toLowerCase()}\n`);
      return f;
    };
    let kinits = 0;
    return {
      cluster: c,
      dc: d,
      timings,
      keytab: (pnn) => keytab(c.node(pnn)),
      keytabKvnos: (pnn) => [...new Set(parseKeytab(fs.readFileSync(keytab(c.node(pnn)))).map((e) => e.kvno))].sort((a, b) => a - b),
      net: (pnn, args, timeoutMs) => net(c, c.node(pnn), args, timeoutMs),
      async kinitAlice() {
        const cc = path.join(d.dir, `ccache-alice-${++kinits}`);
        must(await d.run('kinit', [`${KRB_USERS.alice.name}@${DEMO_REALM.realm}`], { input: `${KRB_USERS.alice.password}\n`, env: d.env(cc), timeoutMs: 30_000 }), 'kinit alice');
        return cc;
      },
      client: (pnn, cmd, args, o) => {
        const binds = { [clientHosts(pnn)]: '/etc/hosts', [path.join(d.dir, 'resolv.conf')]: '/etc/resolv.conf' };
        return c.exec('client', ...withBinds(binds, cmd, args), { timeoutMs: o.timeoutMs, cwd: o.cwd, env: d.env(o.ccache) });
      },
      async stop() {
        await c.stop();
        await d.stop();
      },
    };
  } catch (e) {
    await cl?.stop();
    await (dc ?? (await dcStarting?.catch(() => undefined)))?.stop();
    throw e;
  }
}

/**
 * `sync machine password script` for every node: what Samba's winbind_ctdb_updatekeytab.sh does
 * (`onnode -p connected "net ads keytab create --option='sync machine password script='"`),
 * with `ip netns exec` for onnode's ssh. The empty option stops the script calling itself.
 */
function writeUpdateScript(c: NetnsCluster, files: (n: ClusterNode) => Record<string, string>): void {
  const lines = ['#!/bin/sh', '# Rewrite witnessd\'s keytab on every node after a machine-password change.', 'rc=0'];
  for (const n of c.nodes) {
    const [sh, argv] = withBinds(files(n), 'net', ['ads', 'keytab', 'create', '-s', n.smbConf, '--option=sync machine password script=']);
    lines.push(`ip netns exec ${q(n.ns)} ${[sh, ...argv].map(q).join(' ')} || rc=1`);
  }
  lines.push('exit $rc', '');
  const f = path.join(c.dir, 'update-keytabs.sh');
  fs.writeFileSync(f, lines.join('\n'));
  fs.chmodSync(f, 0o755);
}
