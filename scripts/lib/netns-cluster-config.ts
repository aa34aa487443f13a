/**
 * What every node of the netns cluster (./netns-cluster.ts) has on disk: its CTDB_BASE
 * (ctdb.conf, nodes, public_addresses on eth0, the legacy event scripts: CTDB's stock 00,
 * 01, 05 and 10.interface, witnessd's 09.witnessd, an event log), its smb.conf (clustered,
 * one continuously available share on the directory every node shares) and witnessd's YAML.
 * The options a caller passes to shape them are declared here too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { makeSandboxDirs, sandboxGlobals } from './samba-sandbox';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const STOCK_SCRIPTS = '/usr/share/ctdb/events/legacy';
export const WITNESSD_EVENT_SCRIPT = path.join(REPO_ROOT, 'scripts', 'ctdb', 'events', 'legacy', '09.witnessd.script');
/** Logs every CTDB event with its time to CTDB_BASE/events.log; fails monitor while CTDB_BASE/fail-monitor exists. */
export const EVENTS_LOG_SCRIPT = path.join(REPO_ROOT, 'test', 'interop', 'helpers', 'ctdb', '99.events-log.script');

/** Which Witness service a node runs. */
export type WitnessKind = 'witnessd' | 'rpcd_witness' | 'none';

/** The CIFS server the cluster presents, its CA share and the NTLM account (the same on every node). */
export const DEFAULT_SERVER = {
  netbiosName: 'SOFS',
  dnsName: 'sofs.demo.local',
  workgroup: 'DEMO',
  share: 'vmstore',
  account: { domain: 'DEMO', user: 'demo', password: 'demo-password' },
  adminToken: 'netns-cluster-admin-token',
} as const;

/** Fast failure detection (CTDB.md: a killed node is DISCONNECTED in ~0.1 s anyway). */
export const DEFAULT_TUNABLES: Readonly<Record<string, number>> = {
  KeepaliveInterval: 1,
  KeepaliveLimit: 3,
  MonitorInterval: 2,
  // The startup event waits until no recovery ran for this long (default 10 s; measured: the
  // start-up's recoveries kept a node waiting ~37 s before "startup").
  RerecoveryTimeout: 1,
  // witnessd under ts-node takes seconds to start on a busy two-core machine.
  EventScriptTimeout: 90,
};

export interface ClusterNode {
  readonly pnn: number;
  /** Its namespace, and its host name in the lab (n0, n1, ...). */
  readonly ns: string;
  readonly hostName: string;
  /** Node (private) address on eth0: CTDB's `nodes` entry, the admin API's address. */
  readonly address: string;
  /** The public IP the node hosts in the balanced placement (public IP i on node i). */
  readonly publicIp: string;
  readonly dir: string;
  /**
   * The node's /etc/ctdb, /run/ctdb and /var/lib/ctdb, bind-mounted over those paths in the
   * node's own mount namespace (see nodeArgv): ctdbd, its event scripts and the ctdb tool
   * there use the stock paths, as on a real node.
   */
  readonly ctdbEtc: string;
  readonly ctdbRun: string;
  readonly ctdbVar: string;
  /** smbd's sandbox: lock/state/cache/private/pid/ncalrpc/binddns dirs, log/, smb.conf. */
  readonly sambaDir: string;
  readonly smbConf: string;
  witness: WitnessKind;
}

/** What the config writers need from the cluster. */
export interface ClusterLayoutView {
  readonly dir: string;
  readonly nodes: readonly ClusterNode[];
  readonly opts: NetnsClusterOptions;
  ctdbSocket(pnn: number): string;
}

export interface NetnsClusterOptions {
  /** Number of nodes (default 3). */
  readonly nodes?: number;
  /** Namespace prefix (default `wt<pid>-`) and bridge /24 (default from the PID): ./netns.ts. */
  readonly prefix?: string;
  readonly subnet?: string;
  /** Witness service per node, or one for all (default 'witnessd'). */
  readonly witness?: WitnessKind | readonly WitnessKind[];
  /** Start smbd on every node (default true). */
  readonly smbd?: boolean;
  /** Extra host namespaces on the bridge (e.g. ['dc'] for the AD DC), addresses .200, .201, ... */
  readonly extraHosts?: readonly string[];
  /**
   * Put the calling process's own namespace on the bridge (default: when it is a private
   * one, as under the interop layer), so it can reach node addresses directly.
   */
  readonly joinCaller?: boolean;
  readonly tunables?: Readonly<Record<string, number>>;
  readonly ctdbLogLevel?: string;
  /** Extra environment for ctdbd and so its event scripts. */
  readonly ctdbEnv?: NodeJS.ProcessEnv;
  /** Extra legacy event scripts (files), enabled on every node. */
  readonly eventScripts?: readonly string[];
  readonly account?: { readonly domain: string; readonly user: string; readonly password: string };
  /** Extra [global] lines per node (after the harness's own; later lines win in smb.conf). */
  readonly smbGlobal?: (node: ClusterNode) => readonly string[];
  /**
   * Domain members (an AD DC among `extraHosts`): every node also runs winbindd beside smbd,
   * which asks it for every domain user. Both start from one shell in the node's mount
   * namespace, over a /run/samba of the node's own (libwbclient finds winbindd at the
   * compiled-in /run/samba/winbindd, which the nodes would otherwise share), with `binds`
   * (file → path, e.g. the realm's hosts and resolv.conf) bind-mounted first. Join the domain
   * in `beforeSmbd` (smb.conf's member lines go in `smbGlobal`).
   */
  readonly member?: { readonly binds?: (node: ClusterNode) => Readonly<Record<string, string>> };
  /** Extra lines in the CA share's section. */
  readonly smbShare?: (node: ClusterNode) => readonly string[];
  /** Extra smb.conf sections (whole lines, e.g. another share) after the CA share. */
  readonly smbExtra?: (node: ClusterNode) => readonly string[];
  /** witnessd's YAML for a node: receives the harness's document, returns the one to write. */
  readonly witnessdConfig?: (node: ClusterNode, doc: Record<string, unknown>) => Record<string, unknown>;
  /** Called per node after its layout is written, before any ctdbd starts. */
  readonly beforeCtdb?: (node: ClusterNode, cluster: unknown) => void | Promise<void>;
  /** Called per node once CTDB is healthy, before Samba starts (edit smb.conf, join a domain). */
  readonly beforeSmbd?: (node: ClusterNode, cluster: unknown) => void | Promise<void>;
  /** Bound on each start-up wait (default 120 s). */
  readonly startTimeoutMs?: number;
  /** Parent of the cluster's temp directory (default os.tmpdir()). */
  readonly parentDir?: string;
}

export const shareDir = (c: ClusterLayoutView): string => path.join(c.dir, 'shared', DEFAULT_SERVER.share);

/** witnessd's YAML for one node: CTDB source, the CA share, the account, clusapi for smbtorture. */
export function witnessdYaml(c: ClusterLayoutView, n: ClusterNode): Record<string, unknown> {
  const a = c.opts.account ?? DEFAULT_SERVER.account;
  const doc: Record<string, unknown> = {
    cluster: {
      source: 'ctdb',
      server: { netbiosName: DEFAULT_SERVER.netbiosName, dnsName: DEFAULT_SERVER.dnsName, aliases: [] },
      shares: [{ name: DEFAULT_SERVER.share, continuouslyAvailable: true }],
      // The peer watch probes every node's smbd and hears the other witnessd instances
      // (README "Faster than CTDB"); without smbd it would find every node refused.
      peerWatch: { enabled: c.opts.smbd !== false },
    },
    listener: { witnessPort: 0, epmPort: 135 },
    admin: { token: DEFAULT_SERVER.adminToken },
    auth: { minimumLevel: 'integrity', allowAnonymous: true, accounts: [{ domain: a.domain, user: a.user, password: a.password }] },
    // The single-node watcher judges alone (no majority): in CTDB mode the peer watch probes.
    watcher: { mode: 'simulated' },
    logging: { level: 'info' },
    clusapi: { allowAnonymous: true },
  };
  return c.opts.witnessdConfig ? c.opts.witnessdConfig(n, doc) : doc;
}

/**
 * smb.conf of one node. Clustered (`clustering = yes` on the node's ctdbd socket), one
 * NetBIOS name for the whole cluster, state per node, smbd on the wildcard (the node's own
 * namespace: its address and whatever public IPs CTDB puts on eth0). The CA share announces
 * CONTINUOUS_AVAILABILITY and CLUSTER explicitly (source3/smbd/smb2_tcon.c: CA defaults to
 * off, CLUSTER to `clustering && !rpc start on demand helpers`, SCALEOUT to `clustering`).
 * rpcd_witness needs samba-dcerpcd standalone (`rpc start on demand helpers = no`), which
 * then owns port 135; with witnessd, smbd starts samba-dcerpcd on demand for its named
 * pipes only, and witnessd's endpoint mapper has 135.
 */
export function smbConf(c: ClusterLayoutView, n: ClusterNode): string {
  return [
    '[global]',
    '  server role = standalone server',
    `  workgroup = ${DEFAULT_SERVER.workgroup}`,
    `  netbios name = ${DEFAULT_SERVER.netbiosName}`,
    '  clustering = yes',
    `  ctdbd socket = ${c.ctdbSocket(n.pnn)}`,
    `  rpc start on demand helpers = ${n.witness === 'rpcd_witness' ? 'no' : 'yes'}`,
    ...sandboxGlobals(n.sambaDir),
    `  log file = ${n.sambaDir}/log/log.%m`,
    '  log level = 1',
    '  smb ports = 445',
    '  server min protocol = SMB2_02',
    `  username map = ${n.sambaDir}/usermap`,
    ...(c.opts.smbGlobal?.(n) ?? []),
    '',
    `[${DEFAULT_SERVER.share}]`,
    `  path = ${shareDir(c)}`,
    '  read only = no',
    '  guest ok = yes',
    '  smb3 share cap:CONTINUOUS AVAILABILITY = yes',
    '  smb3 share cap:CLUSTER = yes',
    ...(c.opts.smbShare?.(n) ?? []),
    '',
    ...(c.opts.smbExtra?.(n) ?? []),
    '',
  ].join('\n');
}

function ctdbConf(c: ClusterLayoutView, n: ClusterNode): string {
  const b = n.ctdbVar;
  return [
    '[logging]',
    `\tlocation = file:${n.dir}/log.ctdb`,
    `\tlog level = ${c.opts.ctdbLogLevel ?? 'NOTICE'}`,
    '[cluster]',
    `\tcluster lock = ${c.dir}/shared/cluster.lock`,
    `\tnode address = ${n.address}`,
    '[database]',
    `\tvolatile database directory = ${b}/db/volatile`,
    `\tpersistent database directory = ${b}/db/persistent`,
    `\tstate database directory = ${b}/db/state`,
    '[event]',
    '\tdebug script = debug-hung-script.sh',
    '[legacy]',
    '\trealtime scheduling = false',
    '\tscript log level = NOTICE',
    '',
  ].join('\n');
}

function installScript(from: string, legacy: string, name: string, enabled: boolean): void {
  const to = path.join(legacy, name);
  fs.rmSync(to, { force: true });
  fs.copyFileSync(from, to);
  // CTDB runs a legacy script only when it is executable (`ctdb event script enable` sets the bit).
  fs.chmodSync(to, enabled ? 0o755 : 0o644);
}

/**
 * Write node `n`'s CTDB_BASE, Samba sandbox and witnessd YAML. With `eventScriptsOnly`, only
 * witnessd's files (a node changing its Witness service; the event script is left as it is).
 */
export function layOutNode(c: ClusterLayoutView, n: ClusterNode, o: { eventScriptsOnly?: boolean } = {}): void {
  const b = n.ctdbEtc;
  const legacy = path.join(b, 'events', 'legacy');
  if (!o.eventScriptsOnly) {
    fs.mkdirSync(n.ctdbRun, { recursive: true });
    for (const d of ['scripts', 'db/volatile', 'db/persistent', 'db/state']) fs.mkdirSync(path.join(n.ctdbVar, d), { recursive: true });
    fs.mkdirSync(path.join(c.dir, 'shared'), { recursive: true });
    fs.mkdirSync(shareDir(c), { recursive: true });
    fs.chmodSync(shareDir(c), 0o1777);
    for (const d of ['events/legacy', 'events/notification']) fs.mkdirSync(path.join(b, d), { recursive: true });
    fs.writeFileSync(path.join(b, 'nodes'), c.nodes.map((x) => `${x.address}\n`).join(''));
    fs.writeFileSync(path.join(b, 'public_addresses'), c.nodes.map((x) => `${x.publicIp}/24 eth0\n`).join(''));
    // Copies, not links: inside the node /etc/ctdb IS this directory.
    for (const f of ['functions', 'debug-hung-script.sh', 'debug_locks.sh', 'notify.sh']) {
      if (fs.existsSync(path.join('/etc/ctdb', f))) fs.copyFileSync(path.join('/etc/ctdb', f), path.join(b, f));
    }
    for (const s of ['00.ctdb', '01.reclock', '05.system', '10.interface']) {
      fs.symlinkSync(path.join(STOCK_SCRIPTS, `${s}.script`), path.join(legacy, `${s}.script`));
    }
    installScript(EVENTS_LOG_SCRIPT, legacy, '99.events-log.script', true);
    for (const s of c.opts.eventScripts ?? []) installScript(s, legacy, path.basename(s), true);
    const tunables = { ...DEFAULT_TUNABLES, ...(c.opts.tunables ?? {}) };
    fs.writeFileSync(path.join(b, 'ctdb.tunables'), Object.entries(tunables).map(([k, v]) => `${k}=${v}\n`).join(''));
    fs.writeFileSync(path.join(b, 'ctdb.conf'), ctdbConf(c, n));
    makeSandboxDirs(n.sambaDir, ['log']);
    fs.writeFileSync(path.join(n.sambaDir, 'usermap'), `nobody = ${(c.opts.account ?? DEFAULT_SERVER.account).user}\n`);
    fs.writeFileSync(n.smbConf, smbConf(c, n));
  }
  // witnessd: always installed, enabled only where it serves. A node changing its service later
  // keeps the script's state: `ctdb event script enable legacy 09.witnessd` is the admin's step.
  if (!o.eventScriptsOnly || !fs.existsSync(path.join(legacy, '09.witnessd.script'))) {
    installScript(WITNESSD_EVENT_SCRIPT, legacy, '09.witnessd.script', n.witness === 'witnessd');
  }
  const yaml = path.join(n.dir, 'witnessd.yaml');
  fs.writeFileSync(yaml, stringify(witnessdYaml(c, n)));
  fs.writeFileSync(path.join(b, 'script.options'), [
    `CTDB_WITNESSD_CONFIG=${yaml}`,
    `CTDB_WITNESSD_BIN=${path.join(REPO_ROOT, 'scripts', 'bin', 'witnessd.js')}`,
    `CTDB_WITNESSD_NODE=${process.execPath}`,
    `CTDB_WITNESSD_LOG=${path.join(n.dir, 'witnessd.log')}`,
    `CTDB_WITNESSD_TOKEN=${DEFAULT_SERVER.adminToken}`,
    'CTDB_WITNESSD_START_TIMEOUT=80',
    '',
  ].join('\n'));
}
