/**
 * Process bookkeeping for the netns cluster (./netns-cluster.ts): bounded polling, liveness
 * and process-group signals of the daemons it spawned, the PIDs whose command line names the
 * cluster's own directory (helpers the daemons started), one TCP connect attempt, log tails.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { sleep } from '../../test/interop/helpers/process';

/** Poll `probe` until it gives a value; bounded in time and count; errors count as "not yet". */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (let i = 0; i < 100_000 && Date.now() < end; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
}

export function alive(p: ChildProcess | undefined): p is ChildProcess {
  return !!p && p.exitCode === null && p.signalCode === null;
}

export function signalGroup(p: ChildProcess | undefined, sig: NodeJS.Signals): void {
  if (!p?.pid) return;
  try {
    process.kill(-p.pid, sig);
  } catch {
    /* group gone */
  }
}

/** PIDs whose command line contains `needle` (this cluster's directory). */
export function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent) || Number(ent) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${ent}/cmdline`, 'utf8').includes(needle)) out.push(Number(ent));
    } catch {
      /* exited */
    }
  }
  return out;
}

export function connectOnce(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(t);
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Resolve once a spawned daemon is gone when it is dying or dead (a zombie, or no /proc entry:
 * signalled, exit not yet reaped by Node); true when it is gone, false when it still runs.
 */
export async function settled(p: ChildProcess | undefined, timeoutMs = 10_000): Promise<boolean> {
  if (!alive(p)) return true;
  let state = '';
  try {
    const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    state = 'gone';
  }
  if (state !== 'Z' && state !== 'gone') return false;
  await Promise.race([new Promise<void>((r) => p.once('exit', () => r())), sleep(timeoutMs)]);
  return true;
}

/** The last `lines` lines of each log that exists, labelled, for failure messages. */
export function logTails(files: ReadonlyArray<readonly [label: string, file: string]>, lines: number): string {
  const parts: string[] = [];
  for (const [label, file] of files) {
    try {
      parts.push(`--- ${label} ---\n${fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')}`);
    } catch {
      /* not there */
    }
  }
  return parts.join('\n');
}
