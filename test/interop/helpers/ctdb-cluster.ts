/**
 * A real three-node CTDB cluster (Debian's ctdbd) on loopback, inside the caller's private
 * network namespace (the interop jest project runs under `unshare -n`; the CTDB benchmark's
 * helper process too). Node I (PNN I) has node address 127.0.0.2(I+1); the public IPs are
 * 127.0.0.3(I+1)/32 on lo. Every ctdbd is started and stopped by its PID.
 *
 * The traps, each found the hard way (CTDB.md):
 * - lo's 127.0.0.1/8 (and any other /8 an earlier test file added) is replaced by /32 host
 *   addresses: with a /8 every 127.x address is local, so a public IP "exists" on every node
 *   and a move cannot be observed. stop() puts the /8 addresses back for later test files.
 * - CTDB_TEST_MODE=yes: ctdbd, ctdb and ctdb-eventd take every path from CTDB_BASE (socket
 *   BASE/run/ctdbd.socket), skip realtime scheduling and the "do I hold this IP" check, and
 *   ctdbd exits when its stdin reaches EOF: stdin is a FIFO opened read-write (ctdbd is its
 *   own writer, so EOF never comes).
 * - The stock 10.interface event script is wrapped (ctdb/10.interface-shared-lo.script) so
 *   that nodes sharing one lo do not fail takeip and get banned for 300 s.
 * - CTDB_SCRIPT_VARDIR per node (the stock scripts otherwise share /var/lib/ctdb/scripts);
 *   one fcntl cluster-lock file shared by the nodes elects the leader.
 * ctdbd runs with --interactive (no fork), in its own process group: its PID is the one we
 * spawned, and stopping the group also ends ctdb-eventd and the recovery daemon.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inPrivateNetns, isRoot } from './peers';
import { waitFor } from '../../../scripts/lib/netns-cluster-procs';
import { onEmergencyExit, runTool, sleep, type ToolResult } from './process';

export const CTDB_NODES = 3;
/** Node address of PNN i. */
export const nodeAddress = (pnn: number): string => `127.0.0.2${pnn + 1}`;
/** The public IP that PNN i hosts when the cluster is healthy (CTDB's own placement). */
export const publicIp = (pnn: number): string => `127.0.0.3${pnn + 1}`;

const STOCK_SCRIPTS = '/usr/share/ctdb/events/legacy';
const HERE = path.join(__dirname, 'ctdb');

/** Fast failure detection, as measured in CTDB.md (a killed node is DISCONNECTED in ~0.1 s anyway). */
export const DEFAULT_TUNABLES: Readonly<Record<string, number>> = {
  KeepaliveInterval: 1,
  KeepaliveLimit: 3,
  MonitorInterval: 2,
};

export interface CtdbClusterOptions {
  /** Extra legacy event scripts (files) copied into every node's events/legacy/. */
  readonly eventScripts?: readonly string[];
  /** Merged over DEFAULT_TUNABLES. */
  readonly tunables?: Readonly<Record<string, number>>;
  readonly logLevel?: string;
  /** Extra environment for ctdbd (and so for its event scripts). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Called for every node after its CTDB_BASE is laid out and before its ctdbd starts (e.g. to
   * write BASE/script.options for an event script, or a service's configuration).
   */
  readonly prepareNode?: (pnn: number, base: string) => void;
  /** Bound on waiting for all nodes OK at start (default 60 s). */
  readonly startTimeoutMs?: number;
}

/** One `ctdb -X status` row. */
export interface NodeStatus {
  readonly pnn: number;
  readonly address: string;
  readonly disconnected: boolean;
  readonly banned: boolean;
  readonly disabled: boolean;
  readonly unhealthy: boolean;
  readonly stopped: boolean;
  readonly inactive: boolean;
  /** No flag set. */
  readonly ok: boolean;
}

/** One line of a node's events.log (written by ctdb/99.events-log.script). */
export interface CtdbEvent {
  /** Wall clock, ms since the epoch (Date.now() scale). */
  readonly at: number;
  readonly event: string;
  readonly args: readonly string[];
}

function quietRun(cmd: string, args: readonly string[]): Promise<ToolResult> {
  return runTool(cmd, args, { timeoutMs: 10_000 });
}

/** Addresses on lo: "127.0.0.1/8" and the like. */
async function loAddresses(): Promise<string[]> {
  const r = await quietRun('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo']);
  return [...r.stdout.matchAll(/ inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1]);
}

/** Parse `ctdb -X status` (header row names the columns; 4.17 and 4.22 agree). */
export function parseStatus(text: string): NodeStatus[] {
  const lines = text.split('\n').filter((l) => l.startsWith('|'));
  if (lines.length < 2) return [];
  const head = lines[0].split('|');
  const col = (name: string): number => head.indexOf(name);
  const out: NodeStatus[] = [];
  for (const l of lines.slice(1)) {
    const f = l.split('|');
    const flag = (name: string): boolean => f[col(name)] === '1';
    const s = {
      pnn: Number(f[col('Node')]),
      address: f[col('IP')],
      disconnected: flag('Disconnected'),
      banned: flag('Banned'),
      disabled: flag('Disabled'),
      unhealthy: flag('Unhealthy'),
      stopped: flag('Stopped'),
      inactive: flag('Inactive'),
    };
    out.push({ ...s, ok: !(s.disconnected || s.banned || s.disabled || s.unhealthy || s.stopped || s.inactive) });
  }
  return out;
}

/** Parse `ctdb -X ip` (|Public IP|Node|): IP → PNN hosting it (-1 = nobody). */
export function parseIps(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of text.split('\n').slice(1)) {
    const f = l.split('|');
    if (f.length >= 3 && /^\d/.test(f[1])) m.set(f[1], Number(f[2]));
  }
  return m;
}

export class CtdbCluster {
  private readonly procs: Array<ChildProcess | undefined> = [];
  private removedLo: string[] = [];
  private readonly unregisterEmergency: () => void;
  /** ms from start() to all nodes OK. */
  startupMs = NaN;

  private constructor(readonly dir: string, readonly opts: CtdbClusterOptions) {
    this.unregisterEmergency = onEmergencyExit(() => this.emergencyStop());
  }

  /** Preconditions: root, a private network namespace, ctdbd installed. */
  static async start(opts: CtdbClusterOptions = {}): Promise<CtdbCluster> {
    if (!isRoot()) throw new Error('a CTDB cluster needs root');
    if (!inPrivateNetns()) throw new Error('refusing to start a CTDB cluster outside a private network namespace');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-ctdb-'));
    const c = new CtdbCluster(dir, opts);
    const t0 = Date.now();
    try {
      await c.setUpLoopback();
      c.layOut();
      for (let i = 0; i < CTDB_NODES; i++) await c.startNode(i);
      await c.waitAllOk(opts.startTimeoutMs ?? 60_000);
      await c.placeIps();
    } catch (e) {
      const logs = c.logTail();
      await c.stop();
      throw new Error(`CTDB cluster did not come up: ${(e as Error).message}\n${logs}`);
    }
    c.startupMs = Date.now() - t0;
    return c;
  }

  base(pnn: number): string {
    return path.join(this.dir, `node.${pnn}`);
  }

  /** ctdbd's Unix socket of node `pnn` (what witnessd's --ctdb-socket takes). */
  socketPath(pnn: number): string {
    return path.join(this.base(pnn), 'run', 'ctdbd.socket');
  }

  /** The environment under which the ctdb tool (and ctdbd) address node `pnn`. */
  env(pnn: number): NodeJS.ProcessEnv {
    return { ...process.env, CTDB_TEST_MODE: 'yes', CTDB_BASE: this.base(pnn), CTDB_SCRIPT_VARDIR: path.join(this.base(pnn), 'var', 'scripts') };
  }

  pid(pnn: number): number | undefined {
    const p = this.procs[pnn];
    return p && p.exitCode === null && p.signalCode === null ? p.pid : undefined;
  }

  private async setUpLoopback(): Promise<void> {
    await quietRun('ip', ['link', 'set', 'lo', 'up']);
    // Every 127.x address with a prefix shorter than /32 makes the whole range local.
    this.removedLo = (await loAddresses()).filter((a) => a.startsWith('127.') && !a.endsWith('/32'));
    for (const a of this.removedLo) await quietRun('ip', ['addr', 'del', a, 'dev', 'lo']);
    for (const a of ['127.0.0.1', ...Array.from({ length: CTDB_NODES }, (_, i) => nodeAddress(i))]) {
      const r = await quietRun('ip', ['addr', 'replace', `${a}/32`, 'dev', 'lo']);
      if (r.code !== 0) throw new Error(`ip addr replace ${a}/32: ${r.stderr.trim()}`);
    }
  }

  private layOut(): void {
    const nodes = Array.from({ length: CTDB_NODES }, (_, i) => `${nodeAddress(i)}\n`).join('');
    const publics = Array.from({ length: CTDB_NODES }, (_, i) => `${publicIp(i)}/32 lo\n`).join('');
    const tunables = { ...DEFAULT_TUNABLES, ...(this.opts.tunables ?? {}) };
    fs.mkdirSync(path.join(this.dir, 'shared'));
    for (let i = 0; i < CTDB_NODES; i++) {
      const b = this.base(i);
      for (const d of ['run', 'var/scripts', 'events/legacy', 'events/notification', 'db/volatile', 'db/persistent', 'db/state']) {
        fs.mkdirSync(path.join(b, d), { recursive: true });
      }
      fs.writeFileSync(path.join(b, 'nodes'), nodes);
      fs.writeFileSync(path.join(b, 'public_addresses'), publics);
      fs.symlinkSync('/etc/ctdb/functions', path.join(b, 'functions'));
      fs.symlinkSync('/etc/ctdb/debug-hung-script.sh', path.join(b, 'debug-hung-script.sh'));
      fs.symlinkSync('/usr/share/ctdb', path.join(b, 'share'));
      const legacy = path.join(b, 'events', 'legacy');
      for (const s of ['00.ctdb', '01.reclock', '05.system']) fs.symlinkSync(path.join(STOCK_SCRIPTS, `${s}.script`), path.join(legacy, `${s}.script`));
      const scripts: Array<[string, string]> = [
        [path.join(HERE, '10.interface-shared-lo.script'), '10.interface.script'],
        [path.join(HERE, '99.events-log.script'), '99.events-log.script'],
        ...(this.opts.eventScripts ?? []).map((s): [string, string] => [s, path.basename(s)]),
      ];
      for (const [from, name] of scripts) {
        fs.copyFileSync(from, path.join(legacy, name));
        fs.chmodSync(path.join(legacy, name), 0o755);
      }
      fs.writeFileSync(path.join(b, 'ctdb.tunables'), Object.entries(tunables).map(([k, v]) => `${k}=${v}\n`).join(''));
      fs.writeFileSync(path.join(b, 'ctdb.conf'), [
        '[logging]',
        `\tlocation = file:${b}/log.ctdb`,
        `\tlog level = ${this.opts.logLevel ?? 'NOTICE'}`,
        '[cluster]',
        `\tcluster lock = ${this.dir}/shared/cluster.lock`,
        `\tnode address = ${nodeAddress(i)}`,
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
      ].join('\n'));
      this.opts.prepareNode?.(i, b);
    }
  }

  /** Start (or restart after a kill) node `pnn`'s ctdbd; resolves when its socket answers. */
  async startNode(pnn: number): Promise<void> {
    if (this.pid(pnn) !== undefined) throw new Error(`node ${pnn}'s ctdbd is running already`);
    const b = this.base(pnn);
    const fifo = path.join(b, 'run', 'stdin');
    if (!fs.existsSync(fifo)) {
      const r = await quietRun('mkfifo', [fifo]);
      if (r.code !== 0) throw new Error(`mkfifo ${fifo}: ${r.stderr}`);
    }
    fs.rmSync(path.join(b, 'run', 'ctdbd.pid'), { force: true });
    const stdin = fs.openSync(fifo, 'r+'); // O_RDWR on a FIFO never blocks and never sees EOF
    const out = fs.openSync(path.join(b, 'log.stdout'), 'a');
    const proc = spawn('ctdbd', ['--interactive'], {
      env: { ...this.env(pnn), ...(this.opts.env ?? {}) },
      detached: true,
      stdio: [stdin, out, out],
      cwd: b,
    });
    fs.closeSync(stdin);
    fs.closeSync(out);
    proc.on('error', () => undefined);
    this.procs[pnn] = proc;
    // Bounded: the socket answers `ctdb pnn` within seconds of start.
    for (let i = 0; i < 100; i++) {
      if (this.pid(pnn) === undefined) throw new Error(`node ${pnn}'s ctdbd exited at start (see ${b}/log.ctdb)`);
      if (fs.existsSync(this.socketPath(pnn)) && (await this.ctdb(pnn, ['pnn'], 3000)).code === 0) return;
      await sleep(100);
    }
    throw new Error(`node ${pnn}'s ctdbd did not answer on ${this.socketPath(pnn)} within 10 s`);
  }

  /** SIGKILL node `pnn`'s ctdbd alone (its helpers notice and exit); resolves when it is gone. */
  async killNode(pnn: number): Promise<number> {
    const p = this.procs[pnn];
    if (!p || this.pid(pnn) === undefined) throw new Error(`node ${pnn}'s ctdbd is not running`);
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    const at = Date.now();
    process.kill(p.pid as number, 'SIGKILL');
    await gone;
    this.endGroup(p, 'SIGKILL');
    return at;
  }

  /** Run the ctdb tool against node `pnn`. */
  ctdb(pnn: number, args: readonly string[], timeoutMs = 15_000): Promise<ToolResult> {
    return runTool('ctdb', args, { timeoutMs, env: this.env(pnn) });
  }

  /** `ctdb ARGS` that must succeed; returns its stdout. */
  async ctdbOk(pnn: number, args: readonly string[], timeoutMs = 15_000): Promise<string> {
    const r = await this.ctdb(pnn, args, timeoutMs);
    if (r.code !== 0) throw new Error(`ctdb ${args.join(' ')} on node ${pnn} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  async status(pnn: number): Promise<NodeStatus[]> {
    return parseStatus(await this.ctdbOk(pnn, ['-X', 'status']));
  }

  /** Public IP → hosting PNN, as node `pnn` sees it. */
  async ips(pnn: number): Promise<Map<string, number>> {
    return parseIps(await this.ctdbOk(pnn, ['-X', 'ip']));
  }

  /** Poll `probe` until it returns a value (the harness's bounded waitFor). */
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 200): Promise<T> {
    return waitFor(what, probe, timeoutMs, everyMs);
  }


  /** Wait until every node is OK and every public IP is hosted (as the first live node sees it). */
  async waitAllOk(timeoutMs = 60_000): Promise<void> {
    await this.waitFor('all CTDB nodes OK with every public IP hosted', async () => {
      const via = this.procs.findIndex((_, i) => this.pid(i) !== undefined);
      const st = await this.status(via);
      if (st.length !== CTDB_NODES || !st.every((s) => s.ok)) return undefined;
      const ips = await this.ips(via);
      return ips.size === CTDB_NODES && [...ips.values()].every((p) => p >= 0) ? true : undefined;
    }, timeoutMs, 250);
  }

  /**
   * Put public IP i on PNN i (CTDB places them where it likes: at start-up often all on one
   * node), so that tests can name "node 0's public IP"; with one IP per node the placement is
   * balanced and later takeover runs leave it alone.
   */
  async placeIps(timeoutMs = 30_000): Promise<void> {
    await this.waitFor('public IP i on node i', async () => {
      const ips = await this.ips(0);
      let placed = true;
      for (let i = 0; i < CTDB_NODES; i++) {
        if (ips.get(publicIp(i)) === i) continue;
        placed = false;
        await this.ctdb(0, ['moveip', publicIp(i), String(i)]);
      }
      return placed ? true : undefined;
    }, timeoutMs, 300);
  }

  /** Node `pnn`'s events.log (every event CTDB ran there, with wall-clock times). */
  events(pnn: number): CtdbEvent[] {
    let text = '';
    try {
      text = fs.readFileSync(path.join(this.base(pnn), 'events.log'), 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter(Boolean).map((l) => {
      const [ts, event, ...args] = l.split(' ');
      return { at: Number(ts) * 1000, event, args };
    });
  }

  /** The first `event` on node `pnn` after `since` (ms epoch) whose args include `arg`. */
  findEvent(pnn: number, event: string, since: number, arg?: string): CtdbEvent | undefined {
    return this.events(pnn).find((e) => e.event === event && e.at >= since && (arg === undefined || e.args.includes(arg)));
  }

  /** Make node `pnn`'s monitor event fail (node UNHEALTHY) or pass again. */
  failMonitor(pnn: number, fail: boolean): void {
    const f = path.join(this.base(pnn), 'fail-monitor');
    if (fail) fs.writeFileSync(f, '');
    else fs.rmSync(f, { force: true });
  }

  logTail(lines = 30): string {
    const parts: string[] = [];
    for (let i = 0; i < CTDB_NODES; i++) {
      try {
        const t = fs.readFileSync(path.join(this.base(i), 'log.ctdb'), 'utf8').split('\n');
        parts.push(`--- node ${i} log.ctdb ---\n${t.slice(-lines).join('\n')}`);
      } catch {
        /* no log yet */
      }
    }
    return parts.join('\n');
  }

  private endGroup(p: ChildProcess, signal: NodeJS.Signals): void {
    try {
      process.kill(-(p.pid as number), signal);
    } catch {
      /* group gone */
    }
  }

  private emergencyStop(): void {
    for (const p of this.procs) if (p) this.endGroup(p, 'SIGKILL');
  }

  /** SIGTERM every ctdbd (it runs "shutdown"), SIGKILL the groups after 10 s; restore lo; remove the dir. */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    const live = this.procs.filter((p): p is ChildProcess => !!p);
    await Promise.all(live.map(async (p) => {
      if (p.exitCode === null && p.signalCode === null) {
        const gone = new Promise<void>((r) => p.once('exit', () => r()));
        process.kill(p.pid as number, 'SIGTERM');
        const t = setTimeout(() => this.endGroup(p, 'SIGKILL'), 10_000);
        await gone;
        clearTimeout(t);
      }
      this.endGroup(p, 'SIGKILL'); // helpers that outlived ctdbd
    }));
    const ours = ['127.0.0.1', ...Array.from({ length: CTDB_NODES }, (_, i) => [nodeAddress(i), publicIp(i)]).flat()];
    for (const a of ours) await quietRun('ip', ['addr', 'del', `${a}/32`, 'dev', 'lo']);
    for (const a of this.removedLo.length ? this.removedLo : ['127.0.0.1/8']) await quietRun('ip', ['addr', 'replace', a, 'dev', 'lo']);
    this.unregisterEmergency();
    // CTDB_TEST_KEEP=1 keeps the logs (ctdbd, event scripts, witnessd) for a failed run.
    if (!opts.keepDir && process.env.CTDB_TEST_KEEP !== '1') fs.rmSync(this.dir, { recursive: true, force: true });
    else process.stderr.write(`CTDB cluster directory kept: ${this.dir}\n`);
  }
}
