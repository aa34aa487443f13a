/**
 * Fan-out diagnosis (issue 24 item 3), not part of `npm run bench`: witnessd's server CPU per
 * node fail/recover against the raw write-to-all's, N clients (N=, default 2000), and with
 * STRACE=1 each window's syscalls (strace -c -f on the server process: per-client write,
 * setsockopt, epoll_ctl counts), or with PROF=1 CPU profiles of both servers in /tmp/perf2.
 * WFLAGS: node flags for witnessd's process (e.g. --trace-gc).
 * CALLGRIND=1: witnessd runs under valgrind --tool=callgrind, collecting only in each node
 * fail/recover window (till the last client was told, plus 300 ms for what is deferred);
 * prints each window's instruction count (load-independent, unlike CPU time; JIT code counts,
 * the kernel's side of the writes does not). Compare two N for a per-delivery figure.
 *
 *   N=10000 STRACE=1 node -r ./scripts/bench/lib/register.js scripts/bench/fanout-diag.ts
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { AdminClient } from '../../src/admin/client';
import { Child } from './lib/child';
import { BENCH_MAX_CONNECTIONS, closeAll, waitUntil } from './lib/util';
import { sleep } from './lib/stats';

async function straced<T>(pid: number, what: string, f: () => Promise<T>): Promise<T> {
  const p = spawn('strace', ['-c', '-f', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  p.stderr.on('data', (d) => (out += d));
  await sleep(1000);
  const r = await f();
  await sleep(300);
  p.kill('SIGINT');
  await new Promise((res) => p.on('exit', res));
  console.log(`=== ${what}\n${out}`);
  return r;
}

const run = (cmd: string, args: string[]): Promise<void> =>
  new Promise((res, rej) => spawn(cmd, args, { stdio: 'ignore' }).on('exit', (c) => (c === 0 ? res() : rej(new Error(`${cmd} ${args.join(' ')}: exit ${c}`)))));

/** Each window's fan-out part (server-host's mark-fan-out), in window order. */
const fanOutIr: number[] = [];

/** Instructions (Ir) callgrind counted in `f` alone: zeroed before, dumped after. */
async function counted<T>(pid: number, what: string, f: () => Promise<T>): Promise<T> {
  // In this order: zeroing before instrumentation is on, or turning it off before the dump, dumps 0.
  const dumps = (): string[] => fs.readdirSync('/tmp/perf2').filter((f) => f.startsWith(`cg.${pid}.`)).map((f) => `/tmp/perf2/${f}`);
  const before = new Set(dumps());
  await run('callgrind_control', ['-i', 'on', String(pid)]);
  await run('callgrind_control', ['-z', String(pid)]);
  const r = await f();
  await sleep(300);
  await run('callgrind_control', ['-d', what.replace(/\s/g, '_'), String(pid)]);
  await run('callgrind_control', ['-i', 'off', String(pid)]);
  // Dumps in order: up to the fan-out (admin request, event), the fan-out (mark-fan-out), after it.
  const mine = dumps().filter((d) => !before.has(d)).sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
  const ir = mine.map((d) => Number(/^(?:summary|totals): (\d+)/m.exec(fs.readFileSync(d, 'utf8'))?.[1] ?? NaN));
  const total = ir.reduce((a, b) => a + b, 0);
  console.log(`${what}: ${total} Ir in all; parts ${ir.join(' / ')} (${mine.join(' ')})`);
  if (ir.length === 3) fanOutIr.push(ir[1]);
  return r;
}

async function main(): Promise<void> {
  fs.mkdirSync('/tmp/perf2', { recursive: true });
  const n = Number(process.env.N ?? 2000);
  const cg = process.env.CALLGRIND !== undefined;
  const slow = cg ? 20 : 1;
  const [server, raw, client, rawClient] = await Promise.all([
    Child.fork('w', 'server-host.ts', {
      logFile: '/tmp/perf2/w.log', nodeFlags: process.env.WFLAGS?.split(' ').filter(Boolean), readyTimeoutMs: 60_000 * slow,
      wrapper: cg ? ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--callgrind-out-file=/tmp/perf2/cg.%p', '--dump-before=getegid'] : undefined,
    }),
    Child.fork('r', 'server-host.ts', {}),
    Child.fork('c', 'fleet-client.ts', {}),
    Child.fork('rc', 'fleet-client.ts', {}),
  ]);
  try {
    const info = await server.request<{ witnessPort: number; adminUrl: string; addresses: string[] }>('witnessd-start', {
      auth: {}, witness: { forcedUnregisterSeconds: 0 }, limits: { maxConnections: BENCH_MAX_CONNECTIONS },
    });
    const rawPort = await raw.request<number>('raw-listen', { host: '127.0.0.13' });
    await client.request('witness-setup', { host: info.addresses[1] ?? info.addresses[0], port: info.witnessPort, n, netName: 'SOFS', ipAddress: '127.0.0.11', keepAliveSeconds: 600, auth: { kind: 'none' } }, 120_000 * slow);
    const waiting = async (): Promise<boolean> => (await server.request<{ waiting: number }>('witnessd-counts', {}, 60_000 * slow)).waiting === n;
    await waitUntil('pending', waiting, 30_000 * slow);
    await rawClient.request('raw-setup', { host: '127.0.0.13', port: rawPort, n }, 120_000);
    await waitUntil('raw', async () => (await raw.request<number>('raw-count')) === n, 30_000);
    if (cg) await server.request('mark-fan-out');
    const admin = new AdminClient({ url: info.adminUrl, timeoutMs: 60_000 * slow });
    for (const action of cg ? Array.from({ length: Number(process.env.WINDOWS ?? 9) }, (_, i) => (i % 2 ? 'recover' : 'fail')) : ['fail', 'recover', 'fail', 'recover', 'fail']) {
      await client.request('expect', {});
      const go = async () => {
        const c0 = await server.cpuMs();
        await admin.post(`/v1/nodes/node1/${action}`);
        await client.request('wait', { timeoutMs: 30_000 * slow, changeType: action === 'fail' ? 255 : 1 }, 60_000 * slow);
        console.log(`witnessd ${action} server cpu ${((await server.cpuMs()) - c0).toFixed(1)} ms`);
      };
      if (process.env.PROF) {
        await server.request('profile-start', { intervalUs: 50 });
        await go();
        await server.request('profile-stop', { file: `/tmp/perf2/${action}-${Date.now()}.cpuprofile` });
      } else if (process.env.STRACE) await straced(server.pid, `witnessd ${action} n=${n}`, go);
      else if (cg) await counted(server.pid, `witnessd ${action} n=${n}`, go);
      else await go();
      await client.request('arm');
      await waitUntil('re-armed', waiting, 30_000 * slow, 20);
    }
    for (let i = 0; i < (cg ? 0 : 3); i++) {
      await rawClient.request('expect', { bytes: 164 });
      const c0 = await raw.cpuMs();
      if (process.env.PROF) await raw.request('profile-start', { intervalUs: 50 });
      const b = await raw.request<{ loopMs: number; loopUserMs: number; loopSysMs: number }>('raw-blast', { size: 164 });
      console.log(`raw loop: user ${b.loopUserMs.toFixed(1)} sys ${b.loopSysMs.toFixed(1)} wall ${b.loopMs.toFixed(1)} ms`);
      if (process.env.PROF) await raw.request('profile-stop', { file: `/tmp/perf2/raw-${i}.cpuprofile` });
      await rawClient.request('wait', { timeoutMs: 30_000 }, 60_000);
      console.log(`raw server cpu ${((await raw.cpuMs()) - c0).toFixed(1)} ms`);
    }
    if (cg) {
      // The first windows carry V8's tiering up (and compiling under --single-threaded): the later half, median.
      const late = fanOutIr.slice(Math.floor(fanOutIr.length / 2)).sort((a, b) => a - b);
      const med = late[Math.floor(late.length / 2)];
      console.log(`fan-out loop, median of the last ${late.length} windows: ${med} Ir = ${(med / n).toFixed(0)} Ir per delivery (n=${n}; min ${late[0]}, max ${late[late.length - 1]})`);
    }
  } finally {
    await closeAll(client, rawClient, server, raw);
  }
}
void main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
