/**
 * The fault matrix (issue 22 item 5, issue 21 item 10): `npm run bench -- --only faults`.
 * A three-node netns cluster (scripts/lib/netns-cluster.ts: ctdbd 4.22 with CTDB's default
 * keepalive, clustered smbd, a Witness service per node), 1,000 signed registrations spread
 * over the public IPs (scripts/lib/fault-fleet.ts), every fault of scripts/lib/fault-matrix.ts
 * in turn, each timed from the fault to the last affected client told and checked for lost
 * registrations, duplicates, false notifications and every Witness service answering after.
 * witnessd (its event script, the peer watch) and Samba 4.22's rpcd_witness on an identical
 * cluster, in the same run. --quick: 60 registrations and four faults.
 */
import { FaultFleet } from '../lib/fault-fleet';
import { FAULTS, runFault, spread, type FaultResult } from '../lib/fault-matrix';
import { DEFAULT_SERVER, NetnsCluster, type WitnessKind } from '../lib/netns-cluster';
import { summarize } from './lib/stats';
import type { BenchOptions, BenchRow } from './lib/types';

/** CTDB's own defaults (the harness shortens them for its other tests): the "CTDB alone" column. */
const CTDB_DEFAULT_KEEPALIVE = { KeepaliveInterval: 5, KeepaliveLimit: 5 };
const QUICK = ['whole node hung (ctdbd, smbd, witnessd SIGSTOP) 10 s', 'smbd killed, ctdbd up', 'ctdbd kill -9, one node', 'slow node: 1 s stalls every 3 s for 60 s'];

async function matrix(kind: WitnessKind, n: number, names: readonly string[], log: (m: string) => void): Promise<FaultResult[]> {
  const c = await NetnsCluster.start({ witness: kind, tunables: CTDB_DEFAULT_KEEPALIVE, startTimeoutMs: 300_000 });
  log(`${kind}: cluster up in ${(c.timings.total / 1000).toFixed(0)} s`);
  const fleet = new FaultFleet({ netName: kind === 'rpcd_witness' ? DEFAULT_SERVER.netbiosName.toLowerCase() : DEFAULT_SERVER.netbiosName, account: c.account });
  const out: FaultResult[] = [];
  try {
    await fleet.register(spread(c, n));
    log(`${kind}: ${n} registrations`);
    for (const f of FAULTS.filter((x) => names.includes(x.name))) {
      try {
        out.push(await runFault(c, fleet, f, (m) => log(`${kind}: ${m}`)));
      } catch (e) {
        log(`${kind}: ${f.name} failed: ${(e as Error).message}`);
      }
    }
  } finally {
    fleet.close();
    await c.stop();
  }
  return out;
}

const ms = (v: number | undefined): string => (v === undefined ? 'not told' : `${(v / 1000).toFixed(2)} s`);

/** The README's table. */
export function faultTable(ours: readonly FaultResult[], samba: readonly FaultResult[]): string {
  const rows = ours.map((r) => {
    const s = samba.find((x) => x.fault === r.fault);
    const told = r.affected ? `${ms(r.lastToldMs)} (${r.told}/${r.affected})` : '— (none due)';
    const theirs = s ? (s.affected ? `${ms(s.lastToldMs)} (${s.told}/${s.affected})` : '— (none due)') : 'not run';
    return `| ${r.fault} | ${told} | ${r.ctdbAlone} | ${theirs} | ${r.lost} | ${r.duplicates} | ${r.falseNotifications} | ${r.serving ? 'yes' : 'NO'} |`;
  });
  return ['| fault | witnessd: last client told | CTDB alone | Samba rpcd_witness | lost | duplicates | false | all serving after |', '|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}

export async function run(o: BenchOptions): Promise<BenchRow[]> {
  const log = typeof o.log === 'function' ? o.log : (m: string): void => void process.stderr.write(`[faults ${new Date().toISOString()}] ${m}\n`);
  const n = o.quick ? 60 : 1000;
  // BENCH_FAULTS='name start;name start': only these (diagnosis; never set by the suite).
  const picked = process.env.BENCH_FAULTS?.split(';').filter(Boolean);
  const names = picked ? FAULTS.map((f) => f.name).filter((x) => picked.some((p) => x.startsWith(p))) : o.quick ? QUICK : FAULTS.map((f) => f.name);
  const ours = await matrix('witnessd', n, names, log);
  const samba = process.env.BENCH_FAULTS_NO_SAMBA ? [] : await matrix('rpcd_witness', n, names, log);
  const table = faultTable(ours, samba);
  log(`\n${table}`);
  return ours.map((r): BenchRow => {
    const s = samba.find((x) => x.fault === r.fault);
    return {
      suite: 'faults',
      name: `${r.fault}: fault → last of ${n} clients told`,
      unit: 'ms',
      better: 'lower',
      value: summarize([r.lastToldMs ?? NaN]),
      ...(s ? { baseline: { name: 'Samba 4.22 rpcd_witness, same client, same run', value: summarize([s.lastToldMs ?? NaN]) } } : {}),
      target: { text: 'no lost, duplicate or false notification; every witness serving', met: r.lost === 0 && r.duplicates === 0 && r.falseNotifications === 0 && r.serving },
      extra: { ours: r, samba: s, table },
    };
  });
}
