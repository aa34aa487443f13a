/**
 * Network set-up inside the test's private namespace: loopback addresses for the cluster's
 * nodes and LIFs, and waiting for TCP listeners.
 */
import * as net from 'node:net';
import { connectOnce } from '../../../scripts/lib/netns-cluster-procs';
import { inPrivateNetns } from './peers';
import { runTool, sleep } from './process';

/**
 * Add IPv4 addresses to lo (idempotent: "File exists" is fine). Refuses outside a private
 * namespace, so a test run by hand can never change the host's interfaces.
 */
export async function addLoopbackAddresses(addresses: readonly string[]): Promise<void> {
  if (!inPrivateNetns()) throw new Error('refusing to add loopback addresses outside a private network namespace');
  const up = await runTool('ip', ['link', 'set', 'lo', 'up'], { timeoutMs: 10_000 });
  if (up.code !== 0) throw new Error(`ip link set lo up: ${up.stderr}`);
  for (const a of addresses) {
    if (a === '127.0.0.1') continue; // always on lo
    const r = await runTool('ip', ['addr', 'add', `${a}/8`, 'dev', 'lo'], { timeoutMs: 10_000 });
    if (r.code !== 0 && !/File exists|already assigned/i.test(r.stderr)) throw new Error(`ip addr add ${a}: ${r.stderr.trim()}`);
  }
}

/** One connect attempt; true when something accepts on host:port (the cluster harness's probe). */
export const canConnect = connectOnce;

/** Poll until host:port accepts, or throw after `timeoutMs`. `alive()` false aborts early. */
export async function waitForPort(host: string, port: number, timeoutMs: number, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < deadline; i++) {
    if (await canConnect(host, port)) return;
    if (alive && !alive()) throw new Error(`process exited before ${host}:${port} accepted connections`);
    await sleep(Math.min(50 * (i + 1), 300));
  }
  throw new Error(`nothing accepted on ${host}:${port} within ${timeoutMs} ms`);
}

/** Poll until host:port refuses (a stopped listener). */
export async function waitForPortClosed(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await canConnect(host, port, 500))) return;
    await sleep(100);
  }
  throw new Error(`${host}:${port} still accepts connections after ${timeoutMs} ms`);
}

/** A free TCP port on `host` (bind 0, read, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
