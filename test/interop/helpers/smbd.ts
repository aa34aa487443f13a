/**
 * A real Samba smbd beside witnessd (INTEROP.md "A real smbd beside witnessd"): a minimal
 * smb.conf with every state path inside a private temp directory, bound only to the given
 * node addresses, one guest share. It is the SMB server the health watcher probes and the
 * one smbtorture asks for shares (srvsvc over IPC$, served by samba-dcerpcd on demand).
 *
 * smbd runs in its own session (spawned detached == setsid): without that it ends the
 * caller's process group when it exits. On stop we end its process group and then the
 * samba-dcerpcd helper it started (which runs in a session of its own), found by its
 * command line naming *this instance's* private smb.conf — nothing else is touched.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addLoopbackAddresses, waitForPort, waitForPortClosed } from './net';
import { makeSandboxDirs, sandboxGlobals } from '../../../scripts/lib/samba-sandbox';
import { peerPath } from './peers';
import { onEmergencyExit, runTool, RunningTool, sleep, startTool, tail } from './process';

export interface SmbdOptions {
  /** IPv4 addresses smbd binds (added to lo first; Samba only binds existing addresses). */
  readonly addresses: readonly string[];
  readonly netbiosName?: string;
  readonly workgroup?: string;
  /** Share names to export (each a directory in the instance dir). Default ['data']. */
  readonly shares?: readonly string[];
  /** Lifetime limit; the fixture kills smbd after this. Default 30 min. */
  readonly lifetimeMs?: number;
  /** Parent directory for the instance dir (default os.tmpdir()). */
  readonly parentDir?: string;
  /**
   * An account smbd accepts with NTLM (so clients with credentials get a real, signed SMB
   * session: Samba clients require signing on IPC$, which a guest session cannot give).
   * smbd needs a Unix user behind every account; the fixture maps this name to `nobody`
   * with a `username map`, so the host's user database is never touched.
   */
  readonly account?: { readonly user: string; readonly password: string };
  /**
   * The addresses are on lo already and must stay as they are (the CTDB harness's /32 host
   * addresses: adding them again as /8 would make every 127.x address local).
   */
  readonly addressesPresent?: boolean;
}

export interface SmbdInstance {
  readonly dir: string;
  readonly confPath: string;
  readonly addresses: readonly string[];
  readonly pid: number | undefined;
  /** True while the smbd process runs. */
  readonly running: boolean;
  /** Stop smbd (and its samba-dcerpcd) and wait until port 445 refuses on every address. */
  stop(): Promise<void>;
  /** Start again with the same configuration (after stop()). */
  restart(): Promise<void>;
  /** smbd's log tail, for failure messages. */
  logTail(): string;
  /** Stop and remove the instance directory. */
  dispose(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

function smbConf(dir: string, o: SmbdOptions): string {
  const shares = o.shares ?? ['data'];
  const lines = [
    '[global]',
    '  server role = standalone server',
    `  workgroup = ${o.workgroup ?? 'DEMO'}`,
    `  netbios name = ${o.netbiosName ?? 'WITNESSTEST'}`,
    ...sandboxGlobals(dir),
    `  log file = ${dir}/log/log.%m`,
    `  interfaces = ${o.addresses.join(' ')}`,
    '  bind interfaces only = yes',
    '  smb ports = 445',
    '  map to guest = Bad User',
    ...(o.account ? [`  username map = ${dir}/usermap`] : []),
    '',
  ];
  for (const s of shares) {
    lines.push(`[${s}]`, `  path = ${dir}/shares/${s}`, '  guest ok = yes', '  read only = no', '');
  }
  return lines.join('\n');
}

/** PIDs whose command line mentions `needle` (our instance's private config path). */
function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    if (pid === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${ent}/cmdline`, 'utf8');
      if (cmd.includes(needle)) out.push(pid);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

async function killByConfig(confPath: string): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const pids = pidsMentioning(confPath);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        /* gone */
      }
    }
    for (let i = 0; i < 30 && pidsMentioning(confPath).length > 0; i++) await sleep(100);
  }
}

const UNIX_USER = 'nobody';

/** tdbsam entry for the Unix user `nobody`, reached through `username map` by `account.user`. */
async function addAccount(dir: string, confPath: string, account: { user: string; password: string }): Promise<void> {
  if (!/^[\w.-]+$/.test(account.user)) throw new Error(`smbd fixture: unsupported account name ${JSON.stringify(account.user)}`);
  fs.writeFileSync(path.join(dir, 'usermap'), `${UNIX_USER} = ${account.user}\n`);
  const r = await runTool('pdbedit', ['-s', confPath, '-a', '-u', UNIX_USER, '-t'], {
    timeoutMs: 30_000,
    input: `${account.password}\n${account.password}\n`,
  });
  if (r.code !== 0) throw new Error(`pdbedit could not add the smbd account: ${r.stderr || r.stdout}`);
}

export async function startSmbd(o: SmbdOptions): Promise<SmbdInstance> {
  const smbd = peerPath('smbd');
  if (!smbd) throw new Error('smbd is not installed (Debian package samba)');
  if (!o.addressesPresent) await addLoopbackAddresses(o.addresses);
  const dir = fs.mkdtempSync(path.join(o.parentDir ?? os.tmpdir(), 'witness-smbd-'));
  makeSandboxDirs(dir, ['log', 'shares']);
  for (const s of o.shares ?? ['data']) fs.mkdirSync(path.join(dir, 'shares', s));
  const confPath = path.join(dir, 'smb.conf');
  fs.writeFileSync(confPath, smbConf(dir, o));
  if (o.account) await addAccount(dir, confPath, o.account);

  let tool: RunningTool | undefined;
  // If the test process dies without dispose(): samba-dcerpcd and its workers run in a session
  // of their own, so killing smbd's group is not enough.
  const unregisterEmergency = onEmergencyExit(() => {
    for (const pid of pidsMentioning(confPath)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const launch = async (): Promise<void> => {
    // Unwrapped (no `timeout`): smbd must be its own session leader; lifetime enforced by startTool.
    tool = startTool(smbd, ['-F', '--no-process-group', '-s', confPath, '-d', '1', `--log-basename=${dir}/log`], {
      timeoutMs: o.lifetimeMs ?? 30 * 60_000,
      unwrapped: true,
      stdin: 'ignore',
      cwd: dir,
    });
    const t = tool;
    try {
      for (const a of o.addresses) await waitForPort(a, 445, START_TIMEOUT_MS, () => t.running);
    } catch (e) {
      await stop();
      throw new Error(`smbd did not start: ${(e as Error).message}\n${t.stdout}\n${t.stderr}\n${logTail()}`);
    }
  };

  const logTail = (): string => {
    const parts: string[] = [];
    try {
      for (const f of fs.readdirSync(path.join(dir, 'log'))) parts.push(`== ${f}\n${tail(fs.readFileSync(path.join(dir, 'log', f), 'utf8'), 15)}`);
    } catch {
      /* no logs yet */
    }
    return parts.join('\n');
  };

  const stop = async (): Promise<void> => {
    if (tool) await tool.stop(5000);
    await killByConfig(confPath);
    for (const a of o.addresses) await waitForPortClosed(a, 445, 10_000);
  };

  try {
    await launch();
  } catch (e) {
    unregisterEmergency();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  return {
    dir,
    confPath,
    addresses: o.addresses,
    get pid() {
      return tool?.pid;
    },
    get running() {
      return tool?.running ?? false;
    },
    stop,
    restart: launch,
    logTail,
    async dispose() {
      await stop();
      unregisterEmergency();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
