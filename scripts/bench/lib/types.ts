/**
 * The shape every benchmark returns, so that main.ts can print one table and write one
 * JSON file. A row is one measured figure over several repetitions, with the baseline
 * measured in the same run and the CPU both sides spent.
 */

/** min / median / max over the repetitions (samples kept in run order). */
export interface Summary {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly n: number;
  readonly samples: readonly number[];
}

export interface CpuFigures {
  /** 'ms' = CPU milliseconds in the measured window; '%' = percent of one core over it. */
  readonly unit: 'ms' | '%';
  readonly client?: Summary;
  readonly server?: Summary;
  readonly baselineClient?: Summary;
  readonly baselineServer?: Summary;
}

export interface BenchRow {
  /** Which benchmark file produced it (fanout, witness-rate, ...). */
  readonly suite: string;
  readonly name: string;
  readonly unit: string;
  readonly better: 'lower' | 'higher';
  readonly value: Summary;
  readonly baseline?: { readonly name: string; readonly value: Summary };
  /** value / baseline, paired per repetition. */
  readonly ratio?: Summary;
  /** The target, and whether the median meets it. */
  readonly target?: { readonly text: string; readonly met: boolean };
  readonly cpu?: CpuFigures;
  readonly extra?: Record<string, unknown>;
  readonly notes?: readonly string[];
}

export interface BenchOptions {
  readonly quick: boolean;
  /** Repetitions (≥ 3 in full mode). */
  readonly reps: number;
  /** Directory for logs and temporary state of this run. */
  readonly workDir: string;
  readonly log: (msg: string) => void;
}

export type BenchFn = (o: BenchOptions) => Promise<BenchRow[]>;
