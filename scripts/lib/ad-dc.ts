/**
 * A throwaway Samba AD DC (realm DEMO.LOCAL, domain DEMO) on loopback, for the Kerberos
 * interop tests and benchmark. It lives in the caller's network namespace, which must be a
 * private one (the interop jest project runs in `unshare -n`; the rpc benchmark re-executes
 * itself in one): the DC listens on its own 127.0.0.x, nothing touches the host's network.
 * Everything else is in one temp directory: the provisioned DC, its logs, a krb5.conf that
 * names the KDC by address, a hosts file for clients that need names (rpcclient: the SPN is
 * the host in the binding), the service keytabs and credential caches.
 *
 * Measured on a 2-core machine shared with other jobs (Samba 4.22.6 from bookworm-backports):
 * provision 5.3-16 s, accounts + SPNs + keytabs 1.5-4 s (one Python process: samba-tool per
 * step was 7.4 s), start until KDC, LDAP and RPC answer 3-6 s.
 *
 * samba runs in the foreground in a process group of its own (spawned detached) with
 * --maximum-runtime as a lifetime bound; stop() ends that group by PID and removes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const DEMO_REALM = { realm: 'DEMO.LOCAL', domain: 'DEMO', dnsDomain: 'demo.local', dcName: 'dc1' } as const;

export interface ServiceAccount {
  readonly name: string;
  readonly password: string;
  /** SPNs without realm (cifs/sofs.demo.local); all go into the account's keytab. */
  readonly spns: readonly string[];
}

export interface AdDcOptions {
  /** The DC's loopback address (added to lo). Default 127.0.0.10. */
  readonly dcAddress?: string;
  /** Extra names for the hosts file, name → address (e.g. sofs.demo.local → 127.0.0.11). */
  readonly hosts?: Readonly<Record<string, string>>;
  readonly users?: ReadonlyArray<readonly [name: string, password: string]>;
  readonly services?: readonly ServiceAccount[];
  /** samba's --maximum-runtime. Default 30 min. */
  readonly lifetimeMs?: number;
  readonly adminPassword?: string;
  /**
   * Run samba in this named network namespace (a host of a netns lab, scripts/lib/netns.ts)
   * whose interface already has `dcAddress`; the caller must reach that address (a lab the
   * caller joined). Default: the caller's own private namespace, the address added to lo.
   */
  readonly netns?: string;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface AdDc {
  readonly dir: string;
  readonly dcAddress: string;
  readonly smbConf: string;
  readonly krb5Conf: string;
  /** Seconds per step, for reports. */
  readonly timings: Readonly<Record<'provision' | 'accounts' | 'start', number>>;
  readonly pid: number | undefined;
  /** The keytab exported for a service account. */
  keytab(service: string): string;
  /** Environment for Kerberos clients (KRB5_CONFIG, and KRB5CCNAME when a ccache is given). */
  env(ccache?: string): NodeJS.ProcessEnv;
  /** argv that runs `cmd` with the realm's hosts and resolv.conf bind-mounted (a private mount namespace). */
  withNames(cmd: string, args: readonly string[]): [string, string[]];
  /** A TGT for `user` in its own ccache file; returns the ccache path. */
  kinit(user: string, password: string): Promise<string>;
  /** Run a command (bounded); never rejects for a non-zero exit. */
  run(cmd: string, args: readonly string[], o?: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv }): Promise<CommandResult>;
  /** samba-tool against this DC's database. */
  sambaTool(args: readonly string[]): Promise<CommandResult>;
  /** The tail of samba's log, for failure messages. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

function inPrivateNetns(): boolean {
  try {
    const names = fs.readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2).map((l) => l.trim().split(':')[0]).filter(Boolean);
    return names.length > 0 && names.every((n) => n === 'lo');
  } catch {
    return false;
  }
}

/** Run under coreutils `timeout` in a process group of its own. */
function run(cmd: string, args: readonly string[], o: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  const secs = String(Math.ceil((o.timeoutMs ?? 60_000) / 1000));
  return new Promise((resolve, reject) => {
    const child = spawn('timeout', ['--kill-after=5', secs, cmd, ...args], { env: o.env ?? process.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => { if (stdout.length < 1 << 20) stdout += b.toString(); });
    child.stderr!.on('data', (b: Buffer) => { if (stderr.length < 1 << 20) stderr += b.toString(); });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(o.input ?? '');
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function must(r: CommandResult, what: string): CommandResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => { clearTimeout(t); s.destroy(); resolve(ok); };
    const t = setTimeout(() => done(false), 1000);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const since = (t: number) => Math.round((Date.now() - t) / 10) / 100;

function krb5Conf(dcAddress: string): string {
  const { realm, dnsDomain } = DEMO_REALM;
  // No DNS lookups at all: the KDC by address, names mapped to the realm here. kpasswd_server
  // is what a member's `net ads changetrustpw` finds kpasswd by (admin_server alone: it falls
  // back to the name kerberos.REALM and fails).
  return `[libdefaults]
\tdefault_realm = ${realm}
\tdns_lookup_realm = false
\tdns_lookup_kdc = false
\trdns = false
\tdns_canonicalize_hostname = false
[realms]
\t${realm} = {
\t\tkdc = ${dcAddress}
\t\tadmin_server = ${dcAddress}
\t\tkpasswd_server = ${dcAddress}
\t}
[domain_realm]
\t.${dnsDomain} = ${realm}
\t${dnsDomain} = ${realm}
`;
}

/** Provision, create the accounts and keytabs, start samba; resolves once KDC, LDAP and RPC answer. */
export async function startAdDc(o: AdDcOptions = {}): Promise<AdDc> {
  if (!o.netns && !inPrivateNetns()) throw new Error('the AD DC fixture runs only inside a private network namespace (unshare -n), or in a named one (netns)');
  const dcAddress = o.dcAddress ?? '127.0.0.10';
  const { realm, domain, dnsDomain, dcName } = DEMO_REALM;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-ad-'));
  const dc = path.join(dir, 'dc');
  const smbConf = path.join(dc, 'etc', 'smb.conf');
  const krb5Path = path.join(dir, 'krb5.conf');
  const logDir = path.join(dir, 'log');
  fs.mkdirSync(logDir);
  fs.mkdirSync(path.join(dir, 'run'));
  let samba: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const killSamba = (signal: NodeJS.Signals) => {
    if (samba?.pid !== undefined && samba.exitCode === null && samba.signalCode === null) {
      try { process.kill(-samba.pid, signal); } catch { /* gone */ }
    }
  };
  const emergency = () => killSamba('SIGKILL');
  process.on('exit', emergency);
  const stop = async () => {
    killSamba('SIGTERM'); // the samba master ends its children (kdc, ldap, rpc, winbindd, ...)
    const kill = setTimeout(() => killSamba('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
    if (samba?.pid !== undefined) try { process.kill(-samba.pid, 'SIGKILL'); } catch { /* group empty */ }
    process.removeListener('exit', emergency);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const logTail = (lines = 40) => {
    try {
      return fs.readFileSync(path.join(logDir, 'samba.log'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no samba log)';
    }
  };

  try {
    for (const a of o.netns ? [] : [dcAddress, ...Object.values(o.hosts ?? {})]) {
      const r = await run('ip', ['addr', 'add', `${a}/8`, 'dev', 'lo'], { timeoutMs: 10_000 });
      if (r.code !== 0 && !/File exists|already assigned/i.test(r.stderr)) throw new Error(`ip addr add ${a}: ${r.stderr}`);
    }
    if (!o.netns) must(await run('ip', ['link', 'set', 'lo', 'up'], { timeoutMs: 10_000 }), 'ip link set lo up');
    fs.writeFileSync(krb5Path, krb5Conf(dcAddress));
    const hostLines = ['127.0.0.1 localhost', `${dcAddress} ${dcName}.${dnsDomain} ${dcName}`];
    for (const [n, a] of Object.entries(o.hosts ?? {})) hostLines.push(`${a} ${n}${n.includes('.') ? ` ${n.split('.')[0]}` : ''}`);
    fs.writeFileSync(path.join(dir, 'hosts'), `${hostLines.join('\n')}\n`);
    fs.writeFileSync(path.join(dir, 'resolv.conf'), `nameserver ${dcAddress}\n`);

    let t = Date.now();
    must(await run('samba-tool', [
      'domain', 'provision', '-s', '/dev/null', `--realm=${realm}`, `--domain=${domain}`, '--server-role=dc',
      '--dns-backend=SAMBA_INTERNAL', `--host-name=${dcName}`, `--host-ip=${dcAddress}`,
      `--adminpass=${o.adminPassword ?? 'Adm1n-Passw0rd!'}`, `--targetdir=${dc}`,
      `--option=interfaces=${dcAddress}`, '--option=bind interfaces only=yes',
    ], { timeoutMs: 180_000 }), 'samba-tool domain provision');
    const provision = since(t);
    // Logs and pid files in the instance dir; no DNS forwarder (the namespace has no route); no
    // NetBIOS (nothing here uses it).
    const conf = fs.readFileSync(smbConf, 'utf8')
      .replace(/\n\tdns forwarder = .*/, '')
      .replace('[global]\n', `[global]\n\tlog file = ${logDir}/samba.log\n\tmax log size = 0\n\tpid directory = ${dir}/run\n\tlog level = 1\n\tdns forwarder =\n\tdisable netbios = yes\n`);
    fs.writeFileSync(smbConf, conf);

    t = Date.now();
    const services = (o.services ?? []).map((s) => ({ ...s, keytab: path.join(dir, `${s.name}.keytab`) }));
    must(await run('/usr/bin/python3', [path.join(__dirname, 'ad-dc-accounts.py'), smbConf, JSON.stringify({ users: o.users ?? [], services })], { timeoutMs: 120_000 }), 'accounts');
    const accounts = since(t);

    t = Date.now();
    const lifetime = Math.ceil((o.lifetimeMs ?? 30 * 60_000) / 1000);
    // samba runs with a /run of its own (a tmpfs in a private mount namespace): its smbd reaches
    // winbindd through libwbclient's compiled-in /run/samba/winbindd (smb.conf cannot move it), and
    // nbtd/smbd want /run/samba, which a machine without systemd-tmpfiles lacks. Without it every
    // SMB session setup to the DC ends in NT_STATUS_INTERNAL_ERROR (and so does `net ads join`).
    const proc = spawn(o.netns ? 'ip' : 'unshare', [...(o.netns ? ['netns', 'exec', o.netns, 'unshare'] : []), '-m', '--propagation', 'private', 'sh', '-c',
      'mount -t tmpfs -o mode=0755 witnessd-dc-run /run && mkdir -p /run/samba && exec "$@"', 'samba',
      'samba', '-s', smbConf, '-F', '--no-process-group', `--maximum-runtime=${lifetime}`], {
      detached: true, stdio: ['ignore', fs.openSync(path.join(logDir, 'samba.out'), 'a'), fs.openSync(path.join(logDir, 'samba.out'), 'a')],
      env: { ...process.env, KRB5_CONFIG: krb5Path },
    });
    samba = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + 120_000;
    for (const port of [88, 389, 135]) {
      while (!(await canConnect(dcAddress, port))) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`samba exited (${proc.exitCode ?? proc.signalCode}) before port ${port} answered\n${logTail()}`);
        if (Date.now() > deadline) throw new Error(`samba: port ${port} on ${dcAddress} not answering after 120 s\n${logTail()}`);
        await sleep(100);
      }
    }
    const start = since(t);

    const env = (ccache?: string): NodeJS.ProcessEnv => ({ ...process.env, KRB5_CONFIG: krb5Path, ...(ccache ? { KRB5CCNAME: `FILE:${ccache}` } : {}) });
    return {
      dir, dcAddress, smbConf, krb5Conf: krb5Path, timings: { provision, accounts, start }, pid: proc.pid,
      keytab: (service) => path.join(dir, `${service}.keytab`),
      env,
      withNames: (cmd, args) => ['unshare', ['-m', '--propagation', 'private', 'sh', '-c',
        'mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/resolv.conf" /etc/resolv.conf && exec "$@"', dir, cmd, ...args]],
      async kinit(user, password) {
        const ccache = path.join(dir, `ccache-${user}`);
        must(await run('kinit', [`${user}@${realm}`], { input: `${password}\n`, env: env(ccache), timeoutMs: 30_000 }), `kinit ${user}`);
        return ccache;
      },
      run,
      sambaTool: (args) => run('samba-tool', [...args, '-s', smbConf], { timeoutMs: 60_000, env: env() }),
      logTail,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
