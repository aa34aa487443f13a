/** NDR layout facts the emitter needs: alignment, minimum wire size, TS and JSON types. */
import type { Expr } from './ast';
import type { Prim, StructDef, Ty, UnionDef } from './model';

export const PRIM_SIZE: Record<Prim, number> = { char: 1, u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, wchar: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 };
export const PRIM_METHOD: Record<Prim, string> = { char: 'u8', u8: 'u8', i8: 'i8', bool: 'bool', u16: 'u16', i16: 'i16', wchar: 'u16', u32: 'u32', i32: 'i32', f32: 'f32', u64: 'u64', i64: 'i64', f64: 'f64' };

export function hasPtr(ty: Ty): boolean {
  switch (ty.k) {
    case 'ptr': return true;
    case 'struct': return ty.def.fields.some((f) => hasPtr(f.ty));
    case 'union': return ty.def.arms.some((a) => a.ty !== null && hasPtr(a.ty));
    case 'carr': case 'farr': return hasPtr(ty.elem);
    case 'ov': return hasPtr(ty.base);
    default: return false;
  }
}

export function isBytes(ty: Ty): boolean {
  return ty.k === 'prim' && (ty.p === 'u8' || ty.p === 'char');
}

/**
 * The alignment of a type in NDR 2.0 or, with ndr64, in NDR64 (MS-RPCE 2.2.5.3): there
 * pointers (referent ids) and the counts of conformant and varying arrays are 8 bytes, and
 * enums are 32-bit.
 */
export function alignOf(ty: Ty, ndr64 = false): number {
  const count = ndr64 ? 8 : 4;
  switch (ty.k) {
    case 'prim': return PRIM_SIZE[ty.p];
    case 'enum': return ty.def.wire === 'u16' && !ndr64 ? 2 : 4;
    case 'guid': case 'ctx': return 4;
    case 'ptr': case 'str': return count;
    case 'handle': case 'void': return 1;
    case 'struct': return structAlign(ty.def, ndr64);
    case 'union': return unionAlign(ty.def, ndr64);
    case 'carr': return ty.hoisted && !ty.length ? alignOf(ty.elem, ndr64) : Math.max(count, alignOf(ty.elem, ndr64));
    case 'farr': return ty.length ? Math.max(count, alignOf(ty.elem, ndr64)) : alignOf(ty.elem, ndr64);
    case 'ov': return alignOf(ty.base, ndr64);
  }
}

const alignCache = [new Map<object, number>(), new Map<object, number>()];
export function structAlign(def: StructDef, ndr64 = false): number {
  const cache = alignCache[ndr64 ? 1 : 0];
  const c = cache.get(def);
  if (c !== undefined) return c;
  cache.set(def, ndr64 ? 8 : 4); // recursion goes through pointers, which align the struct this much anyway
  const a = def.fields.reduce((m, f) => Math.max(m, alignOf(f.ty, ndr64)), 1);
  cache.set(def, a);
  return a;
}
export function armsAlign(def: UnionDef, ndr64 = false): number {
  return def.arms.reduce((m, a) => Math.max(m, a.ty ? alignOf(a.ty, ndr64) : 1), 1);
}
export function unionAlign(def: UnionDef, ndr64 = false): number {
  return Math.max(def.noDiscriminant ? 1 : PRIM_SIZE[def.switchType], armsAlign(def, ndr64));
}

export function minSize(ty: Ty, depth = 0): number {
  if (depth > 8) return 0;
  switch (ty.k) {
    case 'prim': return PRIM_SIZE[ty.p];
    case 'enum': return ty.def.wire === 'u16' ? 2 : 4;
    case 'guid': return 16;
    case 'ctx': return 20;
    case 'handle': case 'void': return 0;
    case 'ptr': return 4;
    case 'struct': return ty.def.fields.reduce((s, f) => s + minSize(f.ty, depth + 1), 0);
    case 'union': return ty.def.noDiscriminant ? 0 : PRIM_SIZE[ty.def.switchType];
    case 'carr': return (ty.hoisted ? 0 : 4) + (ty.length ? 8 : 0);
    case 'farr': return ty.length ? 8 : ty.n * minSize(ty.elem, depth + 1);
    case 'str': return (ty.fixed === null && !ty.hoisted ? 12 : 8) + (ty.cs === 'w' ? 2 : 1);
    case 'ov': return minSize(ty.base, depth + 1);
  }
}

export function tsType(ty: Ty): string {
  switch (ty.k) {
    case 'prim': return ty.p === 'u64' || ty.p === 'i64' ? 'bigint' : ty.p === 'bool' ? 'boolean' : 'number';
    case 'enum': return ty.def.name;
    case 'guid': return 'string';
    case 'ctx': return 'ContextHandle';
    case 'handle': case 'void': return 'never';
    case 'struct': return ty.def.name;
    case 'union': return ty.def.name;
    case 'ptr': return ty.kind === 'ref' ? tsType(ty.to) : `${tsType(ty.to)} | null`;
    case 'carr': case 'farr': {
      if (isBytes(ty.elem)) return 'Buffer';
      const e = tsType(ty.elem);
      return e.includes('|') ? `(${e})[]` : `${e}[]`;
    }
    case 'str': return 'string';
    case 'ov': return ty.ts;
  }
}

/** The JSON shape (src/ndr/json.ts) of a type, as TS source. */
export function jsonShape(ty: Ty): string {
  switch (ty.k) {
    case 'prim': return ty.p === 'u64' || ty.p === 'i64' ? "'b'" : ty.p === 'bool' ? "'z'" : "'n'";
    case 'enum': return "'n'";
    case 'guid': case 'str': return "'s'";
    case 'ctx': return "'h'";
    case 'handle': case 'void': return "'*'";
    case 'struct': case 'union': return `{ r: ${q(ty.def.name)} }`;
    case 'ptr': return ty.kind === 'ref' ? jsonShape(ty.to) : `{ p: ${jsonShape(ty.to)} }`;
    case 'carr': case 'farr': return isBytes(ty.elem) ? "'x'" : `{ a: ${jsonShape(ty.elem)} }`;
    case 'ov': return ty.ts === 'string' ? "'s'" : ty.ts === 'number' ? "'n'" : "'*'";
  }
}

export function q(s: string): string {
  return JSON.stringify(s);
}

export function exprText(e: Expr): string {
  switch (e.k) {
    case 'num': return e.v.toString();
    case 'str': return q(e.v);
    case 'id': return e.name;
    case 'unary': return `${e.op}${exprText(e.e)}`;
    case 'bin': return `${exprText(e.a)} ${e.op} ${exprText(e.b)}`;
    case 'cond': return `${exprText(e.c)} ? ${exprText(e.a)} : ${exprText(e.b)}`;
    case 'member': return `${exprText(e.e)}${e.arrow ? '->' : '.'}${e.name}`;
  }
}

export function cap(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}
