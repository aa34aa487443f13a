/**
 * Witness call rates (issue 7 target 3): Register + UnRegister pairs per second and
 * GetInterfaceList per second on 50 connections, one call in flight per connection, from a
 * light raw-replay client in its own process against witnessd (the daemon as configured,
 * logging included). No peer has a figure; the reference in the same run is ept_map on the
 * same server and client (the runtime's cheapest call), so the ratio shows what the Witness
 * layer costs on top of the RPC runtime.
 */
import { Child } from './lib/child';
import type { RateOp, RateResult } from './lib/rate-client';
import { pairedRatio, summarize } from './lib/stats';
import type { BenchOptions, BenchRow } from './lib/types';
import { closeAll, logPath } from './lib/util';

const CONNS = 50;

export async function run(o: BenchOptions): Promise<BenchRow[]> {
  const [server, client] = await Promise.all([
    Child.fork('witness-rate witnessd', 'server-host.ts', { logFile: logPath(o.workDir, 'witness-rate-witnessd') }),
    Child.fork('witness-rate client', 'rate-client.ts', { logFile: logPath(o.workDir, 'witness-rate-client') }),
  ]);
  try {
    const info = await server.request<{ witnessPort: number; epmPort: number; addresses: string[]; pid: number }>('witnessd-start', {});
    const durationMs = o.quick ? 400 : 5000;
    const warmupMs = o.quick ? 150 : 1000;
    const measure = (op: RateOp): Promise<RateResult> =>
      client.request<RateResult>('rate', {
        host: info.addresses[0], port: op === 'ept_map' ? info.epmPort : info.witnessPort, conns: CONNS, op,
        warmupMs, durationMs, serverPid: info.pid,
      }, durationMs + warmupMs + 60_000);
    const ops: RateOp[] = ['ept_map', 'GetInterfaceList', 'Register+UnRegister'];
    const res: Record<RateOp, RateResult[]> = { ept_map: [], GetInterfaceList: [], 'Register+UnRegister': [] };
    for (let i = 0; i < o.reps; i++) {
      for (const op of ops) {
        // BENCH_PROFILE=DIR: CPU profile of witnessd during the first repetition of each call.
        const profile = process.env.BENCH_PROFILE && i === 0;
        if (profile) await server.request('profile-start', {});
        const r = await measure(op);
        if (profile) o.log(`  profile: ${await server.request('profile-stop', { file: `${process.env.BENCH_PROFILE}/witness-rate-${op.replace(/\W/g, '')}.cpuprofile` })}`);
        if (r.errors > 0) throw new Error(`${op}: ${r.errors} errors (${r.firstError})`);
        res[op].push(r);
        o.log(`  ${op} rep ${i + 1}: ${r.perSecond.toFixed(0)}/s (client CPU ${r.clientCpuPct.toFixed(0)} %, server ${r.serverCpuPct.toFixed(0)} %)`);
      }
    }
    const per = (op: RateOp) => res[op].map((r) => r.perSecond);
    const ref = summarize(per('ept_map'));
    const row = (op: 'GetInterfaceList' | 'Register+UnRegister', unit: string): BenchRow => ({
      suite: 'witness-rate',
      name: `${op} on ${CONNS} connections`,
      unit,
      better: 'higher',
      value: summarize(per(op)),
      baseline: { name: `ept_map on ${CONNS} connections, same server and client`, value: ref },
      ratio: pairedRatio(per(op), per('ept_map')),
      cpu: {
        unit: '%',
        client: summarize(res[op].map((r) => r.clientCpuPct)),
        server: summarize(res[op].map((r) => r.serverCpuPct)),
        baselineClient: summarize(res.ept_map.map((r) => r.clientCpuPct)),
        baselineServer: summarize(res.ept_map.map((r) => r.serverCpuPct)),
      },
      notes: ['no peer figure exists (issue 7): reported against ept_map on the same server'],
    });
    return [row('Register+UnRegister', 'pairs/s'), row('GetInterfaceList', 'calls/s')];
  } finally {
    await closeAll(client, server);
  }
}
