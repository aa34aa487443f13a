/**
 * Generated values ↔ plain JSON, driven by the shapes each generated module exports
 * (<Iface>_MODULE.jsonTypes / operations[...].json). Numbers stay numbers (a hyper that is not
 * a safe integer becomes a decimal string), GUIDs and addresses are already text, byte
 * arrays become hex strings. Used by ndrdump; the reverse direction validates as it goes.
 */
import { NdrError } from './errors';
import type { SyntaxId } from './dispatch';

export type JsonShape =
  | 'n' // number
  | 'b' // bigint
  | 's' // string
  | 'x' // Buffer (hex in JSON)
  | 'z' // boolean
  | 'h' // context handle
  | '*' // opaque: JSON-compatible as is (hand-written override types)
  | { r: string } // named type
  | { o: Record<string, JsonShape> } // struct / parameter set
  | { a: JsonShape } // array
  | { p: JsonShape } // nullable pointer
  | { u: Record<string, JsonShape> }; // union: one key

export interface NdrOperation {
  opnum: number;
  encodeIn(v: never, littleEndian?: boolean): Buffer;
  decodeIn(stub: Buffer, littleEndian?: boolean): unknown;
  encodeOut(v: never, littleEndian?: boolean): Buffer;
  decodeOut(stub: Buffer, littleEndian?: boolean): unknown;
  json: { in: JsonShape; out: JsonShape };
  /** The same four codecs in NDR64 (MS-RPCE 2.2.5). */
  ndr64: Pick<NdrOperation, 'encodeIn' | 'decodeIn' | 'encodeOut' | 'decodeOut'>;
}

/** What every generated module exports as <Iface>_MODULE, for tools that work on any interface. */
export interface NdrModule {
  name: string;
  syntax: SyntaxId;
  operations: Record<string, NdrOperation>;
  jsonTypes: Record<string, JsonShape>;
}

type Types = Record<string, JsonShape>;

export function toJson(v: unknown, shape: JsonShape, types: Types): unknown {
  if (typeof shape === 'string') {
    switch (shape) {
      case 'b': {
        const b = v as bigint;
        return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
      }
      case 'x': return (v as Buffer).toString('hex');
      default: return v;
    }
  }
  if ('r' in shape) return toJson(v, types[shape.r], types);
  if ('p' in shape) return v === null ? null : toJson(v, shape.p, types);
  if ('a' in shape) return (v as unknown[]).map((e) => toJson(e, shape.a, types));
  const fields = 'o' in shape ? shape.o : shape.u;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    out[k] = k in fields ? toJson(val, fields[k], types) : val;
  }
  return out;
}

export function fromJson(j: unknown, shape: JsonShape, types: Types, path = '$'): unknown {
  const bad = (what: string): never => {
    throw new NdrError(`JSON ${path}: expected ${what}, found ${JSON.stringify(j)?.slice(0, 40)}`, 0);
  };
  if (typeof shape === 'string') {
    switch (shape) {
      case 'n': return typeof j === 'number' ? j : bad('a number');
      case 'b':
        if (typeof j === 'number' && Number.isInteger(j)) return BigInt(j);
        if (typeof j === 'string' && /^-?\d+$/.test(j)) return BigInt(j);
        return bad('an integer');
      case 's': return typeof j === 'string' ? j : bad('a string');
      case 'x': return typeof j === 'string' && /^([0-9a-fA-F]{2})*$/.test(j) ? Buffer.from(j, 'hex') : bad('a hex string');
      case 'z': return typeof j === 'boolean' ? j : bad('true or false');
      case 'h':
        return j !== null && typeof j === 'object' && typeof (j as { uuid?: unknown }).uuid === 'string' ? j : bad('a context handle {attributes, uuid}');
      default: return j;
    }
  }
  if ('r' in shape) return fromJson(j, types[shape.r], types, path);
  if ('p' in shape) return j === null ? null : fromJson(j, shape.p, types, path);
  if ('a' in shape) return Array.isArray(j) ? j.map((e, i) => fromJson(e, shape.a, types, `${path}[${i}]`)) : bad('an array');
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return bad('an object');
  const fields = 'o' in shape ? shape.o : shape.u;
  const out: Record<string, unknown> = {};
  const src = j as Record<string, unknown>;
  if ('o' in shape) {
    for (const [k, s] of Object.entries(fields)) {
      if (!(k in src)) {
        if (typeof s === 'object' && 'p' in s) { out[k] = null; continue; }
        bad(`an object with member ${k}`);
      }
      out[k] = fromJson(src[k], s, types, `${path}.${k}`);
    }
    for (const k of Object.keys(src)) if (!(k in fields)) out[k] = src[k];
  } else {
    for (const [k, val] of Object.entries(src)) {
      if (!(k in fields)) bad(`one of the union arms ${Object.keys(fields).join(', ')}`);
      out[k] = fromJson(val, fields[k], types, `${path}.${k}`);
    }
  }
  return out;
}
