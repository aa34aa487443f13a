/**
 * npm run bench [-- --quick] [--only fanout,witness-rate,...] [--reps N] [--out FILE]
 * npm run bench -- --table FILE.json [FILE.json ...] [--readme]
 *
 * Runs every benchmark under scripts/bench/ one after another (never in parallel: the
 * machine has two cores), prints one table and writes bench-results.json: for every figure
 * min / median / max over the repetitions, the baseline measured in the same run, the
 * paired ratio, the target and whether the median meets it, and the client's and the
 * server's CPU. --quick is a smoke check (< 1 min): smaller N, fewer and shorter runs.
 * Benchmarks written by others (codec.ts, rpc.ts) are run when present.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Child } from './lib/child';
import { fmt, fmtSummary, summarize } from './lib/stats';
import type { BenchOptions, BenchRow, Summary } from './lib/types';
import { logPath } from './lib/util';
import { markdownTable, readResults, updateReadme } from './lib/report';

interface Entry {
  readonly name: string;
  readonly file: string;
  /** Only in full mode. */
  readonly fullOnly?: boolean;
  /** Run the module in a helper process in a private network namespace (as root). */
  readonly netns?: boolean;
}

/** In order; a missing file is reported and skipped. */
const BENCHMARKS: readonly Entry[] = [
  { name: 'codec', file: 'codec' },
  { name: 'rpc', file: 'rpc', netns: true },
  { name: 'krb5', file: 'krb5', netns: true },
  { name: 'rpc-rate', file: 'rpc-rate' },
  { name: 'witness-rate', file: 'witness-rate' },
  { name: 'fanout', file: 'fanout' },
  { name: 'memory', file: 'memory' },
  { name: 'detection', file: 'detection' },
  { name: 'ctdb', file: 'ctdb', netns: true },
  { name: 'faults', file: 'faults', netns: true },
];

interface Args {
  /** Print the README table from these result files instead of running anything. */
  table?: string[];
  readme: boolean;
  quick: boolean;
  only?: string[];
  reps?: number;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, readme: false, out: path.resolve(__dirname, '../../bench-results.json') };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    if (v === '--quick') a.quick = true;
    else if (v === '--only') a.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (v === '--reps') a.reps = Number(argv[++i]);
    else if (v === '--out') a.out = path.resolve(argv[++i] ?? a.out);
    else if (v === '--table') {
      a.table = [];
      while (argv[i + 1] && !argv[i + 1].startsWith('--')) a.table.push(path.resolve(argv[++i]));
      if (a.table.length === 0) a.table.push(a.out);
    } else if (v === '--readme') a.readme = true;
    else if (v === '--help' || v === '-h') {
      console.log('usage: npm run bench [-- --quick] [--only codec,rpc,krb5,witness-rate,fanout,memory,detection,ctdb,faults] [--reps N] [--out FILE]\n' +
        '       npm run bench -- --table [FILE.json ...] [--readme]   (the README table from earlier runs; --readme writes it into README.md)');
      process.exit(0);
    } else {
      console.error(`unknown argument ${v}`);
      process.exit(2);
    }
  }
  if (a.reps !== undefined && (!Number.isInteger(a.reps) || a.reps < 1 || a.reps > 50)) {
    console.error('--reps must be an integer 1..50');
    process.exit(2);
  }
  return a;
}

const isSummary = (s: unknown): boolean => typeof s === 'object' && s !== null && typeof (s as { median?: unknown }).median === 'number';
const isRow = (r: unknown): r is BenchRow =>
  typeof r === 'object' && r !== null && typeof (r as BenchRow).name === 'string' && isSummary((r as BenchRow).value);

/** {min, median, max} without samples (other engineers' shapes) → Summary. */
function asSummary(s: { min: number; median: number; max: number; n?: number; samples?: number[] }, n = 3): Summary {
  return { min: s.min, median: s.median, max: s.max, n: s.n ?? n, samples: s.samples ?? [] };
}

/** rpc.ts (issue 3) returns { name, ours, samba, ratio } with CPU as fractions of a core. */
interface RpcStat { min: number; median: number; max: number; serverCpu: number; clientCpu: number }
function fromRpc(r: { name: string; ours: RpcStat; samba?: RpcStat; ratio?: number }): BenchRow {
  const pct = (x: number | undefined): Summary | undefined => (x === undefined ? undefined : summarize([x * 100]));
  return {
    suite: 'rpc',
    name: r.name,
    unit: 'req/s',
    better: 'higher',
    value: asSummary(r.ours),
    ...(r.samba ? { baseline: { name: 'samba-dcerpcd, same client, same run', value: asSummary(r.samba) } } : {}),
    ...(r.ratio !== undefined ? { ratio: summarize([r.ratio]) } : {}),
    target: { text: '≥ 1.5× Samba (ratio of medians)', met: r.ratio !== undefined && r.ratio >= 1.5 },
    cpu: { unit: '%', client: pct(r.ours.clientCpu), server: pct(r.ours.serverCpu), baselineClient: pct(r.samba?.clientCpu), baselineServer: pct(r.samba?.serverCpu) },
    notes: ['CPU: mean over the repetitions'],
  };
}

/** Our row shape, or a known shape from another benchmark file, or undefined. */
function toRow(name: string, r: unknown): BenchRow | undefined {
  if (isRow(r)) return r;
  const x = r as { name?: unknown; ours?: unknown };
  if (name === 'rpc' && typeof x?.name === 'string' && isSummary(x.ours)) return fromRpc(r as Parameters<typeof fromRpc>[0]);
  return undefined;
}

function table(rows: readonly BenchRow[]): string {
  const head = ['benchmark', 'ours median (min–max)', 'baseline median', 'ratio median (min–max)', 'target', 'CPU client / server'];
  const lines = rows.map((r) => {
    const cpu = r.cpu
      ? `${r.cpu.client ? fmt(r.cpu.client.median) : '-'} / ${r.cpu.server ? fmt(r.cpu.server.median) : '-'} ${r.cpu.unit}` +
        (r.cpu.baselineClient || r.cpu.baselineServer
          ? ` (baseline ${r.cpu.baselineClient ? fmt(r.cpu.baselineClient.median) : '-'} / ${r.cpu.baselineServer ? fmt(r.cpu.baselineServer.median) : '-'})`
          : '')
      : '-';
    return [
      r.name,
      fmtSummary(r.value, r.unit),
      r.baseline ? fmtSummary({ ...r.baseline.value, n: 1 }, r.unit) : '-',
      r.ratio ? `${fmtSummary(r.ratio)}×` : '-',
      r.target ? `${r.target.met ? 'MET' : 'MISSED'}: ${r.target.text}` : '-',
      cpu,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join(' │ ');
  return [row(head), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...lines.map(row)].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.table) {
    const md = markdownTable(readResults(args.table));
    console.log(md);
    if (args.readme) updateReadme(path.resolve(__dirname, '../../README.md'), md);
    return;
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-bench-'));
  const started = Date.now();
  // Shared machine: the load before and after is part of the figures' context.
  const loadBefore = os.loadavg();
  const log = (m: string): void => console.error(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${m}`);
  const opts: BenchOptions = { quick: args.quick, reps: args.reps ?? 3, workDir, log };
  log(`${args.quick ? 'quick' : 'full'} run, ${opts.reps} repetitions, logs in ${workDir}`);

  const rows: BenchRow[] = [];
  const results: Record<string, unknown> = {};
  const failures: Record<string, string> = {};
  for (const b of BENCHMARKS) {
    if (args.only && !args.only.includes(b.name)) continue;
    if (b.fullOnly && args.quick) continue;
    const file = path.join(__dirname, `${b.file}.ts`);
    if (!fs.existsSync(file)) {
      log(`${b.name}: ${b.file}.ts not present, skipped`);
      results[b.name] = { skipped: 'not present' };
      continue;
    }
    log(`${b.name}: running`);
    const t0 = Date.now();
    try {
      let out: unknown;
      if (b.netns) {
        const host = await Child.fork(b.name, 'module-host.ts', { netns: true, logFile: logPath(workDir, `${b.name}-module`) });
        try {
          out = await host.request('run', { file, opts: { quick: opts.quick, reps: opts.reps, workDir } }, 30 * 60_000);
        } finally {
          await host.close();
        }
      } else {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const mod = require(file) as { run?: (o: BenchOptions) => Promise<unknown> };
        if (typeof mod.run !== 'function') throw new Error(`${b.file}.ts exports no run()`);
        out = await mod.run(opts);
      }
      const list = Array.isArray(out) ? out : [out];
      const good = list.map((r) => toRow(b.name, r)).filter((r): r is BenchRow => r !== undefined);
      rows.push(...good.map((r) => ({ ...r, suite: r.suite ?? b.name })));
      results[b.name] = good.length === list.length ? good : out;
      if (good.length !== list.length) log(`${b.name}: returned figures in another shape; kept as they are in the JSON`);
      log(`${b.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      failures[b.name] = (e as Error).stack ?? String(e);
      log(`${b.name}: FAILED: ${(e as Error).message}`);
    }
  }

  const doc = {
    date: new Date().toISOString(),
    mode: args.quick ? 'quick' : 'full',
    reps: opts.reps,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() },
    seconds: (Date.now() - started) / 1000,
    rows,
    results,
    failures,
  };
  fs.writeFileSync(args.out, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`\n${table(rows)}\n`);
  const md = args.out.replace(/\.json$/, '') + '.md';
  fs.writeFileSync(md, `${markdownTable([doc])}\n`);
  if (args.readme) updateReadme(path.resolve(__dirname, '../../README.md'), markdownTable([doc]));
  const missed = rows.filter((r) => r.target && !r.target.met);
  console.log(`load average (1/5/15 min) before ${loadBefore.map((x) => x.toFixed(1)).join('/')}, after ${os.loadavg().map((x) => x.toFixed(1)).join('/')} on ${os.cpus().length} CPUs`);
  console.log(`${rows.length} figures, ${missed.length} targets missed, ${Object.keys(failures).length} benchmarks failed; ` +
    `${doc.seconds.toFixed(1)} s; written to ${args.out}`);
  for (const [name, err] of Object.entries(failures)) console.log(`FAILED ${name}: ${err.split('\n')[0]}`);
  process.exitCode = Object.keys(failures).length > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
