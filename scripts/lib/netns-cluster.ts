/**
 * A realistic Samba CTDB cluster on one host, for tests and benchmarks (issue 21 item 1):
 * N nodes (default 3), each in its own network namespace on a bridge (./netns.ts), plus a
 * client namespace and optional extra hosts (an AD DC). Per node: ctdbd 4.22 with CTDB's
 * STOCK 10.interface moving the public IPs on the node's eth0, a clustered smbd 4.22 serving
 * one continuously available share from a directory every node shares (the stand-in for a
 * cluster file system), and a Witness service: witnessd started by its CTDB event script
 * (scripts/ctdb/events/legacy/09.witnessd.script), or Samba's own rpcd_witness
 * (samba-dcerpcd standalone), or none. Everything a daemon keeps on disk is per node under
 * one temp directory (CTDB_BASE, smbd's lock/state/private/ncalrpc dirs, witnessd's YAML).
 *
 * ctdbd runs with CTDB_TEST_MODE=yes (every path under CTDB_BASE; it exits when stdin hits
 * EOF, so stdin is a FIFO it holds open) and --interactive, in a process group of its own.
 * Every daemon is spawned by PID through `ip netns exec` (which execs in place); stop() and
 * an emergency exit end only those PIDs, the processes whose command line names this
 * cluster's directory (samba-dcerpcd started on demand, witnessd), and this run's namespaces.
 * Layout, smb.conf and witnessd's YAML: ./netns-cluster-config.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseIps, parseStatus, type NodeStatus } from '../../test/interop/helpers/ctdb-cluster';
import { inPrivateNetns } from '../../test/interop/helpers/peers';
import { onEmergencyExit, runTool, startTool, type RunningTool, type ToolResult } from '../../test/interop/helpers/process';
import { alive, connectOnce, logTails, pidsMentioning, settled, signalGroup, waitFor } from './netns-cluster-procs';
import { NetnsLab, type LabHost } from './netns';
import { DEFAULT_SERVER, layOutNode, smbConf, type ClusterNode, type NetnsClusterOptions, type WitnessKind } from './netns-cluster-config';

export type { ClusterNode, NetnsClusterOptions, WitnessKind } from './netns-cluster-config';
export { DEFAULT_SERVER } from './netns-cluster-config';
export { waitFor } from './netns-cluster-procs';

/** The daemons of one node that kill()/pids() name. */
export type NodeProcess = 'ctdbd' | 'smbd' | 'witnessd' | 'samba-dcerpcd';
/** Where a command runs: a node (PNN), the client namespace, or an extra host by name. */
export type Where = number | 'client' | string;

/** Host numbers on the bridge's /24 (NetnsLab.addr). */
const NODE_HOST = (pnn: number): number => 1 + pnn;
const PUBLIC_HOST = (i: number): number => 31 + i;
const CLIENT_HOST = 100;
const CALLER_HOST = 254;
const EXTRA_HOST = (k: number): number => 200 + k;

export class NetnsCluster {
  readonly lab: NetnsLab;
  readonly nodes: ClusterNode[] = [];
  client!: LabHost;
  /** Extra hosts on the bridge (e.g. the AD DC), by name. */
  readonly hosts: Record<string, LabHost> = {};
  /** The caller's own address on the bridge, when it joined (see NetnsClusterOptions.joinCaller). */
  callerAddress: string | undefined;
  /** ms from start() to healthy, and per phase. */
  readonly timings: Record<string, number> = {};
  private readonly ctdbd: Array<ChildProcess | undefined> = [];
  private readonly smbd: Array<ChildProcess | undefined> = [];
  private readonly dcerpcd: Array<ChildProcess | undefined> = [];
  private readonly unregisterEmergency: () => void;
  private stopped = false;
  /** The shell that cleans up if this process dies without stop() (NetnsLab.startWatchdog). */
  private watchdog: number | undefined;

  private constructor(readonly dir: string, readonly opts: NetnsClusterOptions) {
    this.lab = new NetnsLab({ prefix: opts.prefix, subnet: opts.subnet });
    this.unregisterEmergency = onEmergencyExit(() => this.emergencyStop());
  }

  /** The namespaces: hub and bridge, one per node, the client, the extra hosts, the caller's link. */
  private build(): void {
    const { dir, opts } = this;
    this.lab.createHub();
    const n = opts.nodes ?? 3;
    const kinds = typeof opts.witness === 'string' || opts.witness === undefined ? Array<WitnessKind>(n).fill(opts.witness ?? 'witnessd') : opts.witness;
    if (kinds.length !== n) throw new Error(`witness: ${kinds.length} kinds for ${n} nodes`);
    for (let i = 0; i < n; i++) {
      const host = this.lab.addHost(`n${i}`, this.lab.addr(NODE_HOST(i)));
      const base = path.join(dir, `node.${i}`);
      this.nodes.push({
        pnn: i, ns: host.ns, hostName: host.name, address: host.address, publicIp: this.lab.addr(PUBLIC_HOST(i)),
        dir: base, ctdbEtc: path.join(base, 'etc-ctdb'), ctdbRun: path.join(base, 'run-ctdb'), ctdbVar: path.join(base, 'var-ctdb'), sambaDir: path.join(base, 'samba'), smbConf: path.join(base, 'samba', 'smb.conf'),
        witness: kinds[i],
      });
    }
    this.client = this.lab.addHost('client', this.lab.addr(CLIENT_HOST));
    (opts.extraHosts ?? []).forEach((name, k) => (this.hosts[name] = this.lab.addHost(name, this.lab.addr(EXTRA_HOST(k)))));
    const join = opts.joinCaller ?? inPrivateNetns();
    if (join) this.lab.joinCaller(this.lab.addr(CALLER_HOST), inPrivateNetns());
    this.callerAddress = join ? this.lab.addr(CALLER_HOST) : undefined;
  }

  /**
   * Build the namespaces, lay out every node, start ctdbd everywhere, wait for all nodes OK
   * with public IP i on node i, then start Samba (smbd; samba-dcerpcd where rpcd_witness
   * serves) and wait until every node answers SMB and the Witness endpoint mapper.
   * Preconditions: root, ctdbd/smbd installed. On failure everything started is stopped.
   */
  static async start(opts: NetnsClusterOptions = {}): Promise<NetnsCluster> {
    if (process.getuid?.() !== 0) throw new Error('a netns cluster needs root');
    const t0 = Date.now();
    const dir = fs.mkdtempSync(path.join(opts.parentDir ?? os.tmpdir(), 'witnessd-netns-'));
    fs.chmodSync(dir, 0o755); // smbd serves the share as Unix `nobody`: the path must be traversable
    // The mount points for each node's /run/ctdb and (domain members) /run/samba, as the
    // packages' systemd units would create them.
    fs.mkdirSync('/run/ctdb', { recursive: true });
    if (opts.member) fs.mkdirSync('/run/samba', { recursive: true });
    const c = new NetnsCluster(dir, opts);
    try {
      c.build();
      c.watchdog = c.lab.startWatchdog(process.pid, dir, process.env.CTDB_TEST_KEEP === '1');
      c.timings.namespaces = Date.now() - t0;
      const all = c.nodes.map((n) => n.pnn);
      for (const n of c.nodes) layOutNode(c, n);
      for (const n of c.nodes) await opts.beforeCtdb?.(n, c);
      let t = Date.now();
      await Promise.all(all.map((i) => c.startCtdbd(i)));
      await c.waitCtdbOk(opts.startTimeoutMs ?? 120_000);
      await c.placeIps();
      c.timings.ctdb = Date.now() - t;
      t = Date.now();
      if (opts.smbd !== false) {
        for (const n of c.nodes) await c.addSambaAccount(n.pnn);
        for (const n of c.nodes) await opts.beforeSmbd?.(n, c);
        await Promise.all(all.map((i) => c.startSamba(i)));
      }
      await c.waitHealthy(opts.startTimeoutMs ?? 120_000);
      c.timings.samba = Date.now() - t;
      c.timings.total = Date.now() - t0;
      return c;
    } catch (e) {
      const logs = c.logTail();
      await c.stop();
      throw new Error(`netns cluster did not come up: ${(e as Error).message}\n${logs}`);
    }
  }

  node(pnn: number): ClusterNode {
    const n = this.nodes[pnn];
    if (!n) throw new Error(`no node ${pnn}`);
    return n;
  }

  /** Public IP of node `pnn` in the balanced placement start() makes (public IP i on node i). */
  publicIp(pnn: number): string {
    return this.node(pnn).publicIp;
  }

  private nsOf(where: Where): string {
    if (typeof where === 'number') return this.node(where).ns;
    if (where === 'client') return this.client.ns;
    const h = this.hosts[where];
    if (!h) throw new Error(`no host ${where}`);
    return h.ns;
  }

  /** Run a command to completion in a node's, the client's or an extra host's namespace (bounded). */
  exec(where: Where, cmd: string, args: readonly string[], o: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<ToolResult> {
    return runTool('ip', ['netns', 'exec', this.nsOf(where), cmd, ...args], { timeoutMs: o.timeoutMs ?? 60_000, env: o.env, input: o.input, cwd: o.cwd });
  }

  /** Start a long-running command in a namespace (bounded by `timeoutMs`; stop() it yourself). */
  spawn(where: Where, cmd: string, args: readonly string[], o: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): RunningTool {
    return startTool('ip', ['netns', 'exec', this.nsOf(where), cmd, ...args], o);
  }

  /** argv prefix that runs a command in a namespace (for callers with their own process handling). */
  prefix(where: Where): string[] {
    return ['ip', 'netns', 'exec', this.nsOf(where)];
  }

  /**
   * argv that runs `cmd` on node `pnn` as on a real machine: in its network namespace, with
   * its own /etc/ctdb, /run/ctdb and /var/lib/ctdb bind-mounted (`ip netns exec` gives every
   * command a mount namespace of its own, so the binds are seen by that command and its
   * children only). So ctdbd runs without CTDB_TEST_MODE: it checks which IPs it holds
   * itself, and CTDB's stock 10.interface needs no wrapper.
   */
  nodeArgv(pnn: number, cmd: string, args: readonly string[]): [string, string[]] {
    const n = this.node(pnn);
    const binds = 'mount --bind "$0" /etc/ctdb && mount --bind "$1" /run/ctdb && mount --bind "$2" /var/lib/ctdb && shift 2 && exec "$@"';
    return ['ip', ['netns', 'exec', n.ns, 'sh', '-c', binds, n.ctdbEtc, n.ctdbRun, n.ctdbVar, cmd, ...args]];
  }

  /** ctdbd's Unix socket of node `pnn`, as seen from outside the node (smb.conf's `ctdbd socket`). */
  ctdbSocket(pnn: number): string {
    return path.join(this.node(pnn).ctdbRun, 'ctdbd.socket');
  }

  /** The ctdb tool on node `pnn` (in its namespaces: `listnodes` and friends read its /etc/ctdb). */
  ctdb(pnn: number, args: readonly string[], timeoutMs = 20_000): Promise<ToolResult> {
    const [cmd, argv] = this.nodeArgv(pnn, 'ctdb', args);
    return runTool(cmd, argv, { timeoutMs });
  }

  async ctdbOk(pnn: number, args: readonly string[], timeoutMs = 20_000): Promise<string> {
    const r = await this.ctdb(pnn, args, timeoutMs);
    if (r.code !== 0) throw new Error(`ctdb ${args.join(' ')} on node ${pnn} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  async status(pnn: number): Promise<NodeStatus[]> {
    return parseStatus(await this.ctdbOk(pnn, ['-X', 'status']));
  }

  /** Public IP → PNN hosting it (-1: nobody), as node `pnn` sees it. */
  async ips(pnn: number): Promise<Map<string, number>> {
    return parseIps(await this.ctdbOk(pnn, ['-X', 'ip']));
  }

  /** The addresses on node `pnn`'s eth0 now (what the kernel, not CTDB, says). */
  async addressesOn(pnn: number): Promise<string[]> {
    const r = await this.exec(pnn, 'ip', ['-o', '-4', 'addr', 'show', 'dev', 'eth0'], { timeoutMs: 10_000 });
    return [...r.stdout.matchAll(/ inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
  }

  /** PIDs of node `pnn`'s daemons (undefined: not running). */
  pids(pnn: number): Record<NodeProcess, number | undefined> {
    return {
      ctdbd: alive(this.ctdbd[pnn]) ? this.ctdbd[pnn]!.pid : undefined,
      smbd: alive(this.smbd[pnn]) ? this.smbd[pnn]!.pid : undefined,
      'samba-dcerpcd': alive(this.dcerpcd[pnn]) ? this.dcerpcd[pnn]!.pid : this.onDemandDcerpcd(pnn),
      witnessd: this.witnessdPid(pnn),
    };
  }

  private witnessdPid(pnn: number): number | undefined {
    try {
      const pid = Number(fs.readFileSync(path.join(this.node(pnn).ctdbRun, 'witnessd.pid'), 'utf8').trim());
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** samba-dcerpcd that smbd started for its named pipes (its command line names our smb.conf). */
  private onDemandDcerpcd(pnn: number): number | undefined {
    for (const pid of pidsMentioning(this.node(pnn).smbConf)) {
      try {
        if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'samba-dcerpcd') return pid;
      } catch {
        /* exited */
      }
    }
    return undefined;
  }

  /**
   * Send `signal` to one daemon of node `pnn` (SIGKILL, SIGSTOP, SIGCONT, ...); returns the
   * time it was sent (ms epoch). `group`: the daemon's whole process group (ctdbd with its
   * eventd and recovery daemon; smbd with its children).
   */
  kill(pnn: number, proc: NodeProcess, signal: NodeJS.Signals, o: { group?: boolean } = {}): number {
    const pid = this.pids(pnn)[proc];
    if (pid === undefined) throw new Error(`node ${pnn}'s ${proc} is not running`);
    const at = Date.now();
    process.kill(o.group ? -pid : pid, signal);
    return at;
  }

  /**
   * A whole node dies at once: SIGKILL to the process groups of its ctdbd, smbd and
   * samba-dcerpcd and to its witnessd, back to back; returns the time (ms epoch).
   */
  killNode(pnn: number): number {
    const at = Date.now();
    const pids = this.pids(pnn);
    for (const p of [this.ctdbd[pnn], this.smbd[pnn], this.dcerpcd[pnn]]) signalGroup(alive(p) ? p : undefined, 'SIGKILL');
    for (const pid of [pids.witnessd, pids['samba-dcerpcd']]) if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    return at;
  }

  /** Bring a killed node back: ctdbd (its startup event starts witnessd), then Samba; waits until it is healthy. */
  async startNode(pnn: number, timeoutMs = 120_000): Promise<void> {
    if (await settled(this.ctdbd[pnn])) await this.startCtdbd(pnn);
    await this.waitCtdbOk(timeoutMs);
    if (this.opts.smbd !== false) {
      await this.stopSamba(pnn, 'SIGKILL'); // leftovers of a node whose ctdbd died under them
      await this.startSamba(pnn);
    }
    await this.waitHealthy(timeoutMs);
  }

  /** Cut node `pnn` off the bridge (its veth in the hub goes down) / plug it back. */
  cutLink(pnn: number): number {
    const at = Date.now();
    this.lab.cutLink(this.node(pnn).hostName);
    return at;
  }

  restoreLink(pnn: number): void {
    this.lab.restoreLink(this.node(pnn).hostName);
  }

  /** Can the caller (joined) or the client namespace connect to addr:port? */
  async reachable(addr: string, port: number): Promise<boolean> {
    if (this.callerAddress) return connectOnce(addr, port);
    const r = await this.exec('client', 'bash', ['-c', `exec 3<>/dev/tcp/${addr}/${port}`], { timeoutMs: 5000 });
    return r.code === 0;
  }

  /** (Re)start node `pnn`'s ctdbd; resolves when its socket answers. */
  async startCtdbd(pnn: number): Promise<void> {
    if (!(await settled(this.ctdbd[pnn]))) throw new Error(`node ${pnn}'s ctdbd is running already`);
    const n = this.node(pnn);
    fs.rmSync(path.join(n.ctdbRun, 'ctdbd.pid'), { force: true });
    const out = fs.openSync(path.join(n.dir, 'ctdbd.stdout'), 'a');
    const [cmd, argv] = this.nodeArgv(pnn, 'ctdbd', ['--interactive']);
    // CTDB_BASE for the event scripts (99.events-log writes there); the stock ones derive it.
    const p = spawn(cmd, argv, { env: { ...process.env, CTDB_BASE: '/etc/ctdb', ...(this.opts.ctdbEnv ?? {}) }, detached: true, stdio: ['ignore', out, out], cwd: n.dir });
    fs.closeSync(out);
    p.on('error', () => undefined);
    this.ctdbd[pnn] = p;
    await waitFor(`node ${pnn}'s ctdbd socket`, async () => {
      if (!alive(p)) throw new Error(`node ${pnn}'s ctdbd exited (see ${n.dir}/log.ctdb)`);
      return fs.existsSync(this.ctdbSocket(pnn)) && (await this.ctdb(pnn, ['pnn'], 5000)).code === 0 ? true : undefined;
    }, 30_000, 100).catch((e) => {
      if (!alive(p)) throw new Error(`node ${pnn}'s ctdbd exited at start (see ${n.dir}/log.ctdb)`);
      throw e;
    });
  }

  /** Wait until every live node is OK and every public IP is hosted, as the first live node sees it. */
  async waitCtdbOk(timeoutMs = 90_000, o: { nodes?: readonly number[] } = {}): Promise<void> {
    const want = o.nodes ?? this.nodes.map((n) => n.pnn);
    await waitFor(`CTDB nodes ${want.join(',')} OK with every public IP hosted`, async () => {
      const via = this.nodes.findIndex((n) => alive(this.ctdbd[n.pnn]));
      if (via < 0) throw new Error('no ctdbd runs');
      const st = await this.status(via);
      if (!want.every((p) => st.find((s) => s.pnn === p)?.ok)) return undefined;
      const ips = await this.ips(via);
      return ips.size === this.nodes.length && [...ips.values()].every((p) => p >= 0) ? true : undefined;
    }, timeoutMs, 250);
  }

  /** Public IP i on node i (CTDB places them as it likes at start-up), so tests can name them. */
  async placeIps(timeoutMs = 60_000): Promise<void> {
    await waitFor('public IP i on node i', async () => {
      const ips = await this.ips(0);
      let placed = true;
      for (const n of this.nodes) {
        if (ips.get(n.publicIp) === n.pnn) continue;
        placed = false;
        await this.ctdb(0, ['moveip', n.publicIp, String(n.pnn)]);
      }
      return placed ? true : undefined;
    }, timeoutMs, 300);
  }

  /**
   * Every node OK in CTDB with every IP hosted; smbd answering on every node's address; the
   * endpoint mapper (witnessd's or samba-dcerpcd's) answering on 135 wherever a Witness
   * service runs. `nodes` limits it to some nodes (others may be down on purpose).
   */
  async waitHealthy(timeoutMs = 90_000, o: { nodes?: readonly number[] } = {}): Promise<void> {
    const want = o.nodes ?? this.nodes.map((n) => n.pnn);
    await this.waitCtdbOk(timeoutMs, o);
    for (const pnn of want) {
      const n = this.node(pnn);
      if (this.opts.smbd !== false) await waitFor(`smbd on ${n.address}:445`, async () => ((await this.reachable(n.address, 445)) ? true : undefined), timeoutMs, 200);
      if (n.witness !== 'none') await waitFor(`endpoint mapper on ${n.address}:135`, async () => ((await this.reachable(n.address, 135)) ? true : undefined), timeoutMs, 200);
    }
  }

  /** tdbsam account (mapped to Unix nobody) so clients get signed SMB sessions. Per node: tdbsam is local. */
  async addSambaAccount(pnn: number): Promise<void> {
    const a = this.account;
    const r = await runTool('pdbedit', ['-s', this.node(pnn).smbConf, '-a', '-u', 'nobody', '-t'], { timeoutMs: 60_000, input: `${a.password}\n${a.password}\n` });
    if (r.code !== 0) throw new Error(`pdbedit on node ${pnn}: ${r.stderr || r.stdout}`);
  }

  get account(): { domain: string; user: string; password: string } {
    return this.opts.account ?? DEFAULT_SERVER.account;
  }

  /** `-U` value for rpcclient / smbclient / smbtorture. */
  get credentials(): string {
    const a = this.account;
    return `${a.domain}\\${a.user}%${a.password}`;
  }

  /** Start node `pnn`'s Samba: samba-dcerpcd first where rpcd_witness serves, then smbd; waits for 445 (and 135). */
  async startSamba(pnn: number): Promise<void> {
    const n = this.node(pnn);
    fs.writeFileSync(n.smbConf, smbConf(this, n));
    const out = (): number => fs.openSync(path.join(n.sambaDir, 'log', 'stdout'), 'a');
    const launch = (argv: string[]): ChildProcess => {
      const fd = out();
      const p = spawn('ip', ['netns', 'exec', n.ns, ...argv], { detached: true, stdio: ['ignore', fd, fd], cwd: n.sambaDir });
      fs.closeSync(fd);
      p.on('error', () => undefined);
      return p;
    };
    // A daemon just signalled may not be reaped yet: count it as gone.
    await settled(this.dcerpcd[pnn]);
    await settled(this.smbd[pnn]);
    if (n.witness === 'rpcd_witness') {
      if (!alive(this.dcerpcd[pnn])) {
        this.dcerpcd[pnn] = launch(['/usr/libexec/samba/samba-dcerpcd', '-F', '--no-process-group', '--libexec-rpcds', '-s', n.smbConf, `--log-basename=${n.sambaDir}/log`]);
      }
      // samba-dcerpcd up before smbd starts: started together, the two initialise the same
      // state and lock files at once, and smbd exited 255 at start-up under load (CI, once).
      const d = this.dcerpcd[pnn]!;
      await waitFor(`node ${pnn}'s samba-dcerpcd on ${n.address}:135`, async () => {
        if (!alive(d)) throw new Error(`samba-dcerpcd exited (${(d as ChildProcess).exitCode ?? (d as ChildProcess).signalCode})\n${this.sambaLogs(n)}`);
        return (await this.reachable(n.address, 135)) ? true : undefined;
      }, 60_000, 150);
    }
    if (!alive(this.smbd[pnn])) {
      const smbd = ['smbd', '-F', '--no-process-group', '-s', n.smbConf, `--log-basename=${n.sambaDir}/log`];
      this.smbd[pnn] = launch(this.opts.member ? this.memberArgv(n, smbd) : smbd);
    }
    const p = this.smbd[pnn]!;
    await waitFor(`node ${pnn}'s smbd on ${n.address}:445`, async () => {
      if (!alive(p)) throw new Error(`smbd exited (${(p as ChildProcess).exitCode ?? (p as ChildProcess).signalCode})\n${this.sambaLogs(n)}`);
      return (await this.reachable(n.address, 445)) ? true : undefined;
    }, 60_000, 150);
  }

  /** The tail of a node's Samba logs (smbd, samba-dcerpcd, and what they printed before logging began). */
  private sambaLogs(n: ClusterNode): string {
    return logTails(['log.smbd', 'log.samba-dcerpcd', 'stdout'].map((f) => [`node ${n.pnn} ${f}`, path.join(n.sambaDir, 'log', f)]), 40);
  }

  /**
   * A domain member's smbd (opts.member): a shell in the node's mount namespace mounts the
   * binds and the node's own /run/samba, starts winbindd and becomes smbd (the PID we spawned).
   * winbindd's command line names the node's smb.conf, so stopSamba() ends it too.
   */
  private memberArgv(n: ClusterNode, smbd: readonly string[]): string[] {
    const binds = { ...(this.opts.member?.binds?.(n) ?? {}), [path.join(n.sambaDir, 'run-samba')]: '/run/samba' };
    fs.mkdirSync(path.join(n.sambaDir, 'run-samba'), { recursive: true });
    const mounts = Object.entries(binds).map(([from, to]) => `mount --bind ${JSON.stringify(from)} ${JSON.stringify(to)}`).join(' && ');
    const winbindd = `winbindd -F --no-process-group -s ${JSON.stringify(n.smbConf)} --log-basename=${JSON.stringify(`${n.sambaDir}/log`)} </dev/null &`;
    return ['sh', '-c', `${mounts} && { ${winbindd} } && exec "$@"`, 'smbd', ...smbd];
  }

  /** Stop node `pnn`'s smbd and samba-dcerpcd (standalone or on demand); resolves when gone. */
  async stopSamba(pnn: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const procs = [this.smbd[pnn], this.dcerpcd[pnn]].filter(alive);
    for (const p of procs) signalGroup(p, signal);
    const conf = this.node(pnn).smbConf;
    for (const pid of pidsMentioning(conf)) try { process.kill(pid, signal); } catch { /* gone */ }
    await waitFor(`node ${pnn}'s Samba to exit`, async () => (procs.every((p) => !alive(p)) && pidsMentioning(conf).length === 0 ? true : undefined), 15_000, 100)
      .catch(() => {
        for (const p of procs) signalGroup(p, 'SIGKILL');
        for (const pid of pidsMentioning(conf)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      });
    this.smbd[pnn] = undefined;
    this.dcerpcd[pnn] = undefined;
  }

  /**
   * Change node `pnn`'s Witness service in its files: smb.conf (rewritten), witnessd's YAML
   * and script options. Restarting Samba, starting witnessd and enabling its event script are
   * the caller's steps (a rolling migration does them as an administrator would).
   */
  setWitnessKind(pnn: number, kind: WitnessKind): void {
    const n = this.node(pnn);
    n.witness = kind;
    layOutNode(this, n, { eventScriptsOnly: true });
    fs.writeFileSync(n.smbConf, smbConf(this, n));
  }

  /** The tails of every node's logs (ctdbd, smbd, witnessd), for failure messages. */
  logTail(lines = 25): string {
    return logTails(this.nodes.flatMap((n): Array<[string, string]> => [
      [`node ${n.pnn} log.ctdb`, path.join(n.dir, 'log.ctdb')],
      [`node ${n.pnn} witnessd.log`, path.join(n.dir, 'witnessd.log')],
      [`node ${n.pnn} log.smbd`, path.join(n.sambaDir, 'log', 'log.smbd')],
    ]), lines);
  }

  private emergencyStop(): void {
    for (const p of [...this.ctdbd, ...this.smbd, ...this.dcerpcd]) signalGroup(p, 'SIGKILL');
    for (const pid of pidsMentioning(this.dir)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    this.lab.killInside();
    this.lab.destroy();
    if (process.env.CTDB_TEST_KEEP !== '1') fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Stop everything this cluster started: SIGTERM ctdbd (its shutdown event stops witnessd)
   * and Samba, SIGKILL what is left after 10 s, delete the namespaces, remove the directory
   * (kept with CTDB_TEST_KEEP=1 or keepDir).
   */
  async stop(o: { keepDir?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map((n) => this.stopSamba(n.pnn).catch(() => undefined)));
    await Promise.all(this.ctdbd.map(async (p) => {
      if (!alive(p)) return signalGroup(p, 'SIGKILL');
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const t = setTimeout(() => signalGroup(p, 'SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
      signalGroup(p, 'SIGKILL'); // helpers that outlived ctdbd
    }));
    for (const pid of pidsMentioning(this.dir)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    this.lab.killInside();
    this.lab.destroy();
    if (this.watchdog) try { process.kill(this.watchdog, 'SIGKILL'); } catch { /* gone */ }
    this.unregisterEmergency();
    if (o.keepDir || process.env.CTDB_TEST_KEEP === '1') process.stderr.write(`netns cluster directory kept: ${this.dir}\n`);
    else fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
