/**
 * A real Samba smbd for the detection benchmark, inside the caller's private network
 * namespace: every state path in a temp dir, bound to the node addresses on port 445, log
 * level 0. It runs detached (its own process group), so "the node dies" is one SIGKILL to
 * that group: the listener and every per-connection child go at once.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandboxDirs, sandboxGlobals } from '../../lib/samba-sandbox';
import { sleep } from './stats';
import { portOpen } from './util';

export interface Smbd {
  readonly pid: number;
  /** SIGKILL the whole process group. */
  kill(): void;
  running(): boolean;
}

function smbConf(dir: string, addresses: readonly string[]): string {
  return [
    '[global]',
    '  server role = standalone server',
    '  workgroup = BENCH',
    '  netbios name = BENCHNODE',
    ...sandboxGlobals(dir),
    `  interfaces = ${addresses.join(' ')}`,
    '  bind interfaces only = yes',
    '  smb ports = 445',
    '  log level = 0',
    '',
    '[data]',
    `  path = ${dir}/share`,
    '  guest ok = yes',
    '',
  ].join('\n');
}

/** Add the addresses to lo (only ever called inside a private network namespace). */
export function addLoopback(addresses: readonly string[]): void {
  for (const a of addresses) {
    try {
      execFileSync('ip', ['addr', 'add', `${a}/8`, 'dev', 'lo'], { stdio: 'ignore' });
    } catch {
      /* already there */
    }
  }
}

export async function startSmbd(dir: string, addresses: readonly string[], timeoutMs = 30_000): Promise<Smbd> {
  makeSandboxDirs(dir, ['log', 'share']);
  const conf = path.join(dir, 'smb.conf');
  fs.writeFileSync(conf, smbConf(dir, addresses));
  const out = fs.openSync(path.join(dir, 'log', 'stdout'), 'a');
  const proc: ChildProcess = spawn('/usr/sbin/smbd', ['-F', '--no-process-group', '-s', conf, '-d', '0', `--log-basename=${dir}/log`], {
    detached: true, stdio: ['ignore', out, out], cwd: dir,
  });
  fs.closeSync(out);
  let exited = false;
  proc.once('exit', () => (exited = true));
  const pid = proc.pid as number;
  const kill = (): void => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  const end = Date.now() + timeoutMs;
  for (const a of addresses) {
    while (!(await portOpen(a, 445))) {
      if (exited || Date.now() > end) {
        kill();
        throw new Error(`smbd did not listen on ${a}:445 (see ${dir}/log)`);
      }
      await sleep(100);
    }
  }
  return { pid, kill, running: () => !exited };
}
