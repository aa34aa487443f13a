/**
 * Memory (issue 7 target 5): resident memory of witnessd per registration with its
 * connection (bind + RegisterEx + a pending AsyncNotify) at N = 10,000, against the
 * raw-socket baseline: a plain Node server holding N idle loopback sockets. Each
 * repetition starts fresh server processes; RSS is read after a full GC before and after
 * the clients are set up. Target: ≤ 4 KiB per registration above the baseline.
 */
import { Child } from './lib/child';
import { pairedRatio, summarize } from './lib/stats';
import type { BenchOptions, BenchRow } from './lib/types';
import { closeAll, logPath, waitUntil } from './lib/util';

const RAW_HOST = '127.0.0.13';

interface Mem { rss: number; heapUsed: number; external: number; arrayBuffers: number }

async function one(kind: 'witnessd' | 'raw', n: number, o: BenchOptions, rep: number): Promise<{ rss: number; heap: number }> {
  const tag = `memory-${kind}-${rep}`;
  const [server, client] = await Promise.all([
    Child.fork(`${tag} server`, 'server-host.ts', { gc: true, logFile: logPath(o.workDir, `${tag}-server`) }),
    Child.fork(`${tag} client`, 'fleet-client.ts', { logFile: logPath(o.workDir, `${tag}-client`) }),
  ]);
  try {
    const timeout = 60_000 + n * 20;
    let before: Mem;
    if (kind === 'witnessd') {
      const info = await server.request<{ witnessPort: number; addresses: string[] }>('witnessd-start', {});
      before = await server.request<Mem>('mem');
      await client.request('witness-setup', {
        host: info.addresses[1] ?? info.addresses[0], port: info.witnessPort, n, netName: 'SOFS', ipAddress: '127.0.0.11', keepAliveSeconds: 600,
      }, timeout);
      await waitUntil('AsyncNotify pending', async () => (await server.request<{ waiting: number }>('witnessd-counts')).waiting === n, 30_000);
    } else {
      const port = await server.request<number>('raw-listen', { host: RAW_HOST });
      before = await server.request<Mem>('mem');
      await client.request('raw-setup', { host: RAW_HOST, port, n }, timeout);
      await waitUntil('sockets accepted', async () => (await server.request<number>('raw-count')) === n, 30_000);
    }
    const after = await server.request<Mem>('mem');
    return { rss: (after.rss - before.rss) / n, heap: (after.heapUsed - before.heapUsed) / n };
  } finally {
    await closeAll(client, server);
  }
}

export async function run(o: BenchOptions): Promise<BenchRow[]> {
  const n = o.quick ? 1_000 : 10_000;
  const ours: Array<{ rss: number; heap: number }> = [];
  const raw: Array<{ rss: number; heap: number }> = [];
  for (let i = 0; i < o.reps; i++) {
    raw.push(await one('raw', n, o, i));
    ours.push(await one('witnessd', n, o, i));
    o.log(`  N=${n} rep ${i + 1}: witnessd ${ours[i].rss.toFixed(0)} B/registration, raw sockets ${raw[i].rss.toFixed(0)} B/socket`);
  }
  const diff = summarize(ours.map((r, i) => r.rss - raw[i].rss));
  return [{
    suite: 'memory',
    name: `RSS per registration with its connection, N=${n.toLocaleString('en-US')}`,
    unit: 'B',
    better: 'lower',
    value: summarize(ours.map((r) => r.rss)),
    baseline: { name: `plain Node server holding ${n} idle sockets (RSS per socket)`, value: summarize(raw.map((r) => r.rss)) },
    ratio: pairedRatio(ours.map((r) => r.rss), raw.map((r) => r.rss)),
    target: { text: `≤ 4096 B above the baseline (median: ${diff.median.toFixed(0)} B)${n < 10_000 ? '; quick run at N=1,000, the target is for 10,000' : ''}`, met: diff.median <= 4096 },
    extra: {
      aboveBaselineBytes: diff,
      heapUsedPerRegistration: summarize(ours.map((r) => r.heap)),
      baselineHeapUsedPerSocket: summarize(raw.map((r) => r.heap)),
    },
  }];
}
