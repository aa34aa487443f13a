/**
 * Coverage-guided fuzzing of witnessd's parsers (see test/unit/fuzz/engine.ts).
 *
 *   ts-node --transpile-only scripts/fuzz.ts [--inputs 1000000] [--target pdu ...] [--seed 1] [--save]
 *
 * CI runs a 50,000-input slice per target (test/unit/fuzz/fuzz.test.ts); this is the long run.
 * With --save, an input that crashed or hung is written to test/fuzz-corpus/<target>/ so that it
 * becomes a regression test. Exit status 1 when anything was found.
 */
import yargs from 'yargs';
import { fuzz } from '../test/unit/fuzz/engine';
import { TARGET_NAMES, makeTarget, regressionInputs, saveRegression, type TargetName } from '../test/unit/fuzz/targets';

async function main(): Promise<void> {
  const args = await yargs(process.argv.slice(2))
    .option('inputs', { type: 'number', default: 1_000_000, describe: 'inputs per target' })
    .option('target', { type: 'array', string: true, choices: TARGET_NAMES as unknown as string[], describe: 'targets (default: all)' })
    .option('seed', { type: 'number', default: 1 })
    .option('coverage', { type: 'boolean', default: true, describe: 'coverage feedback (--no-coverage: plain mutation)' })
    .option('coverage-inputs', { type: 'number', describe: 'coverage feedback for the first N inputs only (default: all)' })
    .option('save', { type: 'boolean', default: false, describe: 'save crashing inputs under test/fuzz-corpus/' })
    .strict().help().parseAsync();
  const names = (args.target as TargetName[] | undefined) ?? [...TARGET_NAMES];
  let bad = 0;
  const rows: string[] = [];
  for (const name of names) {
    const target = makeTarget(name);
    const extra = regressionInputs(name).map((r) => r.input);
    let last = Date.now();
    const stats = await fuzz(target, {
      inputs: args.inputs, seed: args.seed, coverage: args.coverage, coverageInputs: args['coverage-inputs'], extraSeeds: extra,
      progress: (done, s) => {
        if (Date.now() - last < 10_000) return;
        last = Date.now();
        process.stderr.write(`  ${name}: ${done} inputs, corpus ${s.corpus}, ${s.blocks} blocks\n`);
      },
    });
    target.close?.();
    for (const f of stats.findings) {
      bad++;
      const file = args.save ? saveRegression(name, f.input, f.kind) : '(not saved; use --save)';
      process.stderr.write(`${f.kind.toUpperCase()} in ${name}: ${f.message}\n  input ${f.input.toString('hex').slice(0, 200)} -> ${file}\n`);
    }
    rows.push(`${name.padEnd(12)} ${String(stats.inputs).padStart(9)} inputs  ${String(stats.accepted).padStart(8)} ok  ${String(stats.rejected).padStart(8)} rejected  corpus ${String(stats.corpus).padStart(5)}  blocks ${String(stats.blocks).padStart(5)}  slowest ${stats.slowestMs} ms  ${(stats.ms / 1000).toFixed(1)} s  findings ${stats.findings.length}`);
    process.stdout.write(`${rows[rows.length - 1]}\n`);
  }
  process.stdout.write(`\nfuzz summary (seed ${args.seed}):\n${rows.join('\n')}\n`);
  process.exit(bad > 0 ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`fuzz: ${(err as Error).stack ?? err}\n`);
  process.exit(2);
});
