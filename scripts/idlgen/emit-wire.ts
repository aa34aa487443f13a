/**
 * How one value of each NDR type travels: the statements that write and read it, in NDR's
 * two phases (C706 14.3.12): scalars (the inline part, referent ids of embedded pointers) and
 * buffers (the deferred pointees). The other emit-* parts call these for struct members,
 * union arms and operation parameters. The generated code enters each array (enter / leave)
 * and names each element (element), as the per-type functions do with each member (field),
 * so that errors carry a path (src/ndr/coder.ts).
 *
 * Reading, the scalars phase yields a value of the type's "scalars" shape (scalarsType: each
 * pointer a referent id, 0 for NULL); the buffers phase turns that into the finished value.
 * Values are never half-built.
 */
import type { Expr } from './ast';
import { Code } from './code';
import { errorAt } from './errors';
import type { ModuleModel, Ty } from './model';
import { alignOf, exprText, hasPtr, isBytes, minSize, PRIM_METHOD, PRIM_SIZE, tsType } from './layout';

/**
 * How identifiers in size_is/length_is/switch_is expressions map to TS expressions at the
 * point of use. `null` means the value is not available there (e.g. an [in]-only parameter
 * while decoding the response).
 */
export interface Scope {
  id(name: string): string | null;
  /** Names of [in]-only parameters an [out] array may capture from its max_count. */
  capture?: Set<string>;
}

/** A scope where no member or parameter is visible (array elements, union arms). */
export const NO_NAMES: Scope = { id: () => null };

/** The four per-type functions of the two phases, in each direction. */
export type Phase = 'writeScalars' | 'writeBuffers' | 'readScalars' | 'readBuffers';

/** An expression that names a value (evaluating it again reads nothing from the stub). */
const isPlain = (e: string): boolean => /^[\w$]+(\.[\w$]+|\[[\w$]+\])*$/.test(e);

export class Wire {
  /**
   * The back end being emitted: NDR 2.0, or NDR64 (MS-RPCE 2.2.5), whose functions carry
   * `Ndr64` in their names (writeScalarsNdr64_T, encode<Op>InNdr64) and use NDR64 alignments;
   * the runtime's NdrWriter64/NdrReader64 widen referent ids and counts.
   */
  ndr64 = false;
  private readonly consts = new Map<string, bigint | string>();

  constructor(readonly c: Code, m: ModuleModel) {
    for (const k of m.consts) this.consts.set(k.name, k.value);
    for (const en of m.enums) for (const mem of en.members) this.consts.set(mem.name, mem.value);
  }

  /** '' or 'Ndr64': what the back end adds to generated function names. */
  get suffix(): string {
    return this.ndr64 ? 'Ndr64' : '';
  }

  /** The generated function of a named type for one phase, e.g. readScalarsNdr64_WITNESS_INTERFACE_LIST. */
  fn(phase: Phase, typeName: string): string {
    return `${phase}${this.suffix}_${typeName}`;
  }

  /** An enum's wire method: NDR64 codes every enum in 32 bits. */
  private enumMethod(wire: string): string {
    return this.ndr64 ? 'u32' : wire;
  }

  // ---- IDL expressions ----

  /** TS for an IDL expression, or null when an identifier is not available in the scope. */
  expression(e: Expr, scope: Scope): string | null {
    switch (e.k) {
      case 'num': return e.v.toString();
      case 'str': throw errorAt(e.pos, 'expected an integer expression');
      case 'id': {
        const m = scope.id(e.name);
        if (m !== null) return m;
        if (this.consts.has(e.name)) {
          const v = this.consts.get(e.name)!;
          if (typeof v === 'string') throw errorAt(e.pos, `${e.name} is a string constant`);
          return v.toString();
        }
        return null;
      }
      case 'unary': {
        const x = this.expression(e.e, scope);
        if (x === null) return null;
        if (e.op === '*') return x; // *count: the referent of a [ref] count parameter is its value
        if (e.op === '&') throw errorAt(e.pos, "'&' is not supported in size expressions");
        return `(${e.op}${x})`;
      }
      case 'bin': {
        const a = this.expression(e.a, scope), b = this.expression(e.b, scope);
        if (a === null || b === null) return null;
        if (e.op === '/') return `Math.trunc(${a} / ${b})`;
        if (e.op === '&&' || e.op === '||') return `(${a} ${e.op} ${b} ? 1 : 0)`;
        if (['==', '!=', '<', '>', '<=', '>='].includes(e.op)) return `(${a} ${e.op === '==' ? '===' : e.op === '!=' ? '!==' : e.op} ${b} ? 1 : 0)`;
        return `(${a} ${e.op} ${b})`;
      }
      case 'cond': {
        const c = this.expression(e.c, scope), a = this.expression(e.a, scope), b = this.expression(e.b, scope);
        if (c === null || a === null || b === null) return null;
        return `(${c} ? ${a} : ${b})`;
      }
      case 'member': {
        const base = this.expression(e.e, scope);
        return base === null ? null : `${base}.${e.name}`;
      }
    }
  }

  /** An expression that must be available here (a generation-time error otherwise). */
  required(e: Expr, scope: Scope): string {
    const s = this.expression(e, scope);
    if (s === null) throw errorAt(e.pos, `expression ${exprText(e)} is not available here`);
    return s;
  }

  /** Check at generation time that every identifier names a member/parameter/constant. */
  checkNames(ty: Ty, known: Set<string>, where: string): void {
    const check = (e: Expr, what: string): void => {
      const walk = (x: Expr): void => {
        if (x.k === 'id' && !known.has(x.name) && !this.consts.has(x.name)) throw errorAt(x.pos, `${what}: unknown identifier ${x.name}`);
        if (x.k === 'unary') walk(x.e);
        if (x.k === 'bin') { walk(x.a); walk(x.b); }
        if (x.k === 'cond') { walk(x.c); walk(x.a); walk(x.b); }
        if (x.k === 'member') walk(x.e);
      };
      walk(e);
    };
    if (ty.k === 'carr') {
      if (ty.size) check(ty.size, `size_is of ${where}`);
      if (ty.length) check(ty.length, `length_is of ${where}`);
      return this.checkNames(ty.elem, new Set(), where);
    }
    if (ty.k === 'farr' && ty.length) check(ty.length, `length_is of ${where}`);
    if (ty.k === 'union' && ty.switchIs) check(ty.switchIs, `switch_is of ${where}`);
    if (ty.k === 'ptr') this.checkNames(ty.to, known, where);
  }

  /**
   * A size_is expression while encoding. An [in]-only size (ept_map's max_towers) while encoding
   * the response: taken from the value when given, else `fallback` (the array's own length).
   */
  private sizeOrCaptured(size: Expr, v: string, fallback: string, scope: Scope): string {
    const s = this.expression(size, scope);
    if (s !== null) return s;
    if (size.k !== 'id') throw errorAt(size.pos, `size_is(${exprText(size)}) is not available here`);
    return `(v.${size.name} ?? ${fallback})`;
  }

  /** The TS type of a value after its scalars phase: pointers are referent ids (0: NULL). */
  scalarsType(ty: Ty): string {
    if (!hasPtr(ty)) return tsType(ty);
    switch (ty.k) {
      case 'ptr': return 'number';
      case 'struct': case 'union': return `${ty.def.name}_Scalars`;
      case 'carr': case 'farr': return `${this.scalarsType(ty.elem)}[]`;
      default: return tsType(ty);
    }
  }

  // ---- writing ----

  /** Statements writing the scalars of value v. */
  writeScalars(ty: Ty, v: string, scope: Scope): void {
    const c = this.c;
    switch (ty.k) {
      case 'prim': c.line(`w.${PRIM_METHOD[ty.p]}(${v});`); return;
      case 'enum': c.line(`w.${this.enumMethod(ty.def.wire)}(${v});`); return;
      case 'guid': c.line(`w.guid(${v});`); return;
      case 'ctx': c.line(`w.contextHandle(${v});`); return;
      case 'handle': case 'void': return;
      case 'struct': c.line(`${this.fn('writeScalars', ty.def.name)}(w, ${v});`); return;
      case 'union': c.line(`${this.fn('writeScalars', ty.def.name)}(w, ${v}, ${this.required(ty.switchIs!, scope)});`); return;
      case 'ptr': c.line(ty.kind === 'ref' ? 'w.pointer(true);' : ty.kind === 'ptr' ? `w.fullPointer(${v} !== null);` : `w.pointer(${v} !== null);`); return;
      case 'ov': c.line(`w.align(${alignOf(ty.base, this.ndr64)});`); c.line(`ov.${ty.codec}.write(w, ${v});`); return;
      case 'str': {
        const W = ty.cs === 'w' ? 'w' : 'c';
        if (ty.fixed !== null) c.line(`w.${W}stringFixed(${v}, ${ty.fixed});`);
        else if (ty.size) {
          const n = c.temp('count');
          c.line(`const ${n} = ${this.sizeOrCaptured(ty.size, v, `${v}.length + 1`, scope)};`);
          c.line(`w.conformance(${n});`);
          c.line(`w.${W}stringFixed(${v}, ${n});`);
        } else if (ty.hoisted) { c.line(`w.variance(${v}.length + 1);`); c.line(`w.${W === 'w' ? 'wchars' : 'chars'}(${v});`); }
        else c.line(`w.${W}string(${v});`);
        return;
      }
      case 'carr': case 'farr': {
        let size: string;
        if (ty.k === 'carr') {
          size = this.sizeOrCaptured(ty.size!, v, `${v}.length`, scope);
          if (!ty.hoisted) c.line(`w.conformance(${size});`);
        } else size = String(ty.n);
        if (ty.length) {
          const length = c.temp('length');
          c.line(`const ${length} = ${this.required(ty.length, scope)};`);
          c.line(`if (${length} > ${size}) w.fail(\`length_is \${${length}} exceeds size \${${size}}\`);`);
          c.line(`w.variance(${length});`);
          c.line(`w.checkLength(${v}.length, ${length}, 'array');`);
        } else {
          c.line(`w.checkLength(${v}.length, ${size}, 'array');`);
        }
        if (isBytes(ty.elem)) { c.line(`w.bytes(${v});`); return; }
        const i = c.temp('i');
        c.line('w.enter();');
        c.open(`for (let ${i} = 0; ${i} < ${v}.length; ${i}++) {`);
        c.line(`w.element(${i});`);
        this.writeScalars(ty.elem, `${v}[${i}]`, NO_NAMES);
        c.close();
        c.line('w.leave();');
        return;
      }
    }
  }

  /** Statements writing the deferred pointees of value v (none for a type without pointers). */
  writeBuffers(ty: Ty, v: string, scope: Scope): void {
    if (!hasPtr(ty)) return;
    const c = this.c;
    switch (ty.k) {
      case 'struct': c.line(`${this.fn('writeBuffers', ty.def.name)}(w, ${v});`); return;
      case 'union': c.line(`${this.fn('writeBuffers', ty.def.name)}(w, ${v}, ${this.required(ty.switchIs!, scope)});`); return;
      case 'ptr': {
        const pointee = c.temp('pointee');
        c.line(`const ${pointee} = ${v};`);
        if (ty.kind === 'ref') c.open(`{`); else c.open(`if (${pointee} !== null) {`);
        this.writeScalars(ty.to, pointee, scope);
        this.writeBuffers(ty.to, pointee, scope);
        c.close();
        return;
      }
      case 'carr': case 'farr': {
        const i = c.temp('i');
        c.line('w.enter();');
        c.open(`for (let ${i} = 0; ${i} < ${v}.length; ${i}++) {`);
        c.line(`w.element(${i});`);
        this.writeBuffers(ty.elem, `${v}[${i}]`, NO_NAMES);
        c.close();
        c.line('w.leave();');
        return;
      }
      default: return;
    }
  }

  /** A top-level parameter: a [ref] pointer has no referent id, its pointee follows at once. */
  writeParameter(ty: Ty, v: string, scope: Scope): void {
    const inner = ty.k === 'ptr' && ty.kind === 'ref' ? ty.to : ty;
    this.writeScalars(inner, v, scope);
    this.writeBuffers(inner, v, scope);
  }

  // ---- reading ----

  /**
   * Statements reading the scalars of ty; returns the expression of its scalars-shaped value
   * (read once: when it is a call, the caller evaluates it once, in order).
   */
  readScalars(ty: Ty, scope: Scope, hoistedCount?: string): string {
    const c = this.c;
    switch (ty.k) {
      case 'prim': {
        const read = `r.${PRIM_METHOD[ty.p]}()`;
        if (!ty.range) return read;
        const value = c.temp('value');
        c.line(`const ${value} = ${read};`);
        c.line(`if (${value} < ${ty.range[0]} || ${value} > ${ty.range[1]}) r.fail(\`value \${${value}} outside range(${ty.range[0]}, ${ty.range[1]})\`, r.pos - ${PRIM_SIZE[ty.p]});`);
        return value;
      }
      case 'enum': return `r.${this.enumMethod(ty.def.wire)}()`;
      case 'guid': return 'r.guid()';
      case 'ctx': return 'r.contextHandle()';
      case 'handle': case 'void': return 'undefined';
      case 'struct': return `${this.fn('readScalars', ty.def.name)}(r)`;
      case 'union': {
        const disc = this.expression(ty.switchIs!, scope);
        return `${this.fn('readScalars', ty.def.name)}(r, ${disc ?? 'undefined'})`;
      }
      case 'ptr': return ty.kind === 'ref' ? 'r.refPointer()' : 'r.pointer()';
      case 'ov': c.line(`r.align(${alignOf(ty.base, this.ndr64)});`); return `ov.${ty.codec}.read(r)`;
      case 'str': {
        const W = ty.cs;
        if (ty.fixed !== null) return `r.${W}stringFixed(${ty.fixed})`;
        if (ty.size) {
          const n = c.temp('count');
          c.line(`const ${n} = r.conformance();`);
          this.checkOrCapture(ty.size, n, scope);
          return `r.${W}stringFixed(${n})`;
        }
        if (ty.hoisted) return `r.${W === 'w' ? 'wchars' : 'chars'}(r.variance(${hoistedCount}, ${W === 'w' ? 2 : 1}))`;
        return `r.${W}string()`;
      }
      case 'carr': case 'farr': {
        const elemSize = Math.max(1, minSize(ty.elem));
        let n: string;
        const at = c.temp('at');
        c.line(`const ${at} = r.pos;`);
        if (ty.k === 'carr') {
          if (ty.hoisted) n = hoistedCount!;
          else {
            n = c.temp('count');
            c.line(`const ${n} = ${ty.length ? 'r.conformance()' : `r.count(${elemSize})`};`);
          }
          this.checkOrCapture(ty.size!, n, scope, at);
        } else n = String(ty.n);
        let actual = n;
        if (ty.length) {
          actual = c.temp('actual');
          c.line(`const ${actual} = r.variance(${n}, ${elemSize});`);
          const length = this.expression(ty.length, scope);
          if (length !== null) c.line(`r.checkCount(${actual}, ${length}, 'actual_count (length_is(${exprText(ty.length)}))', ${at});`);
        } else if (ty.k === 'carr' && ty.hoisted) {
          c.line(`r.checkFits(${n}, ${elemSize});`);
        }
        if (isBytes(ty.elem)) return `r.bytes(${actual})`;
        const items = c.temp('items');
        const i = c.temp('i');
        c.line(`const ${items}: ${this.scalarsType(ty)} = new Array(${actual});`);
        c.line('r.enter();');
        c.open(`for (let ${i} = 0; ${i} < ${actual}; ${i}++) {`);
        c.line(`r.element(${i});`);
        c.line(`${items}[${i}] = ${this.readScalars(ty.elem, NO_NAMES)};`);
        c.close();
        c.line('r.leave();');
        return items;
      }
    }
  }

  /** A decoded max_count against its size_is expression, or kept as the [in] size it stands for. */
  private checkOrCapture(size: Expr, n: string, scope: Scope, at?: string): void {
    const s = this.expression(size, scope);
    if (s !== null) this.c.line(`r.checkCount(${n}, ${s}, 'max_count (size_is(${exprText(size)}))'${at ? `, ${at}` : ''});`);
    else if (size.k === 'id' && scope.capture?.has(size.name)) this.c.line(`p_${size.name} = ${n};`);
  }

  /**
   * Statements reading the deferred pointees of a value whose scalars are `scalars`; returns
   * the expression of the finished value. With `into`, that is a new local of that name.
   */
  readBuffers(ty: Ty, scalars: string, scope: Scope, into?: string): string {
    const c = this.c;
    const result = (e: string): string => {
      if (into === undefined) return e;
      c.line(`const ${into}: ${tsType(ty)} = ${e};`);
      return into;
    };
    if (!hasPtr(ty)) return result(scalars);
    switch (ty.k) {
      case 'struct': return result(`${this.fn('readBuffers', ty.def.name)}(r, ${scalars})`);
      case 'union': return result(`${this.fn('readBuffers', ty.def.name)}(r, ${scalars}, ${this.required(ty.switchIs!, scope)})`);
      case 'ptr': {
        if (ty.kind === 'ref') {
          if (!isPlain(scalars)) c.line(`${scalars};`); // its referent id, never 0
          return result(this.readPointee(ty.to, scope));
        }
        const pointee = into ?? c.temp('pointee');
        c.line(`let ${pointee}: ${tsType(ty)} = null;`);
        c.open(`if (${scalars} !== 0) {`);
        c.line(`${pointee} = ${this.readPointee(ty.to, scope)};`);
        c.close();
        return pointee;
      }
      case 'carr': case 'farr': {
        let from = scalars;
        if (!isPlain(from)) {
          from = c.temp('scalars');
          c.line(`const ${from} = ${scalars};`);
        }
        const items = into ?? c.temp('items');
        const i = c.temp('i');
        c.line(`const ${items}: ${tsType(ty)} = new Array(${from}.length);`);
        c.line('r.enter();');
        c.open(`for (let ${i} = 0; ${i} < ${from}.length; ${i}++) {`);
        c.line(`r.element(${i});`);
        c.line(`${items}[${i}] = ${this.readBuffers(ty.elem, `${from}[${i}]`, NO_NAMES)};`);
        c.close();
        c.line('r.leave();');
        return items;
      }
      default: return result(scalars);
    }
  }

  /** Statements reading a whole pointee (its scalars, then its own pointees); returns its value. */
  private readPointee(ty: Ty, scope: Scope): string {
    return this.readBuffers(ty, this.readScalars(ty, scope), scope);
  }

  /** A top-level parameter into the local `into` (a [ref] pointer has no referent id). */
  readParameter(ty: Ty, into: string, scope: Scope): void {
    const inner = ty.k === 'ptr' && ty.kind === 'ref' ? ty.to : ty;
    this.readBuffers(inner, this.readScalars(inner, scope), scope, into);
  }
}
