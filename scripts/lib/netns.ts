/**
 * Machines on one host (../shared NETNS.md): named network namespaces, each joined by a veth
 * pair to a bridge in a hub namespace, with 127.x addresses only (route_localnet=1 on every
 * veth end). A lab has a prefix unique to the run (`wt<pid>-` by default); every namespace
 * is `<prefix><name>`, leftovers with that prefix are removed first, and destroy() (also run
 * on an emergency exit) deletes them all. Deleting a namespace deletes its veth ends, and a
 * veth pair dies with either end, so nothing of the lab outlives destroy().
 *
 * Why named namespaces work from the interop layer: `ip netns add` makes a NEW namespace
 * (not the caller's) and bind-mounts it under /run/netns, so it works from the private
 * namespace `unshare -n` gives the jest process (tried), and from the host namespace alike.
 * `ip netns exec NS CMD` execs CMD in place: the PID we spawn is the daemon's own.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';

/** One host on the bridge: namespace name, its address, and its veth's name in the hub. */
export interface LabHost {
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  /** The veth end in the hub namespace (cutLink takes it down). */
  readonly hubIf: string;
}

/** `ip` under a hard time limit; throws with stderr on failure (unless `allowFail`). */
export function ip(args: readonly string[], allowFail = false): string {
  try {
    return execFileSync('timeout', ['10', 'ip', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (allowFail) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

/** Namespaces that exist now (names only). */
export function listNetns(): string[] {
  try {
    return fs.readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/**
 * A subnet unlikely to collide with another lab joined to the same caller namespace (two
 * routes for one /24 on two veths would be ambiguous), and clear of 127.0.x.x, which the
 * interop tests use on lo: 127.(64..191).(0..255).0/24 from the PID.
 */
export function defaultSubnet(pid = process.pid): string {
  return `127.${64 + ((pid >> 8) % 128)}.${pid & 255}`;
}

export interface LabOptions {
  /** Namespace name prefix; default `wt<pid>-`. */
  readonly prefix?: string;
  /** First three octets of the /24 on the bridge, e.g. "127.1.0"; default defaultSubnet(). */
  readonly subnet?: string;
}

export class NetnsLab {
  readonly prefix: string;
  readonly subnet: string;
  readonly hub: string;
  private readonly hosts = new Map<string, LabHost>();
  private callerIf: string | undefined;
  private created: string[] = [];

  constructor(o: LabOptions = {}) {
    this.prefix = o.prefix ?? `wt${process.pid}-`;
    if (!/^[a-z0-9][a-z0-9-]{0,15}$/i.test(this.prefix)) throw new Error(`netns prefix ${JSON.stringify(this.prefix)}: letters, digits and - only`);
    this.subnet = o.subnet ?? defaultSubnet();
    if (!/^127\.\d{1,3}\.\d{1,3}$/.test(this.subnet)) throw new Error(`subnet ${this.subnet}: give three octets inside 127.0.0.0/8`);
    this.hub = `${this.prefix}hub`;
  }

  /** Address `host` (1..254) on the bridge's /24. */
  addr(host: number): string {
    return `${this.subnet}.${host}`;
  }

  /** Remove namespaces left by an earlier run with this prefix (a crashed test). */
  sweep(): string[] {
    const old = listNetns().filter((n) => n.startsWith(this.prefix));
    for (const n of old) ip(['netns', 'del', n], true);
    return old;
  }

  /** The hub namespace and its bridge (br0), after sweeping leftovers. */
  createHub(): void {
    this.sweep();
    this.addNs(this.hub);
    ip(['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', this.hub, 'link', 'set', 'br0', 'up']);
  }

  private addNs(ns: string): void {
    ip(['netns', 'add', ns]);
    this.created.push(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /**
   * A host namespace `<prefix><name>` with eth0 on the bridge at `address`/24. The stock
   * kernel routes 127.x off lo only with route_localnet=1 (else: martians); the /24 route on
   * eth0 beats lo's 127.0.0.0/8 local route by prefix length, so lo stays as it is.
   */
  addHost(name: string, address: string): LabHost {
    if (this.hosts.has(name)) throw new Error(`host ${name} exists already`);
    if (!/^[a-z0-9]{1,10}$/.test(name)) throw new Error(`host name ${JSON.stringify(name)}: up to 10 lower-case letters and digits`);
    const ns = `${this.prefix}${name}`;
    const hubIf = `v${name}`;
    this.addNs(ns);
    ip(['-n', this.hub, 'link', 'add', hubIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ip(['-n', this.hub, 'link', 'set', hubIf, 'master', 'br0']);
    ip(['-n', this.hub, 'link', 'set', hubIf, 'up']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    sysctlLocalnet(ns, 'eth0');
    ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    const h = { name, ns, address, hubIf };
    this.hosts.set(name, h);
    return h;
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in lab ${this.prefix}`);
    return h;
  }

  /**
   * Put the CALLER's own namespace on the bridge too (an interface `<prefix>c` with
   * `address`/24), so the test or benchmark process itself reaches the nodes (admin APIs, an
   * in-process Witness client). Only from a private namespace: the host's is never touched.
   */
  joinCaller(address: string, inPrivateNetns: boolean): void {
    if (!inPrivateNetns) throw new Error('joinCaller: refusing to add an interface to a namespace that is not private (run under unshare -n)');
    const ifName = `${this.prefix}c`.slice(0, 15);
    const hubIf = 'vcaller';
    ip(['-n', this.hub, 'link', 'add', hubIf, 'type', 'veth', 'peer', 'name', ifName, 'netns', String(process.pid)]);
    ip(['-n', this.hub, 'link', 'set', hubIf, 'master', 'br0']);
    ip(['-n', this.hub, 'link', 'set', hubIf, 'up']);
    ip(['link', 'set', ifName, 'up']);
    execFileSync('timeout', ['10', 'sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1', `net.ipv4.conf.${ifName}.route_localnet=1`]);
    ip(['addr', 'add', `${address}/24`, 'dev', ifName]);
    this.callerIf = ifName;
  }

  /** Take a host's link down in the hub (the node is cut off; its own eth0 loses carrier). */
  cutLink(name: string): void {
    ip(['-n', this.hub, 'link', 'set', this.host(name).hubIf, 'down']);
  }

  restoreLink(name: string): void {
    ip(['-n', this.hub, 'link', 'set', this.host(name).hubIf, 'up']);
  }

  /** argv prefix that runs a command inside host `name`'s namespace. */
  execArgv(name: string, cmd: string, args: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.host(name).ns, cmd, ...args]];
  }

  /** Every namespace this lab made (hub, hosts). */
  namespaces(): string[] {
    return [...this.created];
  }

  /** SIGKILL every process inside this lab's namespaces (all started by this run: nothing else runs there). */
  killInside(): void {
    for (const ns of this.created) {
      for (const pid of ip(['netns', 'pids', ns], true).split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }

  /**
   * A detached shell that, once process `owner` is gone (killed, crashed, a jest timeout: exit
   * hooks do not always run), kills what runs in this lab's namespaces, deletes them and
   * removes `dir` (unless `keepDir`). Bounded: it ends with its owner, or when stopWatchdog()
   * kills it. Returns its PID.
   */
  startWatchdog(owner: number, dir: string, keepDir: boolean): number | undefined {
    const nss = this.created.join(' ');
    const script = [
      `while kill -0 ${owner} 2>/dev/null; do sleep 1; done`,
      `for ns in ${nss}; do for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done; done`,
      `for ns in ${nss}; do ip netns del "$ns" 2>/dev/null; done`,
      keepDir ? 'true' : `rm -rf '${dir.replace(/'/g, '')}'`,
    ].join('\n');
    const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  }

  /** Delete every namespace of this lab (synchronous: also used on an emergency exit). */
  destroy(): void {
    if (this.callerIf) ip(['link', 'del', this.callerIf], true);
    this.callerIf = undefined;
    for (const ns of this.created.reverse()) ip(['netns', 'del', ns], true);
    this.created = [];
    this.sweep();
    this.hosts.clear();
  }
}

function sysctlLocalnet(ns: string, ifName: string): void {
  execFileSync('timeout', ['10', 'ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1', `net.ipv4.conf.${ifName}.route_localnet=1`]);
}
