/**
 * CI slice of the fuzzers (scripts/fuzz.ts is the long run): per target a deterministic run,
 * coverage-guided at first, then plain mutation of the corpus the coverage grew. Zero crashes
 * (only the documented error types), zero hangs, zero error-level logs in the RPC runtime.
 * Every file under test/fuzz-corpus/<target>/ is replayed first (inputs that once broke something).
 */
import { fuzz, type FuzzStats } from './engine';
import { makeTarget, regressionInputs, type TargetName } from './targets';

// Inputs per target and how many of them run with coverage feedback. YAML parsing costs ~1-4 ms
// per document, so the config loader gets a smaller CI slice (scripts/fuzz.ts runs 1,000,000).
// An input slower than 10 s counts as a hang (a loaded CI machine can stall a process for a second).
const PLAN: Record<TargetName, { inputs: number; coverageInputs: number; timeoutMs: number }> = {
  pdu: { inputs: 50_000, coverageInputs: 3_000, timeoutMs: 90_000 },
  'ndr-witness': { inputs: 50_000, coverageInputs: 3_000, timeoutMs: 90_000 },
  'ndr-epm': { inputs: 50_000, coverageInputs: 3_000, timeoutMs: 90_000 },
  'ndr-clusapi': { inputs: 50_000, coverageInputs: 3_000, timeoutMs: 90_000 },
  'ndr-mgmt': { inputs: 20_000, coverageInputs: 2_000, timeoutMs: 90_000 },
  ntlmssp: { inputs: 50_000, coverageInputs: 3_000, timeoutMs: 90_000 },
  spnego: { inputs: 50_000, coverageInputs: 3_000, timeoutMs: 90_000 },
  krb5: { inputs: 10_000, coverageInputs: 1_500, timeoutMs: 90_000 },
  connection: { inputs: 50_000, coverageInputs: 2_000, timeoutMs: 180_000 },
  config: { inputs: 10_000, coverageInputs: 1_000, timeoutMs: 180_000 },
};

const figures: string[] = [];
afterAll(() => {
  process.stdout.write(`fuzz CI slice:\n${figures.join('\n')}\n`);
});

describe.each(Object.entries(PLAN) as [TargetName, (typeof PLAN)[TargetName]][])('fuzz %s', (name, plan) => {
  it(`${plan.inputs} inputs: no crash, no hang, only documented errors`, async () => {
    const target = makeTarget(name);
    const regressions = regressionInputs(name);
    let stats: FuzzStats;
    try {
      stats = await fuzz(target, { inputs: plan.inputs, coverageInputs: plan.coverageInputs, seed: 0x5eed + name.length, hangMs: 10_000, extraSeeds: regressions.map((r) => r.input) });
    } finally {
      target.close?.();
    }
    figures.push(`  ${name.padEnd(12)} ${stats.inputs} inputs (${stats.accepted} accepted, ${stats.rejected} rejected), corpus ${stats.corpus}, ${stats.blocks} blocks, slowest ${stats.slowestMs} ms, ${(stats.ms / 1000).toFixed(1)} s`);
    const shown = stats.findings.map((f) => `${f.kind}: ${f.message}\n  input: ${f.input.toString('hex').slice(0, 400)}`);
    expect(shown).toEqual([]);
    expect(stats.inputs).toBe(plan.inputs + 0);
    // The coverage feedback saw the target's code. How many blocks depends on how V8 compiled
    // it (a fresh transform cache gave 16 for the PDU target, a warm one 48), so the bar is low.
    expect(stats.blocks).toBeGreaterThan(5);
    expect(stats.accepted + stats.rejected).toBeGreaterThanOrEqual(plan.inputs);
  }, plan.timeoutMs);
});
