/** Small statistics helpers: summaries, percentiles, paired ratios. */
import type { Summary } from './types';

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { min: NaN, median: NaN, max: NaN, n: 0, samples: [] };
  const s = [...samples].sort((a, b) => a - b);
  return { min: s[0], median: quantileSorted(s, 0.5), max: s[s.length - 1], n: s.length, samples: [...samples] };
}

/** Quantile of sorted values, nearest-rank for tails (p99 of 1,000 = the 990th value). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  if (q === 0.5) {
    const m = sorted.length >> 1;
    return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
  }
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

export function quantile(values: readonly number[], q: number): number {
  return quantileSorted([...values].sort((a, b) => a - b), q);
}

/** Per-repetition ratios a[i] / b[i]. */
export function pairedRatio(a: readonly number[], b: readonly number[]): Summary {
  const n = Math.min(a.length, b.length);
  const r: number[] = [];
  for (let i = 0; i < n; i++) r.push(a[i] / b[i]);
  return summarize(r);
}

export function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 10_000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  return v.toPrecision(digits);
}

export function fmtSummary(s: Summary | undefined, unit = ''): string {
  if (!s || s.n === 0) return '-';
  const u = unit ? ` ${unit}` : '';
  return s.n === 1 ? `${fmt(s.median)}${u}` : `${fmt(s.median)}${u} (${fmt(s.min)}–${fmt(s.max)})`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Monotonic clock in ms, comparable between processes on one machine (CLOCK_MONOTONIC). */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;
