/**
 * The benchmark table for the README, from one or more bench-results.json files: one row per
 * figure with witnessd's and the baseline's min / median / max, the paired ratio, the target,
 * and the run's date, core count and load. `npm run bench -- --table a.json [b.json ...]`
 * prints it; `--readme` also puts it between the README's bench markers.
 */
import * as fs from 'node:fs';
import { fmt } from './stats';
import type { BenchRow, Summary } from './types';

export interface ResultsDoc {
  readonly date: string;
  readonly mode?: string;
  readonly machine: { readonly cpus: number; readonly loadavgBefore?: readonly number[]; readonly loadavgAfter?: readonly number[] };
  readonly rows: readonly BenchRow[];
}

export const README_BEGIN = '<!-- bench-table:begin (npm run bench -- --table bench-results.json --readme) -->';
export const README_END = '<!-- bench-table:end -->';

const mmm = (s: Summary | undefined, unit = ''): string => {
  if (!s || s.n === 0) return '—';
  const u = unit ? ` ${unit}` : '';
  return s.n === 1 ? `${fmt(s.median)}${u}` : `${fmt(s.min)} / **${fmt(s.median)}** / ${fmt(s.max)}${u}`;
};

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** Rows in the order the README wants them: fan-out, per-message, RPC, memory, CTDB, the rest. */
const ORDER = ['fanout', 'krb5', 'rpc', 'witness-rate', 'memory', 'ctdb', 'codec', 'detection'];

export function markdownTable(docs: readonly ResultsDoc[]): string {
  const lines = [
    '| figure | witnessd min / **median** / max | baseline (same run) min / **median** / max | ratio min / **median** / max | target | date, cores, load |',
    '|---|---|---|---|---|---|',
  ];
  const all = docs.flatMap((d) => d.rows.map((r) => ({ r, d })));
  const rank = (suite: string) => (ORDER.indexOf(suite) < 0 ? ORDER.length : ORDER.indexOf(suite));
  all.sort((a, b) => rank(a.r.suite) - rank(b.r.suite));
  for (const { r, d } of all) {
    const load = d.machine.loadavgBefore ? `, load ${d.machine.loadavgBefore[0].toFixed(1)}` : '';
    const when = `${d.date.slice(0, 10)}, ${d.machine.cpus} cores${load}${d.mode === 'quick' ? ' (quick)' : ''}`;
    lines.push(`| ${[
      cell(r.name),
      mmm(r.value, r.unit),
      r.baseline ? `${mmm(r.baseline.value, r.unit)} (${cell(r.baseline.name)})` : '—',
      r.ratio ? `${mmm(r.ratio)}×` : '—',
      r.target ? `${r.target.met ? 'met' : 'MISSED'}: ${cell(r.target.text)}` : '—',
      when,
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

export function readResults(files: readonly string[]): ResultsDoc[] {
  return files.map((f) => {
    const d = JSON.parse(fs.readFileSync(f, 'utf8')) as ResultsDoc;
    if (!Array.isArray(d.rows) || typeof d.date !== 'string') throw new Error(`${f}: not a bench-results.json`);
    return d;
  });
}

/** Replace what is between the README's bench markers with `table`; the markers must be there. */
export function updateReadme(readme: string, table: string): void {
  const text = fs.readFileSync(readme, 'utf8');
  const a = text.indexOf(README_BEGIN);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`${readme}: no ${README_BEGIN} … ${README_END} section`);
  fs.writeFileSync(readme, `${text.slice(0, a + README_BEGIN.length)}\n${table}\n${text.slice(b)}`);
}
