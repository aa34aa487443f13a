/** CPU time of any process (Samba's workers too) from /proc, in ms (10 ms ticks). */
import * as fs from 'node:fs';

const TICK_MS = 10; // CLK_TCK is 100 on Linux

export function cpuMsOfPid(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

export function cpuMsOfPids(pids: readonly number[]): number {
  let sum = 0;
  for (const p of pids) {
    const v = cpuMsOfPid(p);
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}
