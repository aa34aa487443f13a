/**
 * A small coverage-guided mutation fuzzer. Coverage comes from V8 itself (node:inspector,
 * Profiler.takePreciseCoverage with block granularity), restricted to witnessd's own sources,
 * so no instrumentation pass and no dependency is needed. Inputs run in batches; a batch that
 * reached a block never seen before is halved and replayed until the inputs that did it are
 * found, and those join the corpus (the AFL idea, at batch granularity: one coverage take costs
 * ~15 ms in a ts-node process, more under jest, so a take per input would dominate).
 *
 * A target throws only its documented error types; anything else is a crash. An input that
 * runs longer than `hangMs` is a hang. Both are collected (never thrown) so a run reports all.
 */
import { Session } from 'node:inspector';

export type Rng = () => number;

/** Deterministic PRNG (mulberry32): a seed reproduces a whole run. */
export function rng(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (r: Rng, n: number): number => Math.floor(r() * n);

export interface FuzzTarget {
  readonly name: string;
  /** Initial corpus: valid (or nearly valid) inputs the mutators start from. */
  seeds(): Buffer[];
  /** Run one input; may be async. Throws only errors `allowed` accepts. */
  run(input: Buffer): void | Promise<void>;
  /** The documented error types of this target. */
  allowed(err: unknown): boolean;
  /** Structure-aware mutation; falls back to byte mutation when absent or when it returns undefined. */
  mutate?(input: Buffer, r: Rng, corpus: readonly Buffer[]): Buffer | undefined;
  /** Largest input the mutators may produce. */
  readonly maxLength: number;
  /** Only blocks of scripts whose URL matches count as coverage. */
  readonly coverage: RegExp;
  /** Findings a target detects on its own (e.g. error-level logs): drained after each input. */
  findings?(): string[];
}

export interface Finding {
  readonly kind: 'crash' | 'hang' | 'report';
  readonly target: string;
  readonly message: string;
  readonly input: Buffer;
}

export interface FuzzStats {
  readonly target: string;
  readonly inputs: number;
  readonly corpus: number;
  readonly blocks: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly slowestMs: number;
  readonly ms: number;
  readonly findings: Finding[];
}

export interface FuzzOptions {
  readonly inputs: number;
  readonly seed: number;
  /** Coverage feedback (default true). */
  readonly coverage?: boolean;
  /** Coverage feedback for the first this-many inputs only (it costs 5-10x); then plain mutation of the corpus it grew. */
  readonly coverageInputs?: number;
  readonly batch?: number;
  readonly hangMs?: number;
  /** Extra inputs to run first (regression files); they also seed the corpus. */
  readonly extraSeeds?: readonly Buffer[];
  /** Stop collecting after this many findings (default 20). */
  readonly maxFindings?: number;
  readonly progress?: (done: number, stats: { corpus: number; blocks: number }) => void;
}

// ------------------------------------------------------------------ byte mutators

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40];
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0x100, 0x1000, 16, 24, 1432, 5840];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000, 0x20000, 0x40000000, 260, 0x1c010002];

export function byteMutate(input: Buffer, r: Rng, corpus: readonly Buffer[], maxLength: number): Buffer {
  let b = Buffer.from(input);
  for (let n = 1 + int(r, 4); n > 0; n--) {
    const op = int(r, 11);
    if (b.length === 0 && op < 8) {
      b = Buffer.from([int(r, 256)]);
      continue;
    }
    const at = int(r, b.length);
    switch (op) {
      case 0: b[at] ^= 1 << int(r, 8); break;
      case 1: b[at] = int(r, 256); break;
      case 2: b[at] = INTERESTING_8[int(r, INTERESTING_8.length)]; break;
      case 3: if (at + 2 <= b.length) { const v = INTERESTING_16[int(r, INTERESTING_16.length)]; if (r() < 0.5) b.writeUInt16LE(v, at); else b.writeUInt16BE(v, at); } break;
      case 4: if (at + 4 <= b.length) { const v = INTERESTING_32[int(r, INTERESTING_32.length)]; if (r() < 0.5) b.writeUInt32LE(v >>> 0, at); else b.writeUInt32BE(v >>> 0, at); } break;
      case 5: if (at + 4 <= b.length) { const d = int(r, 33) - 16; b.writeUInt32LE((b.readUInt32LE(at) + d) >>> 0, at); } break;
      case 6: b[at] = (b[at] + int(r, 17) - 8) & 0xff; break;
      case 7: { const len = 1 + int(r, Math.min(32, b.length - at)); b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]); break; }
      case 8: { // duplicate or insert a chunk
        const len = 1 + int(r, 32);
        const chunk = r() < 0.5 ? b.subarray(at, at + len) : Buffer.from(Array.from({ length: len }, () => int(r, 256)));
        b = Buffer.concat([b.subarray(0, at), chunk, b.subarray(at)]);
        break;
      }
      case 9: { // splice with another corpus entry
        const o = corpus[int(r, corpus.length)] ?? b;
        b = Buffer.concat([b.subarray(0, at), o.subarray(int(r, o.length + 1))]);
        break;
      }
      default: b = b.subarray(0, at); break; // truncate
    }
  }
  return b.length > maxLength ? b.subarray(0, maxLength) : b;
}

// ------------------------------------------------------------------ coverage

interface Range { startOffset: number; endOffset: number; count: number }
interface FnCov { ranges: Range[] }
interface ScriptCov { url: string; functions: FnCov[] }

/** Block coverage from V8: which blocks of matching scripts ran since the last take. */
export class Coverage {
  private readonly session = new Session();
  /** Every block range ever reported, per script and function (blocks may inherit their parent's count). */
  private readonly knownBlocks = new Map<string, Map<number, Set<string>>>();
  private started = false;

  constructor(private readonly filter: RegExp) {}

  start(): void {
    this.session.connect();
    this.post('Profiler.enable');
    // Block counts (binary mode is cheaper but does not report a block again once reported).
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    this.started = true;
    this.take(); // reset the counters: module loading is not the target's coverage
  }

  stop(): void {
    if (!this.started) return;
    this.post('Profiler.stopPreciseCoverage');
    this.post('Profiler.disable');
    this.session.disconnect();
    this.started = false;
  }

  private post(method: string, params?: object): unknown {
    let out: unknown;
    let error: Error | null = null;
    // An in-thread session answers synchronously.
    this.session.post(method, params ?? {}, (err, res) => { error = err; out = res; });
    if (error) throw error;
    return out;
  }

  /** Keys of the blocks that ran since the previous take (counters reset on take). */
  take(): Set<string> {
    const res = this.post('Profiler.takePreciseCoverage') as { result: ScriptCov[] };
    const covered = new Set<string>();
    for (const s of res.result) {
      if (!this.filter.test(s.url)) continue;
      let byFn = this.knownBlocks.get(s.url);
      if (!byFn) this.knownBlocks.set(s.url, (byFn = new Map()));
      for (const f of s.functions) {
        const ranges = f.ranges;
        if (ranges.length === 0 || ranges[0].count === 0) continue;
        let known = byFn.get(ranges[0].startOffset);
        if (!known) byFn.set(ranges[0].startOffset, (known = new Set()));
        const listed = new Map<string, number>();
        for (const rg of ranges) {
          const k = `${rg.startOffset}:${rg.endOffset}`;
          listed.set(k, rg.count);
          known.add(k);
        }
        for (const k of known) {
          let count = listed.get(k);
          if (count === undefined) {
            // Not listed: it has the count of the innermost listed range around it.
            const [a, b] = k.split(':').map(Number);
            let best: Range = ranges[0];
            for (const rg of ranges) if (rg.startOffset <= a && b <= rg.endOffset && rg.endOffset - rg.startOffset <= best.endOffset - best.startOffset) best = rg;
            count = best.count;
          }
          if (count > 0) covered.add(`${s.url}#${k}`);
        }
      }
    }
    return covered;
  }
}

// ------------------------------------------------------------------ the loop

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}\n${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return `non-Error thrown: ${String(err)}`;
}

export async function fuzz(target: FuzzTarget, o: FuzzOptions): Promise<FuzzStats> {
  const r = rng(o.seed);
  const batch = o.batch ?? 200;
  const hangMs = o.hangMs ?? 1000;
  const maxFindings = o.maxFindings ?? 20;
  const findings: Finding[] = [];
  const corpus: Buffer[] = [...target.seeds(), ...(o.extraSeeds ?? [])];
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));
  const seen = new Set<string>();
  let cov = o.coverage === false ? undefined : new Coverage(target.coverage);
  let accepted = 0;
  let rejected = 0;
  let slowest = 0;
  const t0 = Date.now();

  const runOne = async (input: Buffer, replay = false): Promise<void> => {
    const start = performance.now();
    try {
      const p = target.run(input);
      if (p) await p;
      if (!replay) accepted++;
    } catch (err) {
      if (target.allowed(err)) { if (!replay) rejected++; }
      else if (findings.length < maxFindings) findings.push({ kind: 'crash', target: target.name, message: describe(err), input });
    }
    const ms = performance.now() - start;
    if (ms > slowest) slowest = ms;
    if (ms > hangMs && findings.length < maxFindings) findings.push({ kind: 'hang', target: target.name, message: `input took ${ms.toFixed(0)} ms`, input });
    for (const f of target.findings?.() ?? []) {
      if (findings.length < maxFindings) findings.push({ kind: 'report', target: target.name, message: f, input });
    }
  };

  const addCoverage = (keys: Set<string>): boolean => {
    let fresh = false;
    for (const k of keys) if (!seen.has(k)) { seen.add(k); fresh = true; }
    return fresh;
  };

  const isNovel = (keys: Set<string>): boolean => {
    for (const k of keys) if (!seen.has(k)) return true;
    return false;
  };
  // Halve a batch that reached new blocks until the inputs that did it are found (replays are
  // not counted as inputs); about 2·log2(batch/4) coverage takes per new input.
  const locate = async (inputs: Buffer[], c: Coverage): Promise<void> => {
    if (inputs.length <= 4) {
      // A handful left: keep them all rather than pay a coverage take for each.
      for (const input of inputs) await runOne(input, true);
      addCoverage(c.take());
      corpus.push(...inputs);
      return;
    }
    const mid = inputs.length >> 1;
    for (const half of [inputs.slice(0, mid), inputs.slice(mid)]) {
      for (const input of half) await runOne(input, true);
      if (isNovel(c.take())) await locate(half, c);
    }
  };

  cov?.start();
  try {
    // The seeds (and regression inputs) run first, as they are.
    let done = 0;
    for (const s of corpus.slice()) {
      await runOne(s);
      done++;
    }
    if (cov) addCoverage(cov.take());
    while (done < o.inputs) {
      const n = Math.min(batch, o.inputs - done);
      const inputs: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const base = corpus[int(r, corpus.length)];
        const m = target.mutate && r() < 0.5 ? target.mutate(base, r, corpus) : undefined;
        inputs.push(m ?? byteMutate(base, r, corpus, target.maxLength));
      }
      for (const input of inputs) await runOne(input);
      done += n;
      if (cov && isNovel(cov.take())) await locate(inputs, cov);
      if (cov && o.coverageInputs !== undefined && done >= o.coverageInputs) {
        cov.stop();
        cov = undefined;
      }
      o.progress?.(done, { corpus: corpus.length, blocks: seen.size });
    }
    return { target: target.name, inputs: done, corpus: corpus.length, blocks: seen.size, accepted, rejected, slowestMs: Math.round(slowest), ms: Date.now() - t0, findings };
  } finally {
    cov?.stop();
  }
}
