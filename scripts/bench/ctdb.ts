/**
 * CTDB benchmark (issue 17): on a real three-node CTDB cluster (loopback, private network
 * namespace: main.ts runs this module under unshare -n), N clients registered at a surviving
 * node (PNN 1) for the failing node's (PNN 0) public IP, each with a signed AsyncNotify pending.
 *
 * - kill -9 of PNN 0's ctdbd → the last client's answer (N = 100, 1,000, 5,000; reps each);
 * - `ctdb moveip` and `ctdb disable` of PNN 0's IP → per client, the lead time: the moment the
 *   address left PNN 0 (10.interface's releaseip, logged by the harness) minus the client's
 *   receipt (positive = told before the move);
 * - the CPU the service used in the window, and its memory per registration.
 * witnessd (one per node, CTDB source, started by its event script) against Samba 4.22's own
 * rpcd_witness on an identical cluster in the same run, driven by the same client
 * (lib/ctdb-fleet.ts). Figures: min / median / max over the repetitions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CtdbCluster, nodeAddress, publicIp, type CtdbClusterOptions } from '../../test/interop/helpers/ctdb-cluster';
import { CTDB_SERVER, killWitnessds, waitWitnessdUp, witnessdClusterOptions, witnessdPid } from '../../test/interop/helpers/ctdb-witnessd';
import { Child } from './lib/child';
import { cpuMsOfPids } from './lib/proc';
import { SambaOnCtdb, SAMBA_NETBIOS } from './lib/samba-ctdb';
import { monoMs, sleep, summarize } from './lib/stats';
import type { BenchOptions, BenchRow, Summary } from './lib/types';
import { logPath } from './lib/util';

const ACCOUNT = { domain: 'BENCH', user: 'bench', password: 'bench-password' };
const FAILING = 0;
const SURVIVOR = 1;
const OTHER = 2;

/** One Witness service on the cluster: Samba's or ours. */
export interface CtdbService {
  readonly name: string;
  /** NetName clients register with. */
  readonly netName: string;
  /** Cluster options (event scripts, per-node preparation) the service needs. */
  clusterOptions(): CtdbClusterOptions;
  /** After the cluster is up (and after a node restart: `pnn`). */
  startNode(cluster: CtdbCluster, pnn: number): Promise<void>;
  startAll(cluster: CtdbCluster): Promise<void>;
  /** Processes whose CPU and memory count as the service's on node `pnn`. */
  pids(pnn: number): number[];
  stopAll(): Promise<void>;
}

interface Timing {
  readonly lastMs: number;
  readonly received: number;
  readonly kinds: Record<string, number>;
  readonly serviceCpuMs: number;
}

interface Lead {
  /** Per client: release time − receipt time, ms (positive = told first). */
  readonly leadsMs: number[];
  readonly kinds: Record<string, number>;
}

function rssKb(pids: readonly number[]): number {
  let kb = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* exited */
    }
  }
  return kb;
}

/** Restart PNN 0 after a kill (its ctdbd, then its service), back to IP i on node i. */
async function heal(cluster: CtdbCluster, svc: CtdbService): Promise<void> {
  if (cluster.pid(FAILING) === undefined) await cluster.startNode(FAILING);
  await cluster.waitAllOk(120_000);
  await svc.startNode(cluster, FAILING);
  await cluster.placeIps(60_000);
}

/**
 * N registrations with an AsyncNotify pending. Returns how many were answered before the
 * action (Samba drops a registration 30 s after the client's last call, CTDB.md: a setup
 * longer than that loses the first ones), and the setup time.
 */
async function register(fleet: Child, svc: CtdbService, n: number): Promise<{ early: number; setupMs: number }> {
  const r = await fleet.request<{ ms: number; early: number }>('setup', {
    host: nodeAddress(SURVIVOR), n, netName: svc.netName, ipAddress: publicIp(FAILING),
    domain: ACCOUNT.domain, user: ACCOUNT.user, password: ACCOUNT.password,
  }, 10 * 60_000);
  await sleep(500); // every AsyncNotify has reached the server
  return { early: r.early, setupMs: r.ms };
}

async function killRep(cluster: CtdbCluster, svc: CtdbService, fleet: Child, n: number): Promise<Timing> {
  const reg = await register(fleet, svc, n);
  const pids = svc.pids(SURVIVOR);
  const cpu0 = cpuMsOfPids(pids);
  const t0 = monoMs();
  await cluster.killNode(FAILING);
  const r = await fleet.request<{ times: number[]; received: number; kinds: Record<string, number> }>('wait', { timeoutMs: 60_000 }, 120_000);
  const serviceCpuMs = cpuMsOfPids(pids) - cpu0;
  await fleet.request('close-all');
  // A client answered before the kill has no figure for it: the repetition counts as failed.
  const last = reg.early === 0 && r.received === r.times.length ? Math.max(...r.times) - t0 : NaN;
  await heal(cluster, svc);
  return { lastMs: last, received: r.received, kinds: { ...r.kinds, ...(reg.early ? { [`answered before the kill (setup ${(reg.setupMs / 1000).toFixed(0)} s)`]: reg.early } : {}) }, serviceCpuMs };
}

/** A planned move of PNN 0's IP (moveip to PNN 2, or disable PNN 0); lead time per client. */
async function plannedRep(cluster: CtdbCluster, svc: CtdbService, fleet: Child, n: number, how: 'moveip' | 'disable'): Promise<Lead> {
  await register(fleet, svc, n);
  const wall0 = Date.now();
  const mono0 = monoMs();
  if (how === 'moveip') await cluster.ctdbOk(FAILING, ['moveip', publicIp(FAILING), String(OTHER)]);
  else await cluster.ctdbOk(FAILING, ['disable']);
  const r = await fleet.request<{ times: number[]; received: number; kinds: Record<string, number> }>('wait', { timeoutMs: 60_000 }, 120_000);
  await fleet.request('close-all');
  const del = await cluster.waitFor(`${publicIp(FAILING)} released by PNN ${FAILING}`, async () => cluster.findEvent(FAILING, 'ip-del', wall0, publicIp(FAILING)), 60_000);
  // events.log is wall clock, the client's times monotonic: map through the common start.
  const releaseMono = mono0 + (del.at - wall0);
  const leadsMs = r.times.filter((t) => t > 0).map((t) => releaseMono - t);
  if (how === 'disable') await cluster.ctdbOk(FAILING, ['enable']);
  await heal(cluster, svc);
  return { leadsMs, kinds: r.kinds };
}

export interface ServiceFigures {
  readonly kill: Record<number, { last: Summary; cpuMs: Summary; kinds: Record<string, number>[] }>;
  readonly moveip: { lead: Summary; kinds: Record<string, number>[] };
  readonly disable: { lead: Summary; kinds: Record<string, number>[] };
  /** Service RSS growth on the survivor per registration at the largest N, bytes. */
  readonly bytesPerRegistration: number;
  readonly startupMs: number;
}

export async function measureService(svc: CtdbService, o: { ns: readonly number[]; reps: number; plannedN: number; workDir: string; log: (m: string) => void }): Promise<ServiceFigures> {
  const cluster = await CtdbCluster.start(svc.clusterOptions());
  o.log(`${svc.name}: CTDB cluster up in ${(cluster.startupMs / 1000).toFixed(1)} s (${cluster.dir})`);
  const fleet = await Child.fork(`${svc.name}-fleet`, 'ctdb-fleet.ts', { logFile: logPath(o.workDir, `ctdb-fleet-${svc.name}`) });
  try {
    await svc.startAll(cluster);
    const kill: ServiceFigures['kill'] = {};
    let bytesPerRegistration = NaN;
    for (const n of o.ns) {
      const last: number[] = [];
      const cpu: number[] = [];
      const kinds: Record<string, number>[] = [];
      for (let rep = 0; rep < o.reps; rep++) {
        if (n === o.ns[o.ns.length - 1] && rep === 0) {
          const before = rssKb(svc.pids(SURVIVOR));
          await register(fleet, svc, n);
          bytesPerRegistration = ((rssKb(svc.pids(SURVIVOR)) - before) * 1024) / n;
          await fleet.request('close-all');
          await sleep(1000);
        }
        const t = await killRep(cluster, svc, fleet, n);
        o.log(`${svc.name}: kill -9, N = ${n}, rep ${rep + 1}: last client after ${t.lastMs.toFixed(0)} ms (${t.received}/${n}: ${JSON.stringify(t.kinds)})`);
        last.push(t.lastMs);
        cpu.push(t.serviceCpuMs);
        kinds.push(t.kinds);
      }
      kill[n] = { last: summarize(last), cpuMs: summarize(cpu), kinds };
    }
    const planned = async (how: 'moveip' | 'disable'): Promise<{ lead: Summary; kinds: Record<string, number>[] }> => {
      const leads: number[] = [];
      const kinds: Record<string, number>[] = [];
      for (let rep = 0; rep < o.reps; rep++) {
        const l = await plannedRep(cluster, svc, fleet, o.plannedN, how);
        const s = summarize(l.leadsMs);
        o.log(`${svc.name}: ${how}, N = ${o.plannedN}, rep ${rep + 1}: lead ${s.min.toFixed(0)} / ${s.median.toFixed(0)} / ${s.max.toFixed(0)} ms (${JSON.stringify(l.kinds)})`);
        leads.push(...l.leadsMs);
        kinds.push(l.kinds);
      }
      return { lead: summarize(leads), kinds };
    };
    const moveip = await planned('moveip');
    const disable = await planned('disable');
    return { kill, moveip, disable, bytesPerRegistration, startupMs: cluster.startupMs };
  } finally {
    await fleet.close();
    await svc.stopAll();
    await cluster.stop(); // CTDB_TEST_KEEP=1 keeps the logs
  }
}

export function sambaService(): CtdbService {
  let samba: SambaOnCtdb | undefined;
  return {
    name: 'samba',
    netName: SAMBA_NETBIOS.toLowerCase(),
    clusterOptions: () => ({}),
    startAll: async (cluster) => {
      samba = new SambaOnCtdb(cluster, path.join(cluster.dir, 'samba'), ACCOUNT);
      await samba.startAll();
    },
    startNode: async (_cluster, pnn) => samba?.start(pnn),
    pids: (pnn) => samba?.pids(pnn) ?? [],
    stopAll: async () => samba?.stopAll(),
  };
}

/** witnessd on every node, started by CTDB through the shipped event script. */
export function witnessdService(): CtdbService {
  let cluster: CtdbCluster | undefined;
  return {
    name: 'witnessd',
    netName: CTDB_SERVER.netbiosName,
    clusterOptions: () => witnessdClusterOptions({ account: ACCOUNT, logLevel: 'info' }),
    startAll: async (c) => {
      cluster = c;
      await waitWitnessdUp(c);
    },
    // A killed ctdbd leaves its node's witnessd running (it reconnects); startup finds it there.
    startNode: async () => undefined,
    pids: (pnn) => {
      const pid = cluster && witnessdPid(cluster, pnn);
      return pid ? [pid] : [];
    },
    stopAll: async () => {
      if (cluster) killWitnessds(cluster);
    },
  };
}

const fmtS = (s: Summary): string => `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;

export async function run(o: BenchOptions): Promise<BenchRow[]> {
  const ns = o.quick ? [20] : [100, 1000, 5000];
  // Run in main.ts's netns helper process, `o` came over IPC without its log function.
  const log = typeof o.log === 'function' ? o.log : (m: string): void => void process.stderr.write(`[ctdb ${new Date().toISOString()}] ${m}\n`);
  const common = { ns, reps: o.reps, plannedN: o.quick ? 20 : 100, workDir: o.workDir, log };
  const samba = await measureService(sambaService(), common);
  const ours = await measureService(witnessdService(), common);
  const rows: BenchRow[] = [];
  for (const n of ns) {
    const a = ours.kill[n].last;
    const b = samba.kill[n].last;
    const ratio = summarize(a.samples.map((v, i) => v / b.samples[i]));
    rows.push({
      suite: 'ctdb',
      name: `kill -9 ctdbd → last of ${n.toLocaleString('en-US')} notified`,
      unit: 'ms',
      better: 'lower',
      value: a,
      baseline: { name: 'Samba 4.22 rpcd_witness, same client, same run', value: b },
      ratio,
      target: { text: n === 1000 ? '≤ 0.25× Samba and < 500 ms' : '≤ 0.25× Samba', met: a.median <= 0.25 * b.median && (n !== 1000 || a.median < 500) },
      cpu: { unit: 'ms', server: ours.kill[n].cpuMs, baselineServer: samba.kill[n].cpuMs },
      extra: { oursKinds: ours.kill[n].kinds, sambaKinds: samba.kill[n].kinds },
    });
  }
  for (const how of ['moveip', 'disable'] as const) {
    rows.push({
      suite: 'ctdb',
      name: `ctdb ${how}: lead time per client (release − receipt, N = ${common.plannedN})`,
      unit: 'ms',
      better: 'higher',
      value: ours[how].lead,
      baseline: { name: 'Samba 4.22 rpcd_witness (negative: told after the move)', value: samba[how].lead },
      target: { text: 'every client told before the release (min > 0)', met: ours[how].lead.min > 0 },
      extra: { oursKinds: ours[how].kinds, sambaKinds: samba[how].kinds },
    });
  }
  rows.push({
    suite: 'ctdb',
    name: `memory per registration on a CTDB node (N = ${ns[ns.length - 1]})`,
    unit: 'B',
    better: 'lower',
    value: summarize([ours.bytesPerRegistration]),
    baseline: { name: 'Samba 4.22 (samba-dcerpcd + rpcd_* + smbd RSS)', value: summarize([samba.bytesPerRegistration]) },
    notes: [`cluster start-up: ${(ours.startupMs / 1000).toFixed(1)} s (witnessd), ${(samba.startupMs / 1000).toFixed(1)} s (Samba)`,
      `kill medians ms: ${ns.map((n) => `${n}: ours ${fmtS(ours.kill[n].last)}, Samba ${fmtS(samba.kill[n].last)}`).join('; ')}`],
  });
  return rows;
}
