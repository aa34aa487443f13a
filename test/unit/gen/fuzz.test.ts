// Randomized and mutated stubs: 100,000 per operation (half request, half response stubs), each
// must decode to a value or to an NdrError — never another exception, a hang or a huge
// allocation. Deterministic (seeded), so a failure reproduces.
import { NdrError } from '../../../src/ndr';
import { MODULES } from './samples';
import { rng } from '../fuzz/engine';

const PER_OPERATION = 100_000;
const INTERESTING = [0, 1, 2, 3, 4, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x00020000, 260, 552, 0x1c];

function mutate(seeds: Buffer[], rnd: () => number): Buffer {
  const int = (n: number): number => Math.floor(rnd() * n);
  const r = rnd();
  if (r < 0.08 || seeds.length === 0) {
    const b = Buffer.alloc(int(96));
    for (let i = 0; i < b.length; i++) b[i] = int(256);
    return b;
  }
  const seed = seeds[int(seeds.length)];
  const b = Buffer.from(seed);
  if (b.length === 0) return Buffer.from([int(256)]);
  if (r < 0.4) {
    for (let k = 1 + int(4); k > 0; k--) b[int(b.length)] = int(256);
    return b;
  }
  if (r < 0.75) {
    if (b.length < 4) return b;
    const off = int(b.length >> 2) << 2;
    const pick = rnd() < 0.8 ? INTERESTING[int(INTERESTING.length)] : (b.readUInt32LE(off) + int(9) - 4) >>> 0;
    if (rnd() < 0.5) b.writeUInt32LE(pick, off); else b.writeUInt32BE(pick, off);
    return b;
  }
  if (r < 0.9) return b.subarray(0, int(b.length));
  const other = seeds[int(seeds.length)];
  const cut = int(b.length + 1);
  return Buffer.concat([b.subarray(0, cut), other.subarray(int(other.length + 1))]);
}

describe.each(MODULES.map(([m, s]) => [m.name, m, s] as const))('%s: hostile stubs', (_name, mod, samples) => {
  for (const [opName, op] of Object.entries(mod.operations)) {
    it(`${opName}: ${PER_OPERATION} random/mutated stubs give a value or NdrError`, () => {
      const rnd = rng(op.opnum * 7919 + mod.name.length);
      let values = 0, errors = 0;
      const failures: string[] = [];
      for (const dir of ['in', 'out'] as const) {
        const enc = dir === 'in' ? op.encodeIn : op.encodeOut;
        const dec = dir === 'in' ? op.decodeIn : op.decodeOut;
        const seeds = samples[opName][dir].flatMap((v) => [enc(v as never, true), enc(v as never, false)]);
        for (let i = 0; i < PER_OPERATION / 2; i++) {
          const le = rnd() < 0.7;
          const stub = mutate(seeds, rnd);
          try {
            const v = dec(stub, le);
            values++;
            // What decodes must re-encode (it is a valid value) and decode to the same value.
            if ((i & 15) === 0) {
              const again = dec(enc(v as never, le), le);
              if (JSON.stringify(again, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) !== JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))) {
                failures.push(`${dir} re-decode differs for ${stub.toString('hex')}`);
              }
            }
          } catch (e) {
            if (!(e instanceof NdrError) || !/ at offset \d+/.test(e.message)) {
              failures.push(`${dir} ${le ? 'LE' : 'BE'} ${stub.toString('hex')}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
            } else errors++;
          }
          if (failures.length > 5) break;
        }
      }
      expect(failures).toEqual([]);
      expect(values + errors).toBe(PER_OPERATION);
      expect(errors).toBeGreaterThan(0);
    }, 120_000);
  }
});
