/** Small orchestration helpers shared by the benchmarks. */
import * as path from 'node:path';
import * as net from 'node:net';
import { sleep } from './stats';

/** Poll `check` until it returns true; bounded by `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const logPath = (workDir: string, name: string): string => path.join(workDir, `${name}.log`);

/** Close every helper, whatever happens to the others. */
export async function closeAll(...items: Array<{ close(): Promise<void> } | undefined>): Promise<void> {
  await Promise.allSettled(items.map((i) => i?.close()));
}

/** A TCP connect to host:port succeeds within 0.5 s. */
export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * witnessd's connection limit in the 10,000-client benchmarks (fan-out, memory): above the
 * runtime's default of 10,000, of which the witness port leaves some for the endpoint mapper.
 */
export const BENCH_MAX_CONNECTIONS = 20_000;
