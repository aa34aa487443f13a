/** TypeScript emitter: ModuleModel → the source of src/gen/<module>.ts. */
import type { Expr } from './ast';
import { Code } from './code';
import { errorAt } from './errors';
import type { ModuleModel, OpModel, Param, StructDef, Ty, UnionDef } from './model';
import { alignOf, armsAlign, cap, exprText, hasPtr, isBytes, jsonShape, minSize, PRIM_METHOD, PRIM_SIZE, q, recursiveDefs, structAlign, tsType } from './layout';

/**
 * How identifiers in size_is/length_is/switch_is expressions map to TS expressions at the
 * point of use. `null` means the value is not available there (e.g. an [in]-only
 * parameter while decoding the response).
 */
interface Cx {
  id(name: string): string | null;
  /** Names of [in]-only parameters an [out] array may capture from its max_count. */
  capture?: Set<string>;
}

/** Align to the discriminant first so that `at` (for errors) points at it. */
function r_alignDisc(c: Code, size: number): void {
  if (size > 1) c.line(`r.align(${size});`);
  c.line('const at = r.pos;');
}

export class Emitter {
  private c = new Code();
  private recursive = new Set<object>();
  private consts = new Map<string, bigint | string>();
  /**
   * The back end being emitted: NDR 2.0, or NDR64 (MS-RPCE 2.2.5), whose codecs carry `64` in
   * their names (ws64_T, encode<Op>InNdr64) and use NDR64 alignments; the runtime's
   * NdrWriter64/NdrReader64 widen referent ids and counts.
   */
  private n64 = false;
  private get x(): string { return this.n64 ? '64' : ''; }
  private get sfx(): string { return this.n64 ? 'Ndr64' : ''; }
  /** An enum's wire method: NDR64 codes every enum in 32 bits. */
  private enumWire(wire: string): string { return this.n64 ? 'u32' : wire; }

  constructor(private readonly m: ModuleModel, private readonly ndrImport = '../ndr') {
    this.recursive = recursiveDefs(m.types);
    for (const k of m.consts) this.consts.set(k.name, k.value);
    for (const en of m.enums) for (const mem of en.members) this.consts.set(mem.name, mem.value);
  }

  // ---- expressions ----
  /** TS for an IDL expression, or null when an identifier is not available in cx. */
  private ex(e: Expr, cx: Cx): string | null {
    switch (e.k) {
      case 'num': return e.v.toString();
      case 'str': throw errorAt(e.pos, 'expected an integer expression');
      case 'id': {
        const m = cx.id(e.name);
        if (m !== null) return m;
        if (this.consts.has(e.name)) {
          const v = this.consts.get(e.name)!;
          if (typeof v === 'string') throw errorAt(e.pos, `${e.name} is a string constant`);
          return v.toString();
        }
        return null;
      }
      case 'unary': {
        const x = this.ex(e.e, cx);
        if (x === null) return null;
        if (e.op === '*') return x; // *count: the referent of a [ref] count parameter is its value
        if (e.op === '&') throw errorAt(e.pos, "'&' is not supported in size expressions");
        return `(${e.op}${x})`;
      }
      case 'bin': {
        const a = this.ex(e.a, cx), b = this.ex(e.b, cx);
        if (a === null || b === null) return null;
        if (e.op === '/') return `Math.trunc(${a} / ${b})`;
        if (e.op === '&&' || e.op === '||') return `(${a} ${e.op} ${b} ? 1 : 0)`;
        if (['==', '!=', '<', '>', '<=', '>='].includes(e.op)) return `(${a} ${e.op === '==' ? '===' : e.op === '!=' ? '!==' : e.op} ${b} ? 1 : 0)`;
        return `(${a} ${e.op} ${b})`;
      }
      case 'cond': {
        const c = this.ex(e.c, cx), a = this.ex(e.a, cx), b = this.ex(e.b, cx);
        if (c === null || a === null || b === null) return null;
        return `(${c} ? ${a} : ${b})`;
      }
      case 'member': {
        const base = this.ex(e.e, cx);
        return base === null ? null : `${base}.${e.name}`;
      }
    }
  }

  /** Check at generation time that every identifier names a member/parameter/constant. */
  private checkIds(e: Expr, known: Set<string>, what: string): void {
    const walk = (x: Expr): void => {
      if (x.k === 'id' && !known.has(x.name) && !this.consts.has(x.name)) throw errorAt(x.pos, `${what}: unknown identifier ${x.name}`);
      if (x.k === 'unary') walk(x.e);
      if (x.k === 'bin') { walk(x.a); walk(x.b); }
      if (x.k === 'cond') { walk(x.c); walk(x.a); walk(x.b); }
      if (x.k === 'member') walk(x.e);
    };
    walk(e);
  }

  private checkTyIds(ty: Ty, known: Set<string>, where: string): void {
    if (ty.k === 'carr') {
      if (ty.size) this.checkIds(ty.size, known, `size_is of ${where}`);
      if (ty.length) this.checkIds(ty.length, known, `length_is of ${where}`);
      return this.checkTyIds(ty.elem, new Set(), where);
    }
    if (ty.k === 'farr' && ty.length) this.checkIds(ty.length, known, `length_is of ${where}`);
    if (ty.k === 'union' && ty.switchIs) this.checkIds(ty.switchIs, known, `switch_is of ${where}`);
    if (ty.k === 'ptr') this.checkTyIds(ty.to, known, where);
  }

  private need(e: Expr, cx: Cx): string {
    const s = this.ex(e, cx);
    if (s === null) throw errorAt(e.pos, `expression ${exprText(e)} is not available here`);
    return s;
  }

  /**
   * A size_is expression while encoding. An [in]-only size (ept_map's max_towers) while encoding
   * the response: taken from the value when given, else `fallback` (the array's own length).
   */
  private sizeOrCaptured(size: Expr, v: string, fallback: string, cx: Cx): string {
    const s = this.ex(size, cx);
    if (s !== null) return s;
    if (size.k !== 'id') throw errorAt(size.pos, `size_is(${exprText(size)}) is not available here`);
    return `(v.${size.name} ?? ${fallback})`;
  }

  // ---- writing ----
  private wS(ty: Ty, v: string, cx: Cx): void {
    const c = this.c;
    switch (ty.k) {
      case 'prim': c.line(`w.${PRIM_METHOD[ty.p]}(${v});`); return;
      case 'enum': c.line(`w.${this.enumWire(ty.def.wire)}(${v});`); return;
      case 'guid': c.line(`w.guid(${v});`); return;
      case 'ctx': c.line(`w.contextHandle(${v});`); return;
      case 'handle': case 'void': return;
      case 'struct': c.line(`ws${this.x}_${ty.def.name}(w, ${v});`); return;
      case 'union': c.line(`ws${this.x}_${ty.def.name}(w, ${v}, ${this.need(ty.switchIs!, cx)});`); return;
      case 'ptr': c.line(ty.kind === 'ref' ? 'w.pointer(true);' : ty.kind === 'ptr' ? `w.fullPointer(${v} !== null);` : `w.pointer(${v} !== null);`); return;
      case 'ov': c.line(`w.align(${alignOf(ty.base, this.n64)});`); c.line(`ov.${ty.codec}.write(w, ${v});`); return;
      case 'str': {
        const W = ty.cs === 'w' ? 'w' : 'c';
        if (ty.fixed !== null) c.line(`w.${W}stringFixed(${v}, ${ty.fixed});`);
        else if (ty.size) {
          const n = c.t('n');
          c.line(`const ${n} = ${this.sizeOrCaptured(ty.size, v, `${v}.length + 1`, cx)};`);
          c.line(`w.conformance(${n});`);
          c.line(`w.${W}stringFixed(${v}, ${n});`);
        }
        else if (ty.hoisted) { c.line(`w.variance(${v}.length + 1);`); c.line(`w.${W === 'w' ? 'wchars' : 'chars'}(${v});`); }
        else c.line(`w.${W}string(${v});`);
        return;
      }
      case 'carr': case 'farr': {
        let size: string;
        if (ty.k === 'carr') {
          size = this.sizeOrCaptured(ty.size!, v, `${v}.length`, cx);
          if (!ty.hoisted) c.line(`w.conformance(${size});`);
        } else size = String(ty.n);
        if (ty.length) {
          const len = this.need(ty.length, cx);
          const tl = c.t('len');
          c.line(`const ${tl} = ${len};`);
          c.line(`if (${tl} > ${size}) w.fail(\`length_is \${${tl}} exceeds size \${${size}}\`);`);
          c.line(`w.variance(${tl});`);
          c.line(`w.checkLength(${v}.length, ${tl}, 'array');`);
        } else {
          c.line(`w.checkLength(${v}.length, ${size}, 'array');`);
        }
        if (isBytes(ty.elem)) { c.line(`w.bytes(${v});`); return; }
        const i = c.t('i');
        c.open(`for (let ${i} = 0; ${i} < ${v}.length; ${i}++) {`);
        this.wS(ty.elem, `${v}[${i}]`, { id: () => null });
        c.close();
        return;
      }
    }
  }

  private wB(ty: Ty, v: string, cx: Cx): void {
    if (!hasPtr(ty)) return;
    const c = this.c;
    switch (ty.k) {
      case 'struct': c.line(`wb${this.x}_${ty.def.name}(w, ${v});`); return;
      case 'union': c.line(`wb${this.x}_${ty.def.name}(w, ${v}, ${this.need(ty.switchIs!, cx)});`); return;
      case 'ptr': {
        const t = c.t('p');
        c.line(`const ${t} = ${v};`);
        if (ty.kind === 'ref') c.open(`{`); else c.open(`if (${t} !== null) {`);
        this.wS(ty.to, t, cx);
        this.wB(ty.to, t, cx);
        c.close();
        return;
      }
      case 'carr': case 'farr': {
        const i = c.t('i');
        c.open(`for (let ${i} = 0; ${i} < ${v}.length; ${i}++) {`);
        this.wB(ty.elem, `${v}[${i}]`, { id: () => null });
        c.close();
        return;
      }
      default: return;
    }
  }

  // ---- reading ----
  /** Emit statements reading the scalar part of ty; returns the expression holding it. */
  private rS(ty: Ty, cx: Cx, hoistedCount?: string): string {
    const c = this.c;
    switch (ty.k) {
      case 'prim': {
        const m = `r.${PRIM_METHOD[ty.p]}()`;
        if (!ty.range) return m;
        const t = c.t('v');
        c.line(`const ${t} = ${m};`);
        c.line(`if (${t} < ${ty.range[0]} || ${t} > ${ty.range[1]}) r.fail(\`value \${${t}} outside range(${ty.range[0]}, ${ty.range[1]})\`, r.pos - ${PRIM_SIZE[ty.p]});`);
        return t;
      }
      case 'enum': return `r.${this.enumWire(ty.def.wire)}()`;
      case 'guid': return 'r.guid()';
      case 'ctx': return 'r.contextHandle()';
      case 'handle': case 'void': return 'undefined';
      case 'struct': return `rs${this.x}_${ty.def.name}(r)`;
      case 'union': {
        const d = this.ex(ty.switchIs!, cx);
        return `rs${this.x}_${ty.def.name}(r, ${d ?? 'undefined'})`;
      }
      case 'ptr': return ty.kind === 'ref' ? 'r.refPointer()' : 'r.pointer()';
      case 'ov': c.line(`r.align(${alignOf(ty.base, this.n64)});`); return `ov.${ty.codec}.read(r)`;
      case 'str': {
        const W = ty.cs;
        if (ty.fixed !== null) return `r.${W}stringFixed(${ty.fixed})`;
        if (ty.size) {
          const n = c.t('n');
          c.line(`const ${n} = r.conformance();`);
          this.checkOrCapture(ty.size, n, cx);
          return `r.${W}stringFixed(${n})`;
        }
        if (ty.hoisted) return `r.${W === 'w' ? 'wchars' : 'chars'}(r.variance(${hoistedCount}, ${W === 'w' ? 2 : 1}))`;
        return `r.${W}string()`;
      }
      case 'carr': case 'farr': {
        const es = Math.max(1, minSize(ty.elem));
        let n: string;
        const at = c.t('at');
        c.line(`const ${at} = r.pos;`);
        if (ty.k === 'carr') {
          if (ty.hoisted) n = hoistedCount!;
          else {
            n = c.t('n');
            c.line(`const ${n} = ${ty.length ? 'r.conformance()' : `r.count(${es})`};`);
          }
          this.checkOrCapture(ty.size!, n, cx, at);
        } else n = String(ty.n);
        let a = n;
        if (ty.length) {
          a = c.t('a');
          c.line(`const ${a} = r.variance(${n}, ${es});`);
          const l = this.ex(ty.length, cx);
          if (l !== null) c.line(`r.checkCount(${a}, ${l}, 'actual_count (length_is(${exprText(ty.length)}))', ${at});`);
        } else if (ty.k === 'carr' && ty.hoisted) {
          c.line(`r.checkFits(${n}, ${es});`);
        }
        if (isBytes(ty.elem)) return `r.bytes(${a})`;
        const arr = c.t('arr');
        const i = c.t('i');
        c.line(`const ${arr}: any[] = new Array(${a});`);
        c.open(`for (let ${i} = 0; ${i} < ${a}; ${i}++) {`);
        c.line(`ix = ${i};`);
        const e = this.rS(ty.elem, { id: () => null });
        c.line(`${arr}[${i}] = ${e};`);
        c.close();
        c.line('ix = -1;');
        return arr;
      }
    }
  }

  /** A decoded max_count against its size_is expression, or kept as the [in] size it stands for. */
  private checkOrCapture(size: Expr, n: string, cx: Cx, at?: string): void {
    const s = this.ex(size, cx);
    if (s !== null) this.c.line(`r.checkCount(${n}, ${s}, 'max_count (size_is(${exprText(size)}))'${at ? `, ${at}` : ''});`);
    else if (size.k === 'id' && cx.capture?.has(size.name)) this.c.line(`p_${size.name} = ${n};`);
  }

  /** Emit statements completing the deferred part of the value stored in lvalue lv. */
  private rB(ty: Ty, lv: string, cx: Cx): void {
    if (!hasPtr(ty)) return;
    const c = this.c;
    switch (ty.k) {
      case 'struct': c.line(`rb${this.x}_${ty.def.name}(r, ${lv});`); return;
      case 'union': c.line(`rb${this.x}_${ty.def.name}(r, ${lv}, ${this.need(ty.switchIs!, cx)});`); return;
      case 'ptr': {
        if (ty.kind !== 'ref') c.open(`if (${lv} !== 0) {`); else c.open('{');
        const t = this.rS(ty.to, cx);
        const tv = c.t('pv');
        c.line(`const ${tv}: any = ${t};`);
        this.rB(ty.to, tv, cx);
        c.line(`${lv} = ${tv};`);
        if (ty.kind !== 'ref') { c.mid('} else {'); c.line(`${lv} = null;`); }
        c.close();
        return;
      }
      case 'carr': case 'farr': {
        const i = c.t('i');
        c.open(`for (let ${i} = 0; ${i} < ${lv}.length; ${i}++) {`);
        c.line(`ix = ${i};`);
        this.rB(ty.elem, `${lv}[${i}]`, { id: () => null });
        c.close();
        c.line('ix = -1;');
        return;
      }
      default: return;
    }
  }

  private tryOpen(): void {
    this.c.line("let f = '';");
    this.c.line('let ix = -1;');
    this.c.open('try {');
  }
  private tryClose(io: 'r' | 'w', prefix?: string): void {
    const c = this.c;
    c.mid('} catch (e) {');
    const off = io === 'r' ? 'r.pos' : 'w.offset';
    const err = `ndrWithin(e, ix >= 0 ? \`\${f}[\${ix}]\` : f, ${off})`;
    c.line(prefix ? `throw ${err}.within(${q(prefix)});` : `throw ${err};`);
    c.close();
  }

  // ---- named types ----
  private emitStruct(def: StructDef): void {
    const c = this.c;
    const st: Ty = { k: 'struct', def };
    const A = structAlign(def, this.n64);
    const last = def.fields[def.fields.length - 1];
    const conf = last && (last.ty.k === 'carr' || (last.ty.k === 'str' && last.ty.fixed === null)) ? last : null;
    const known = new Set(def.fields.map((f) => f.name));
    for (const f of def.fields) this.checkTyIds(f.ty, known, `${def.name}.${f.name}`);
    const wcx: Cx = { id: (n) => (known.has(n) ? `v.${n}` : null) };
    const ov = def.override;

    c.open(`function ws${this.x}_${def.name}(w: NdrWriter, v: ${def.name}): void {`);
    if (ov) {
      c.line(`w.align(${A});`);
      c.line(`ov.${ov.codec}.writeScalars(w, v);`);
      if (this.n64) c.line(`w.align(${A});`);
    } else {
      this.tryOpen();
      if (conf) {
        c.line(`f = ${q(conf.name)};`);
        if (conf.ty.k === 'str') c.line(`w.conformance(v.${conf.name}.length + 1);`);
        else c.line(`w.conformance(${this.need((conf.ty as { size: Expr }).size, wcx)});`);
      }
      c.line(`w.align(${A});`);
      for (const f of def.fields) {
        c.line(`f = ${q(f.name)};`);
        this.wS(f.ty, `v.${f.name}`, wcx);
      }
      // NDR64 pads a structure's end to its alignment (MS-RPCE 2.2.5.3.4.1).
      if (this.n64) c.line(`w.align(${A});`);
      this.tryClose('w');
    }
    c.close();
    if (hasPtr(st)) {
      c.open(`function wb${this.x}_${def.name}(w: NdrWriter, v: ${def.name}): void {`);
      if (ov) c.line(`ov.${ov.codec}.writeBuffers(w, v);`);
      else {
        const rec = this.recursive.has(def);
        this.tryOpen();
        if (rec) c.line('w.enter();');
        for (const f of def.fields) {
          if (!hasPtr(f.ty)) continue;
          c.line(`f = ${q(f.name)};`);
          this.wB(f.ty, `v.${f.name}`, wcx);
        }
        if (rec) c.line('w.leave();');
        this.tryClose('w');
      }
      c.close();
    }
    c.open(`function rs${this.x}_${def.name}(r: NdrReader): ${def.name} {`);
    if (ov) {
      c.line(`r.align(${A});`);
      if (this.n64) {
        c.line(`const v = ov.${ov.codec}.readScalars(r);`);
        c.line(`r.align(${A});`);
        c.line('return v;');
      } else c.line(`return ov.${ov.codec}.readScalars(r);`);
    } else {
      this.tryOpen();
      let hc: string | undefined;
      if (conf) {
        c.line(`f = ${q(conf.name)};`);
        hc = 'hc';
        c.line('const hc = r.conformance();');
      }
      c.line(`r.align(${A});`);
      const rcx: Cx = { id: (n) => (known.has(n) ? `f_${n}` : null) };
      const done = new Set<string>();
      const rcxOrdered: Cx = { id: (n) => (done.has(n) ? `f_${n}` : null) };
      for (const f of def.fields) {
        c.line(`f = ${q(f.name)};`);
        const e = this.rS(f.ty, f === conf ? rcx : rcxOrdered, hc);
        c.line(`const f_${f.name}: any = ${e};`);
        done.add(f.name);
      }
      if (this.n64) c.line(`r.align(${A});`);
      c.line(`return { ${def.fields.map((f) => `${f.name}: f_${f.name}`).join(', ')} };`);
      this.tryClose('r');
    }
    c.close();
    if (hasPtr(st)) {
      c.open(`function rb${this.x}_${def.name}(r: NdrReader, v: any): void {`);
      if (ov) c.line(`ov.${ov.codec}.readBuffers(r, v);`);
      else {
        const rec = this.recursive.has(def);
        this.tryOpen();
        if (rec) c.line('r.enter();');
        for (const f of def.fields) {
          if (!hasPtr(f.ty)) continue;
          c.line(`f = ${q(f.name)};`);
          this.rB(f.ty, `v.${f.name}`, wcx);
        }
        if (rec) c.line('r.leave();');
        this.tryClose('r');
      }
      c.close();
    }
    c.line();
  }

  private emitUnion(def: UnionDef): void {
    const c = this.c;
    const ut: Ty = { k: 'union', def, switchIs: null };
    const sw = PRIM_METHOD[def.switchType];
    const none: Cx = { id: () => null };
    const caseLabels = (arm: UnionDef['arms'][number]): string =>
      [...arm.cases.map((v) => `case ${v}:`), ...(arm.isDefault ? ['default:'] : [])].join(' ');
    const hasDefault = def.arms.some((a) => a.isDefault);

    c.open(`function ws${this.x}_${def.name}(w: NdrWriter, v: ${def.name}, disc: number): void {`);
    // NDR 2.0: the discriminant and the arm align themselves. NDR64 aligns the union to its
    // largest arm before the discriminant and again after it (MS-RPCE 2.2.5.3.4.2; pidl does so).
    const AA = armsAlign(def, true);
    if (this.n64 && AA > 1) c.line(`w.align(${AA});`);
    if (!def.noDiscriminant) c.line(`w.${sw}(disc);`);
    if (this.n64 && AA > 1 && !def.noDiscriminant) c.line(`w.align(${AA});`);
    c.line('const u = v as any;');
    c.open('switch (disc) {');
    for (const arm of def.arms) {
      c.open(caseLabels(arm));
      if (arm.ty && arm.name) {
        c.line(`if (u.${arm.name} === undefined) w.fail(\`union ${def.name}: discriminant \${disc} selects arm ${arm.name}, which the value lacks\`);`);
        this.wS(arm.ty, `u.${arm.name}`, none);
      }
      c.line('return;');
      c.close('');
    }
    if (!hasDefault) c.line(`default: w.fail(\`union ${def.name} has no arm for discriminant \${disc}\`);`);
    c.close();
    c.close();
    if (hasPtr(ut)) {
      c.open(`function wb${this.x}_${def.name}(w: NdrWriter, v: ${def.name}, disc: number): void {`);
      c.line('const u = v as any;');
      c.open('switch (disc) {');
      for (const arm of def.arms) {
        if (!arm.ty || !arm.name || !hasPtr(arm.ty)) continue;
        c.open(caseLabels(arm));
        this.wB(arm.ty, `u.${arm.name}`, none);
        c.line('return;');
        c.close('');
      }
      c.close();
      c.close();
    }
    c.open(`function rs${this.x}_${def.name}(r: NdrReader, expected: number | undefined): ${def.name} {`);
    c.line("const f = '';");
    c.line('let ix = -1;');
    if (def.noDiscriminant) {
      // encapsulated: the enclosing struct read the discriminant
      if (this.n64 && AA > 1) c.line(`r.align(${AA});`);
      c.line('const at = r.pos;');
      c.line('const disc = expected as number;');
    } else {
      r_alignDisc(c, this.n64 ? Math.max(AA, PRIM_SIZE[def.switchType]) : PRIM_SIZE[def.switchType]);
      c.line(`const disc = r.${sw}();`);
      if (this.n64 && AA > 1) c.line(`r.align(${AA});`);
      c.line(`if (expected !== undefined && disc !== expected) r.fail(\`union ${def.name} discriminant \${disc} does not match its switch_is value \${expected}\`, at);`);
    }
    c.open('switch (disc) {');
    for (const arm of def.arms) {
      c.open(caseLabels(arm) + ' {');
      if (arm.ty && arm.name) {
        const e = this.rS(arm.ty, none);
        c.line(`return { ${arm.name}: ${e} } as any;`);
      } else c.line('return {} as any;');
      c.close();
    }
    if (!hasDefault) c.line(`default: return r.fail(\`union ${def.name}: no arm for discriminant \${disc}\`, at);`);
    c.close();
    c.line('void f; void ix;');
    c.close();
    if (hasPtr(ut)) {
      c.open(`function rb${this.x}_${def.name}(r: NdrReader, v: any, disc: number): void {`);
      c.line('let ix = -1;');
      c.open('switch (disc) {');
      for (const arm of def.arms) {
        if (!arm.ty || !arm.name || !hasPtr(arm.ty)) continue;
        c.open(caseLabels(arm) + ' {');
        this.rB(arm.ty, `v.${arm.name}`, none);
        c.line('return;');
        c.close();
      }
      c.close();
      c.line('void ix;');
      c.close();
    }
    c.line();
  }

  // ---- operations ----
  private opIds(op: OpModel, dir: 'in' | 'out'): { params: Param[]; captured: Param[] } {
    const params = op.params.filter((p) => (dir === 'in' ? p.dirIn : p.dirOut) && p.ty.k !== 'handle');
    const captured: Param[] = [];
    if (dir === 'out') {
      const names = new Set(params.map((p) => p.name));
      const visit = (ty: Ty): void => {
        if ((ty.k === 'carr' || ty.k === 'str') && ty.size && ty.size.k === 'id' && !names.has(ty.size.name)) {
          const p = op.params.find((x) => x.name === (ty.size as { name: string }).name);
          if (p && !captured.includes(p)) captured.push(p);
        }
        if (ty.k === 'ptr') visit(ty.to);
        if (ty.k === 'carr') visit(ty.elem);
      };
      for (const p of params) visit(p.ty);
    }
    return { params, captured };
  }

  /** The value type a top-level parameter has in the In/Out object. */
  private paramTs(p: Param): string {
    return tsType(p.ty);
  }

  private emitOp(op: OpModel): void {
    const c = this.c;
    const Cap = op.name[0].toUpperCase() + op.name.slice(1);
    const all = new Set(op.params.map((p) => p.name));
    for (const p of op.params) this.checkTyIds(p.ty, all, `parameter ${p.name} of ${op.name}`);
    for (const dir of ['in', 'out'] as const) {
      const D = dir === 'in' ? 'In' : 'Out';
      const { params, captured } = this.opIds(op, dir);
      const tname = `${op.name}${D}`;
      if (!this.n64) {
        c.line(`/** ${op.name} (opnum ${op.opnum}) ${dir === 'in' ? 'request' : 'response'} parameters. */`);
        c.open(`export interface ${tname} {`);
        for (const p of params) c.line(`${p.name}: ${this.paramTs(p)};`);
        for (const p of captured) c.line(`/** [in] ${p.name}, which sizes an [out] array: taken from the request when encoding, from max_count when decoding. */`), c.line(`${p.name}?: ${this.paramTs(p)};`);
        if (dir === 'out' && op.ret) c.line(`ReturnValue: ${tsType(op.ret)};`);
        c.close();
        c.line();
      }
      const names = new Set(params.map((p) => p.name));
      // encode
      const hint = `sizeHint${this.x}_${op.name}_${dir}`;
      c.line(`let ${hint} = 256;`);
      c.open(`export function encode${Cap}${D}${this.sfx}(v: ${tname}, littleEndian = true): Buffer {`);
      c.line(`const w = new NdrWriter${this.x}(littleEndian, ${hint});`);
      this.tryOpen();
      const wcx: Cx = { id: (n) => (names.has(n) ? `v.${n}` : null) };
      for (const p of params) {
        c.line(`f = ${q(p.name)};`);
        this.writeTop(p.ty, `v.${p.name}`, wcx);
      }
      if (dir === 'out' && op.ret) {
        c.line(`f = ${q('ReturnValue')};`);
        this.wS(op.ret, 'v.ReturnValue', wcx);
      }
      this.tryClose('w', `${op.name}.${dir}`);
      c.line('const stub = w.finish();');
      c.line(`// Start the next encode with room for a stub this size (grown buffers cost more than the bytes).`);
      c.line(`if (stub.length > ${hint} && stub.length <= 0x100000) ${hint} = stub.length;`);
      c.line('return stub;');
      c.close();
      c.line();
      // decode
      c.open(`export function decode${Cap}${D}${this.sfx}(stub: Buffer, littleEndian = true): ${tname} {`);
      c.line(`const r = new NdrReader${this.x}(stub, littleEndian);`);
      for (const p of captured) c.line(`let p_${p.name}: number | undefined;`);
      this.tryOpen();
      const done = new Set<string>();
      const rcx: Cx = { id: (n) => (done.has(n) ? `p_${n}` : null), capture: new Set(captured.map((p) => p.name)) };
      for (const p of params) {
        c.line(`f = ${q(p.name)};`);
        this.readTop(p.ty, `p_${p.name}`, rcx);
        done.add(p.name);
      }
      const fields = params.map((p) => `${p.name}: p_${p.name}`);
      for (const p of captured) fields.push(`${p.name}: p_${p.name}`);
      if (dir === 'out' && op.ret) {
        c.line(`f = ${q('ReturnValue')};`);
        c.line(`const p_ReturnValue = ${this.rS(op.ret, rcx)};`);
        fields.push('ReturnValue: p_ReturnValue');
      }
      c.line(`return { ${fields.join(', ')} };`);
      this.tryClose('r', `${op.name}.${dir}`);
      c.close();
      c.line();
    }
  }

  private writeTop(ty: Ty, v: string, cx: Cx): void {
    if (ty.k === 'ptr' && ty.kind === 'ref') {
      this.wS(ty.to, v, cx);
      this.wB(ty.to, v, cx);
      return;
    }
    this.wS(ty, v, cx);
    this.wB(ty, v, cx);
  }

  private readTop(ty: Ty, lv: string, cx: Cx): void {
    const c = this.c;
    const inner = ty.k === 'ptr' && ty.kind === 'ref' ? ty.to : ty;
    const e = this.rS(inner, cx);
    c.line(`let ${lv}: any = ${e};`);
    this.rB(inner, lv, cx);
  }

  /** One dispatcher of create<I>Interface, for the back end being emitted. */
  private emitDispatch(name: string): void {
    const c = this.c;
    const m = this.m;
    // An answer is encoded at once; an ASYNC operation takes a reply handle that encodes with
    // this back end's encoder when it answers. Decoding errors and faults are thrown (the
    // runtime answers them).
    c.open(`${name}(opnum: number, stub: Buffer, call: RpcCall<C>): Buffer | undefined {`);
    c.line('const littleEndian = call.littleEndian;');
    c.open('switch (opnum) {');
    for (const op of m.iface.ops) {
      if (op.placeholder) continue;
      const Cap = cap(op.name);
      const E = `encode${Cap}Out${this.sfx}`;
      const D = `decode${Cap}In${this.sfx}`;
      const { captured } = this.opIds(op, 'out');
      if (op.async && captured.length) throw new Error(`${op.name}: ASYNC with captured out sizes is not supported`);
      if (!op.async && !captured.length) {
        c.line(`case ${op.opnum}: return ${E}(server.${op.name}(${D}(stub, littleEndian), call.context), littleEndian);`);
        continue;
      }
      c.open(`case ${op.opnum}: {`);
      if (op.async) {
        c.line(`server.${op.name}(${D}(stub, littleEndian), call.context, call.later(${E}));`);
        c.line('return undefined;');
      } else {
        c.line(`const input = ${D}(stub, littleEndian);`);
        c.line(`const out = server.${op.name}(input, call.context);`);
        c.line(`return ${E}({ ...out, ${captured.map((p) => `${p.name}: out.${p.name} ?? input.${p.name}`).join(', ')} }, littleEndian);`);
      }
      c.close();
    }
    c.line(`default: throw new DispatchFault(NCA_S_OP_RNG_ERROR, \`${m.iface.name}: no operation with opnum \${opnum}\`);`);
    c.close();
    c.close('},');
  }

  // ---- module ----
  emit(): string {
    const m = this.m;
    const c = this.c;
    const I = m.ifaceName;
    c.line(`// DO NOT EDIT. Generated by scripts/idlgen from ${m.idlFile}${m.cnfFile ? ` and ${m.cnfFile}` : ''}.`);
    c.line('// Regenerate with `npm run gen`; CI fails when this file is stale.');
    c.line('/* eslint-disable */');
    c.line();
    const ndr = this.ndrImport;
    c.line(`import { ndrWithin, NdrReader, NdrReader64, NdrWriter, NdrWriter64 } from ${q(ndr)};`);
    c.line(`import type { ContextHandle, NdrModule } from ${q(ndr)};`);
    c.line(`import { DispatchFault, NCA_S_OP_RNG_ERROR } from ${q(ndr + '/dispatch')};`);
    c.line(`import type { ${m.iface.ops.some((op) => op.async) ? 'Reply, ' : ''}RpcCall, RpcInterface, SyntaxId } from ${q(ndr + '/dispatch')};`);
    if (m.overridesImport) c.line(`import * as ov from ${q(m.overridesImport)};`);
    c.line();
    c.line('export type { ContextHandle };');
    if (m.reexports.length) {
      if (!m.overridesImport) throw new Error('EXPORT needs OVERRIDES');
      c.line(`export type { ${m.reexports.join(', ')} } from ${q(m.overridesImport)};`);
    }
    c.line();
    if (m.consts.length) {
      c.line('// ---- constants ----');
      for (const k of m.consts) {
        const v = typeof k.value === 'string' ? q(k.value) : (k.value >= -(2n ** 53n) && k.value <= 2n ** 53n ? k.value.toString() : `${k.value}n`);
        c.line(`export const ${k.name} = ${v};`);
      }
      c.line();
    }
    for (const en of m.enums) {
      c.line(`/** enum ${en.name} (${en.wire === 'u16' ? '16-bit' : '32-bit [v1_enum]'} on the wire) */`);
      c.line(`export type ${en.name} = number;`);
      for (const mem of en.members) c.line(`export const ${mem.name} = ${mem.value};`);
      c.line();
    }
    c.line('// ---- types ----');
    for (const t of m.types) {
      if (t.kind === 'struct') {
        if (t.override) {
          c.line(`/** ${t.name}: coded by the hand-written overrides (${t.override.codec}). */`);
          c.line(`export type ${t.name} = ${t.override.ts};`);
        } else {
          c.open(`export interface ${t.name} {`);
          for (const f of t.fields) c.line(`${f.name}: ${tsType(f.ty)};`);
          c.close();
        }
      } else {
        const arms = t.arms.filter((a) => a.name && a.ty).map((a) => `{ ${a.name}: ${tsType(a.ty!)} }`);
        if (t.arms.some((a) => !a.ty)) arms.push('Record<string, never>');
        c.line(`/** union ${t.name}: one key, the arm its discriminant (switch_is) selects. */`);
        c.line(`export type ${t.name} = ${arms.join(' | ') || 'Record<string, never>'};`);
      }
      c.line();
    }
    c.line(`export const ${I}_SYNTAX: SyntaxId = { uuid: ${q(m.iface.uuid)}, major: ${m.iface.major}, minor: ${m.iface.minor} };`);
    c.line();
    c.open(`export const ${I}_OPNUMS = {`);
    for (const op of m.iface.ops) if (!op.placeholder) c.line(`${op.name}: ${op.opnum},`);
    c.close('} as const;');
    c.line();
    c.line('/** Operation names indexed by opnum (placeholders keep their Opnum<N>NotUsedOnWire names). */');
    c.line(`export const ${I}_OPERATION_NAMES: readonly string[] = [${m.iface.ops.map((o) => q(o.name)).join(', ')}];`);
    c.line();
    c.line('// ---- operations ----');
    for (const op of m.iface.ops) if (!op.placeholder) this.emitOp(op);
    c.line(`/** The server side of ${m.iface.name}: one method per operation; an ASYNC one answers later through its reply. */`);
    c.open(`export interface ${cap(I)}Server<C> {`);
    for (const op of m.iface.ops) {
      if (op.placeholder) continue;
      if (op.async) c.line(`${op.name}(input: ${op.name}In, ctx: C, reply: Reply<${op.name}Out>): void;`);
      else c.line(`${op.name}(input: ${op.name}In, ctx: C): ${op.name}Out;`);
    }
    c.close();
    c.line();
    c.line('/** Bind a server to the RPC runtime: decode the request stub, call, encode the response (NDR 2.0 or NDR64). */');
    c.open(`export function create${cap(I)}Interface<C>(server: ${cap(I)}Server<C>): RpcInterface<C> {`);
    c.open('return {');
    c.line(`name: ${q(m.moduleName)},`);
    c.line(`syntax: ${I}_SYNTAX,`);
    c.line(`operationNames: ${I}_OPERATION_NAMES,`);
    this.emitDispatch('dispatch');
    this.n64 = true;
    this.emitDispatch('dispatchNdr64');
    this.n64 = false;
    c.close('};');
    c.close();
    c.line();
    c.line('// ---- per-type codecs (tests, ndrdump) ----');
    c.open(`export const ${I}_TYPES = {`);
    for (const t of m.types) {
      if (t.kind !== 'struct') continue;
      const p = hasPtr({ k: 'struct', def: t });
      c.open(`${t.name}: {`);
      c.open(`encode(v: ${t.name}, littleEndian = true): Buffer {`);
      c.line('const w = new NdrWriter(littleEndian);');
      c.line(`ws_${t.name}(w, v);`);
      if (p) c.line(`wb_${t.name}(w, v);`);
      c.line('return w.finish();');
      c.close('},');
      c.open(`decode(stub: Buffer, littleEndian = true): ${t.name} {`);
      c.line('const r = new NdrReader(stub, littleEndian);');
      c.line(`const v = rs_${t.name}(r);`);
      if (p) c.line(`rb_${t.name}(r, v);`);
      c.line('return v;');
      c.close('},');
      c.close('},');
    }
    c.close('};');
    c.line();
    c.line('/** Everything above in one table, for tools that handle any interface (ndrdump). */');
    c.open(`export const ${I}_MODULE: NdrModule = {`);
    c.line(`name: ${q(m.moduleName)},`);
    c.line(`syntax: ${I}_SYNTAX,`);
    c.open('operations: {');
    for (const op of m.iface.ops) {
      if (op.placeholder) continue;
      const Cap = cap(op.name);
      const shape = (dir: 'in' | 'out'): string => {
        const { params, captured } = this.opIds(op, dir);
        const f = params.map((p) => `${p.name}: ${jsonShape(p.ty.k === 'ptr' && p.ty.kind === 'ref' ? p.ty.to : p.ty)}`);
        for (const p of captured) f.push(`${p.name}: { p: 'n' }`);
        if (dir === 'out' && op.ret) f.push(`ReturnValue: ${jsonShape(op.ret)}`);
        return f.length ? `{ o: { ${f.join(', ')} } }` : '{ o: {} }';
      };
      c.open(`${op.name}: {`);
      c.line(`opnum: ${op.opnum}, encodeIn: encode${Cap}In, decodeIn: decode${Cap}In, encodeOut: encode${Cap}Out, decodeOut: decode${Cap}Out,`);
      c.line(`json: { in: ${shape('in')}, out: ${shape('out')} },`);
      c.line(`ndr64: { encodeIn: encode${Cap}InNdr64, decodeIn: decode${Cap}InNdr64, encodeOut: encode${Cap}OutNdr64, decodeOut: decode${Cap}OutNdr64 },`);
      c.close('},');
    }
    c.close('},');
    c.open('jsonTypes: {');
    for (const t of m.types) {
      if (t.kind === 'struct') {
        if (t.override) c.line(`${t.name}: '*',`);
        else c.line(`${t.name}: { o: { ${t.fields.map((f) => `${f.name}: ${jsonShape(f.ty)}`).join(', ')} } },`);
      } else {
        c.line(`${t.name}: { u: { ${t.arms.filter((a) => a.name && a.ty).map((a) => `${a.name}: ${jsonShape(a.ty!)}`).join(', ')} } },`);
      }
    }
    c.close('},');
    c.close('};');
    c.line();
    c.line('// ---- internal: NDR scalars (ws/rs) and deferred buffers (wb/rb) per type ----');
    for (const t of m.types) {
      if (t.kind === 'struct') this.emitStruct(t);
      else this.emitUnion(t);
    }
    // The second back end: the same operations and types with NDR64's sizes and alignments.
    this.n64 = true;
    c.line('// ---- NDR64 (MS-RPCE 2.2.5): the same operations and types, 8-byte referent ids and counts ----');
    for (const op of m.iface.ops) if (!op.placeholder) this.emitOp(op);
    for (const t of m.types) {
      if (t.kind === 'struct') this.emitStruct(t);
      else this.emitUnion(t);
    }
    this.n64 = false;
    let text = c.text();
    text = text.replace(/\n{3,}/g, '\n\n').replace(/\n*$/, '\n');
    return text;
  }
}
