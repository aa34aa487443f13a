/**
 * Codec benchmark: encode + decode of a WitnessrGetInterfaceList response with 64 interfaces
 * and of a WitnessrAsyncNotify response with 32 resource changes, against a plain Buffer copy
 * of the same bytes measured in the same run (absolute numbers drift on shared machines; the
 * ratio is the number to compare). Each case runs ≥ 3 repetitions: min / median / max.
 *
 *   npx ts-node --transpile-only scripts/bench/codec.ts [--quick]
 */
import {
  decodeWitnessrAsyncNotifyOut, decodeWitnessrGetInterfaceListOut, encodeWitnessrAsyncNotifyOut,
  encodeWitnessrGetInterfaceListOut, WitnessrAsyncNotifyOut, WitnessrGetInterfaceListOut,
} from '../../src/gen/witness';

export interface Stat {
  min: number;
  median: number;
  max: number;
}

export interface BenchResult {
  name: string;
  /** What one operation is. */
  unit: string;
  /** Operations per second of the codec (encode + decode). */
  opsPerSec: Stat;
  /** Operations per second of the baseline (Buffer copy of the same bytes). */
  baselineOpsPerSec: Stat;
  /** How many times slower than the copy (baseline ops/s ÷ codec ops/s), per repetition. */
  slowdownVsBaseline: Stat;
  reps: number;
  notes: string;
}

function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
}

/** Run fn in batches for about `ms` milliseconds; ops per second. */
function measure(fn: () => void, ms: number): number {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

let sink = 0;

function bench(name: string, unit: string, codec: () => void, bytes: Buffer, reps: number, ms: number): BenchResult {
  const target = Buffer.allocUnsafe(bytes.length);
  const copy = (): void => {
    bytes.copy(target);
    sink ^= target[bytes.length - 1];
  };
  const ours: number[] = [], base: number[] = [], ratio: number[] = [];
  for (let r = 0; r < reps; r++) {
    const b = measure(copy, ms);
    const o = measure(codec, ms);
    base.push(b);
    ours.push(o);
    ratio.push(b / o);
  }
  return { name, unit, opsPerSec: stat(ours), baselineOpsPerSec: stat(base), slowdownVsBaseline: stat(ratio), reps, notes: `${bytes.length}-byte stub` };
}

export function getInterfaceListSample(n: number): WitnessrGetInterfaceListOut {
  const InterfaceInfo = Array.from({ length: n }, (_, i) => ({
    InterfaceGroupName: `NODE${(i % 8) + 1}`, Version: 0x20000, State: 1,
    IPV4: `10.0.${i >> 8}.${i & 0xff}`, IPV6: '::', Flags: i % 2 ? 5 : 1,
  }));
  return { InterfaceList: { NumberOfInterfaces: n, InterfaceInfo }, ReturnValue: 0 };
}

export function asyncNotifySample(n: number): WitnessrAsyncNotifyOut {
  const Messages = Array.from({ length: n }, (_, i) => ({ ChangeType: i % 2 ? 1 : 0xff, ResourceName: `fileserver-${i}.example.com` }));
  return { pResp: { MessageType: 1, Messages }, ReturnValue: 0 };
}

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const reps = 3;
  const ms = opts.quick ? 150 : 1000;
  const gil = getInterfaceListSample(64);
  const gilStub = encodeWitnessrGetInterfaceListOut(gil);
  const an = asyncNotifySample(32);
  const anStub = encodeWitnessrAsyncNotifyOut(an);
  const results = [
    bench('codec: GetInterfaceList response, 64 interfaces', 'encode + decode', () => {
      sink ^= decodeWitnessrGetInterfaceListOut(encodeWitnessrGetInterfaceListOut(gil)).ReturnValue;
    }, gilStub, reps, ms),
    bench('codec: AsyncNotify response, 32 resource changes', 'encode + decode', () => {
      sink ^= decodeWitnessrAsyncNotifyOut(encodeWitnessrAsyncNotifyOut(an)).ReturnValue;
    }, anStub, reps, ms),
  ];
  if (sink === 0x7fffffff) process.stdout.write(''); // keep the work observable
  return results;
}

function fmt(s: Stat, digits = 0): string {
  const f = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

if (require.main === module) {
  run({ quick: process.argv.includes('--quick') }).then((rs) => {
    for (const r of rs) {
      process.stdout.write(`${r.name} [${r.notes}, ${r.reps} reps]\n`);
      process.stdout.write(`  codec   ${fmt(r.opsPerSec)} ops/s (${r.unit})\n`);
      process.stdout.write(`  memcpy  ${fmt(r.baselineOpsPerSec)} ops/s (Buffer copy of the same bytes)\n`);
      process.stdout.write(`  codec is ${fmt(r.slowdownVsBaseline, 1)}× slower than the copy\n`);
    }
  }, (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack}\n`);
    process.exitCode = 1;
  });
}
