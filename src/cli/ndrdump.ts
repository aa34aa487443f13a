/**
 * witness-ndrdump: decode a captured NDR stub of one operation to JSON, or encode JSON back
 * to a stub (hex), like Samba's ndrdump.
 *
 *   witness-ndrdump <interface> <operation> <in|out> [--hex HEX | FILE]
 *   witness-ndrdump <interface> <operation> <in|out> --encode [FILE]
 *
 * <interface> is a generated module (witness, epm, ...); <operation> a name or an opnum.
 * FILE holds the raw stub bytes (or its hex text); without FILE, standard input is read.
 * --big-endian: the stub uses big-endian data representation.
 * --wire: also show the wire's own counts and lengths with their offsets (WitnessrAsyncNotify
 * out), even when the typed decode refuses them.
 * Bytes left after the last field are an error (count and offset), as a stub must be read whole.
 * --ndr64: the stub is in the NDR64 transfer syntax (MS-RPCE 2.2.5), not NDR 2.0.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromJson, NdrError, toJson } from '../ndr';
import type { NdrModule, NdrOperation } from '../ndr';
import { asyncNotifyOutWire, consumedLength, formatWire } from './ndrdump-wire';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readStdin: () => Buffer;
}

const USAGE = `usage: witness-ndrdump <interface> <operation> <in|out> [--big-endian] [--ndr64] [--wire] [--hex HEX | FILE]
       witness-ndrdump <interface> <operation> <in|out> [--big-endian] [--ndr64] --encode [FILE]
       witness-ndrdump --list`;

function genDir(): string {
  return path.join(__dirname, '..', 'gen');
}

function interfaceNames(): string[] {
  try {
    return fs.readdirSync(genDir())
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .map((f) => f.replace(/\.(ts|js)$/, ''))
      .filter((v, i, a) => a.indexOf(v) === i)
      .sort();
  } catch {
    return [];
  }
}

function loadModule(name: string): NdrModule | null {
  if (!/^[A-Za-z0-9_-]+$/.test(name) || !interfaceNames().includes(name)) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(genDir(), name)) as Record<string, unknown>;
  const key = Object.keys(mod).find((k) => k.endsWith('_MODULE'));
  return key ? (mod[key] as NdrModule) : null;
}

function findOp(m: NdrModule, which: string): [string, NdrOperation] | null {
  if (/^\d+$/.test(which)) {
    const n = Number(which);
    const e = Object.entries(m.operations).find(([, o]) => o.opnum === n);
    return e ?? null;
  }
  const e = Object.entries(m.operations).find(([k]) => k.toLowerCase() === which.toLowerCase());
  return e ?? null;
}

function asStub(data: Buffer): Buffer {
  const text = data.toString('latin1');
  if (data.length > 0 && /^[0-9a-fA-F\s]*$/.test(text)) {
    const h = text.replace(/\s+/g, '');
    if (h.length % 2 === 0) return Buffer.from(h, 'hex');
  }
  return data;
}

export function main(argv: string[], io: Io): number {
  const args: string[] = [];
  let hexArg: string | undefined;
  let encode = false;
  let littleEndian = true;
  let wire = false;
  let ndr64 = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { io.stdout(`${USAGE}\n`); return 0; }
    if (a === '--list') {
      for (const n of interfaceNames()) {
        const m = loadModule(n);
        if (!m) continue;
        io.stdout(`${n} ${m.syntax.uuid} v${m.syntax.major}.${m.syntax.minor}\n`);
        for (const [op, o] of Object.entries(m.operations)) io.stdout(`  ${o.opnum} ${op}\n`);
      }
      return 0;
    }
    if (a === '--hex') {
      if (i + 1 >= argv.length) { io.stderr(`ndrdump: --hex needs a value\n${USAGE}\n`); return 1; }
      hexArg = argv[++i];
      continue;
    }
    if (a === '--encode') { encode = true; continue; }
    if (a === '--big-endian') { littleEndian = false; continue; }
    if (a === '--wire') { wire = true; continue; }
    if (a === '--ndr64') { ndr64 = true; continue; }
    if (a.startsWith('--')) { io.stderr(`ndrdump: unknown option ${a}\n${USAGE}\n`); return 1; }
    args.push(a);
  }
  if (args.length < 3 || args.length > 4) { io.stderr(`${USAGE}\n`); return 1; }
  const [ifName, opName, dir, file] = args;
  const m = loadModule(ifName);
  if (!m) { io.stderr(`ndrdump: unknown interface ${JSON.stringify(ifName)} (known: ${interfaceNames().join(', ')})\n`); return 1; }
  const found = findOp(m, opName);
  if (!found) { io.stderr(`ndrdump: ${ifName} has no operation ${JSON.stringify(opName)} (known: ${Object.keys(m.operations).join(', ')})\n`); return 1; }
  const [name, o] = found;
  const op = ndr64 ? o.ndr64 : o;
  const shape0 = o.json;
  if (dir !== 'in' && dir !== 'out') { io.stderr(`ndrdump: expected in or out, found ${JSON.stringify(dir)}\n`); return 1; }
  if (hexArg !== undefined && (file !== undefined || encode)) { io.stderr(`ndrdump: --hex excludes FILE and --encode\n`); return 1; }
  const wireView = ifName === 'witness' && name === 'WitnessrAsyncNotify' && dir === 'out' ? asyncNotifyOutWire : undefined;
  if (wire && (encode || !wireView)) { io.stderr('ndrdump: --wire shows WitnessrAsyncNotify out (witness WitnessrAsyncNotify out --wire), when decoding\n'); return 1; }
  let input: Buffer;
  try {
    input = hexArg !== undefined ? Buffer.alloc(0) : file !== undefined ? fs.readFileSync(file) : io.readStdin();
  } catch (e) {
    io.stderr(`ndrdump: cannot read ${file ?? 'standard input'}: ${(e as Error).message}\n`);
    return 1;
  }
  const shape = shape0[dir];
  try {
    if (encode) {
      let j: unknown;
      try {
        j = JSON.parse(input.toString('utf8'));
      } catch (e) {
        io.stderr(`ndrdump: bad JSON: ${(e as Error).message}\n`);
        return 1;
      }
      const v = fromJson(j, shape, m.jsonTypes) as never;
      const stub = dir === 'in' ? op.encodeIn(v, littleEndian) : op.encodeOut(v, littleEndian);
      io.stdout(`${stub.toString('hex')}\n`);
      return 0;
    }
    let stub: Buffer;
    if (hexArg !== undefined) {
      const h = hexArg.replace(/\s+/g, '');
      if (!/^([0-9a-fA-F]{2})*$/.test(h)) { io.stderr('ndrdump: --hex needs an even number of hex digits\n'); return 1; }
      stub = Buffer.from(h, 'hex');
    } else stub = asStub(input);
    if (wire) io.stdout(`wire (${stub.length} bytes):\n${formatWire(wireView!(stub, littleEndian))}\ntyped:\n`);
    const decode = (b: Buffer): unknown => (dir === 'in' ? op.decodeIn(b, littleEndian) : op.decodeOut(b, littleEndian));
    const v = decode(stub);
    const used = consumedLength(stub, decode);
    if (used < stub.length) {
      io.stderr(`ndrdump: ${ifName} ${name} ${dir}: ${stub.length - used} unread byte(s) at offset ${used} (the stub is ${stub.length} bytes; is it the right operation and direction?)\n`);
      return 1;
    }
    io.stdout(`${JSON.stringify(toJson(v, shape, m.jsonTypes), null, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof NdrError) {
      io.stderr(`ndrdump: ${ifName} ${name} ${dir}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

export function run(): void {
  // `witness-ndrdump ... | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  process.exitCode = main(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    readStdin: () => fs.readFileSync(0),
  });
}

if (require.main === module) run();
