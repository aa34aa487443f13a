/**
 * Codec benchmark: encode + decode of a WitnessrGetInterfaceList response with 64 interfaces
 * and of a WitnessrAsyncNotify response with 32 resource changes, against a plain Buffer copy
 * of the same bytes measured in the same run (absolute numbers drift on shared machines; the
 * ratio is the number to compare). Each case runs ≥ 3 repetitions: min / median / max.
 * Returns BenchRow[] (scripts/bench/lib/types.ts) for scripts/bench/main.ts.
 *
 *   npx ts-node --transpile-only scripts/bench/codec.ts [--quick]
 */
import {
  decodeWitnessrAsyncNotifyOut, decodeWitnessrGetInterfaceListOut, encodeWitnessrAsyncNotifyOut,
  encodeWitnessrGetInterfaceListOut, WitnessrAsyncNotifyOut, WitnessrGetInterfaceListOut,
} from '../../src/gen/witness';

import type { BenchRow, Summary } from './lib/types';

function summary(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1], n: xs.length, samples: xs };
}

/** Run fn in batches for about `ms` milliseconds; operations per second. */
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

/** The codec and a Buffer copy of the same bytes, alternating, `reps` times; ratio paired per rep. */
function bench(name: string, codec: () => void, bytes: Buffer, reps: number, ms: number): BenchRow {
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
    ratio.push(o / b);
  }
  return {
    suite: 'codec', name, unit: 'ops/s', better: 'higher', value: summary(ours),
    baseline: { name: `Buffer copy of the same ${bytes.length} bytes`, value: summary(base) },
    ratio: summary(ratio),
    notes: [`one op = encode + decode of a ${bytes.length}-byte response stub; ratio = codec ops/s ÷ copy ops/s`],
  };
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

export async function run(opts: { quick: boolean; reps?: number }): Promise<BenchRow[]> {
  const reps = Math.max(3, opts.reps ?? 3);
  const ms = opts.quick ? 150 : 1000;
  const gil = getInterfaceListSample(64);
  const an = asyncNotifySample(32);
  const rows = [
    bench('codec: GetInterfaceList response, 64 interfaces', () => {
      sink ^= decodeWitnessrGetInterfaceListOut(encodeWitnessrGetInterfaceListOut(gil)).ReturnValue;
    }, encodeWitnessrGetInterfaceListOut(gil), reps, ms),
    bench('codec: AsyncNotify response, 32 resource changes', () => {
      sink ^= decodeWitnessrAsyncNotifyOut(encodeWitnessrAsyncNotifyOut(an)).ReturnValue;
    }, encodeWitnessrAsyncNotifyOut(an), reps, ms),
  ];
  if (sink === 0x7fffffff) process.stdout.write(''); // keep the work observable
  return rows;
}

function fmt(s: Summary, digits = 0): string {
  const f = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

if (require.main === module) {
  run({ quick: process.argv.includes('--quick') }).then((rows) => {
    for (const r of rows) {
      process.stdout.write(`${r.name} [${r.value.n} reps]\n`);
      process.stdout.write(`  codec   ${fmt(r.value)} ops/s (encode + decode)\n`);
      process.stdout.write(`  copy    ${fmt(r.baseline!.value)} ops/s (${r.baseline!.name})\n`);
      process.stdout.write(`  ratio   ${fmt(r.ratio!, 4)} (codec ÷ copy)\n`);
    }
  }, (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack}\n`);
    process.exitCode = 1;
  });
}
