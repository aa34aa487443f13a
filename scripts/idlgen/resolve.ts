/** Name resolution and NDR layout: syntax tree → ModuleModel. */
import * as path from 'node:path';
import type { Attr, Declarator, Expr, Field, IdlFile, InterfaceDecl, Item, TypeSpec, Typedef } from './ast';
import type { Cnf } from './cnf';
import { errorAt, IdlError, SrcPos } from './errors';
import type { ConstModel, EnumDef, ModuleModel, OpModel, Param, Prim, PtrKind, StructDef, Ty, UnionDef } from './model';
import { parseIdl } from './parser';

/** Attributes that carry no wire meaning for us (accepted and ignored). */
const IGNORED_ATTRS = new Set([
  'in', 'out', 'retval', 'idempotent', 'broadcast', 'maybe', 'helpstring', 'helpcontext', 'local',
  'call_as', 'async', 'ms_union', 'endpoint', 'implicit_handle', 'auto_handle', 'strict_context_handle',
  'type_strict_context_handle', 'disable_consistency_check', 'message', 'notify', 'notify_flag',
  'optimize', 'ignore', 'public', 'nocode', 'noserialize', 'fault_status', 'comm_status', 'annotation',
  'callback', 'partial_ignore', 'force_allocate', 'propget', 'propput', 'id', 'object', 'oleautomation',
  'hidden', 'restricted', 'helpfile', 'lcid', 'odl', 'dual', 'nonextensible', 'uuid', 'version', 'pointer_default',
]);

const BUILTIN_GUIDS = new Set(['GUID', 'UUID', 'uuid_t']);

export interface LoadedFile {
  ast: IdlFile;
  path: string;
}

export function loadWithImports(mainPath: string, read: (p: string) => string): LoadedFile[] {
  const seen = new Set<string>();
  const out: LoadedFile[] = [];
  const visit = (p: string, display: string, from?: SrcPos): void => {
    const abs = path.resolve(p);
    if (seen.has(abs)) return;
    seen.add(abs);
    let text: string;
    try {
      text = read(abs);
    } catch {
      if (from) throw errorAt(from, `cannot read imported file ${JSON.stringify(display)}`);
      throw new IdlError(display, 1, 1, 'cannot read file');
    }
    const ast = parseIdl(display, text);
    for (const it of ast.items) {
      if (it.k === 'import') {
        for (const f of it.files) visit(path.join(path.dirname(abs), f), path.join(path.dirname(display), f), it.pos);
      }
    }
    out.push({ ast, path: abs });
  };
  visit(mainPath, path.relative(process.cwd(), mainPath) || mainPath);
  return out;
}

interface TypedefEntry {
  td: Typedef;
  decl: Declarator;
  ty?: Ty;
  busy?: boolean;
}

export class Resolver {
  private typedefs = new Map<string, TypedefEntry>();
  private tags = new Map<string, TypeSpec>();
  private constExprs = new Map<string, { expr: Expr; pos: SrcPos; value?: bigint | string; busy?: boolean }>();
  private defs = new Map<TypeSpec, StructDef | UnionDef | EnumDef>();
  readonly order: (StructDef | UnionDef)[] = [];
  readonly enums: EnumDef[] = [];
  pointerDefault: PtrKind = 'unique';

  constructor(private readonly cnf: Cnf | null) {}

  declare(items: Item[]): void {
    for (const it of items) {
      if (it.k === 'typedef') {
        for (const d of it.decls) {
          if (this.typedefs.has(d.name) && !this.sameTypedef(d.name, it)) throw errorAt(d.pos, `type ${d.name} is already defined`);
          this.typedefs.set(d.name, { td: it, decl: d });
        }
        this.declareTags(it.type);
      } else if (it.k === 'tagdecl') {
        this.declareTags(it.type);
      } else if (it.k === 'const') {
        if (this.constExprs.has(it.name)) throw errorAt(it.pos, `constant ${it.name} is already defined`);
        this.constExprs.set(it.name, { expr: it.value, pos: it.pos });
      } else if (it.k === 'interface') {
        this.declare(it.items);
      }
    }
  }

  private sameTypedef(name: string, td: Typedef): boolean {
    return this.typedefs.get(name)!.td === td;
  }

  private declareTags(t: TypeSpec): void {
    if ((t.k === 'struct' || t.k === 'union' || t.k === 'enum') && t.tag && (t.k === 'enum' ? t.members : t.k === 'struct' ? t.fields : t.arms)) {
      this.tags.set(`${t.k} ${t.tag}`, t);
    }
    if (t.k === 'enum' && t.members) {
      for (const m of t.members) {
        if (this.constExprs.has(m.name)) throw errorAt(m.pos, `constant ${m.name} is already defined`);
      }
    }
  }

  // ---- constants ----
  constValue(name: string, pos: SrcPos): bigint | string {
    const c = this.constExprs.get(name);
    if (!c) throw errorAt(pos, `unknown constant ${name}`);
    if (c.value !== undefined) return c.value;
    if (c.busy) throw errorAt(c.pos, `constant ${name} is defined in terms of itself`);
    c.busy = true;
    c.value = c.expr.k === 'str' ? c.expr.v : this.evalConst(c.expr);
    c.busy = false;
    return c.value;
  }

  hasConst(name: string): boolean {
    return this.constExprs.has(name);
  }

  evalConst(e: Expr): bigint {
    switch (e.k) {
      case 'num': return e.v;
      case 'str': throw errorAt(e.pos, 'expected an integer expression, found a string');
      case 'id': {
        const v = this.constValue(e.name, e.pos);
        if (typeof v === 'string') throw errorAt(e.pos, `expected an integer, ${e.name} is a string constant`);
        return v;
      }
      case 'unary': {
        const v = this.evalConst(e.e);
        switch (e.op) {
          case '-': return -v;
          case '+': return v;
          case '~': return ~v;
          case '!': return v === 0n ? 1n : 0n;
        }
        throw errorAt(e.pos, `operator ${e.op} is not allowed in a constant expression`);
      }
      case 'bin': {
        const a = this.evalConst(e.a), b = this.evalConst(e.b);
        switch (e.op) {
          case '+': return a + b;
          case '-': return a - b;
          case '*': return a * b;
          case '/': case '%':
            if (b === 0n) throw errorAt(e.pos, 'division by zero in a constant expression');
            return e.op === '/' ? a / b : a % b;
          case '<<': return a << b;
          case '>>': return a >> b;
          case '&': return a & b;
          case '|': return a | b;
          case '^': return a ^ b;
          case '==': return a === b ? 1n : 0n;
          case '!=': return a !== b ? 1n : 0n;
          case '<': return a < b ? 1n : 0n;
          case '>': return a > b ? 1n : 0n;
          case '<=': return a <= b ? 1n : 0n;
          case '>=': return a >= b ? 1n : 0n;
          case '&&': return a && b ? 1n : 0n;
          case '||': return a || b ? 1n : 0n;
        }
        throw errorAt(e.pos, `operator ${e.op} is not allowed in a constant expression`);
      }
      case 'cond': return this.evalConst(e.c) !== 0n ? this.evalConst(e.a) : this.evalConst(e.b);
      case 'member': throw errorAt(e.pos, 'expected a constant expression');
    }
  }

  // ---- types ----
  resolveTypedef(name: string, pos: SrcPos): Ty {
    const ent = this.typedefs.get(name);
    if (!ent) {
      if (BUILTIN_GUIDS.has(name)) return { k: 'guid' };
      throw errorAt(pos, `unknown type ${name}`);
    }
    if (ent.ty) return ent.ty;
    if (ent.busy) throw errorAt(ent.decl.pos, `type ${name} is defined in terms of itself (use a pointer)`);
    ent.busy = true;
    const { td, decl } = ent;
    const direct = decl.stars === 0 && decl.arrays.length === 0;
    const base = this.resolveSpec(td.type, direct ? name : undefined, td.attrs);
    ent.ty = this.applyUse(base, decl, td.attrs, 'typedef');
    ent.busy = false;
    return ent.ty;
  }

  resolveSpec(t: TypeSpec, nameHint?: string, tdAttrs: Attr[] = []): Ty {
    switch (t.k) {
      case 'base':
        switch (t.name) {
          case 'void': return { k: 'void' };
          case 'handle': return { k: 'handle' };
          case 'error_status': return { k: 'prim', p: 'u32' };
          default: return { k: 'prim', p: t.name as Prim };
        }
      case 'named':
        return this.resolveTypedef(t.name, t.pos);
      case 'struct': {
        const body = t.fields ? t : this.tags.get(`struct ${t.tag}`);
        if (!body || body.k !== 'struct') throw errorAt(t.pos, `unknown struct ${t.tag}`);
        let def = this.defs.get(body) as StructDef | undefined;
        if (!def) {
          const name = nameHint ?? body.tag;
          if (!name) throw errorAt(t.pos, 'an anonymous struct needs a typedef name');
          def = { kind: 'struct', name, fields: [], pos: body.pos, resolved: false };
          this.defs.set(body, def);
          const ov = this.cnf?.types.get(name);
          if (ov) def.override = { codec: ov.codec, ts: ov.ts };
          this.resolveStructFields(def, body.fields!);
          this.order.push(def);
        }
        return { k: 'struct', def };
      }
      case 'union': {
        const body = t.arms ? t : this.tags.get(`union ${t.tag}`);
        if (!body || body.k !== 'union') throw errorAt(t.pos, `unknown union ${t.tag}`);
        const known = this.defs.get(body) as UnionDef | StructDef | undefined;
        if (known) return known.kind === 'struct' ? { k: 'struct', def: known } : { k: 'union', def: known, switchIs: null };
        const name = nameHint ?? body.tag;
        if (!name) throw errorAt(t.pos, 'an anonymous union needs a typedef name');
        if (body.encapsulated) {
          // union switch (T d) u { ... } is a struct { T d; [switch_is(d)] union u; } on the wire.
          const enc = body.encapsulated;
          const dty = this.resolveSpec(enc.type);
          const base = dty.k === 'enum' ? dty.def.wire : dty.k === 'prim' ? dty.p : null;
          if (!base || base === 'f32' || base === 'f64' || base === 'u64' || base === 'i64') throw errorAt(body.pos, 'expected a 32-bit or smaller integer discriminant in union switch(...)');
          const sdef: StructDef = { kind: 'struct', name, fields: [], pos: body.pos, resolved: false };
          this.defs.set(body, sdef);
          const armsName = enc.unionName ?? 'u';
          const udef = this.makeUnion(`${name}_${armsName}`, base, body.arms!, body.pos);
          udef.noDiscriminant = true;
          sdef.fields.push({ name: enc.name, ty: dty, pos: body.pos });
          sdef.fields.push({ name: armsName, ty: { k: 'union', def: udef, switchIs: { k: 'id', name: enc.name, pos: body.pos } }, pos: body.pos });
          sdef.resolved = true;
          this.order.push(sdef);
          return { k: 'struct', def: sdef };
        }
        const st = tdAttrs.find((a) => a.name === 'switch_type');
        let switchType: Prim = 'i32';
        if (st?.type) {
          const sty = this.resolveSpec(st.type);
          const base = sty.k === 'enum' ? sty.def.wire : sty.k === 'prim' ? sty.p : null;
          if (!base || base === 'f32' || base === 'f64' || base === 'u64' || base === 'i64') throw errorAt(st.pos, 'expected a 32-bit or smaller integer type in switch_type');
          switchType = base;
        }
        const def = this.makeUnion(name, switchType, body.arms!, body.pos, body);
        return { k: 'union', def, switchIs: null };
      }
      case 'enum': {
        const body = t.members ? t : this.tags.get(`enum ${t.tag}`);
        if (!body || body.k !== 'enum') throw errorAt(t.pos, `unknown enum ${t.tag}`);
        let def = this.defs.get(body) as EnumDef | undefined;
        if (!def) {
          const name = nameHint ?? body.tag ?? 'enum';
          const wire = tdAttrs.some((a) => a.name === 'v1_enum') ? 'u32' : 'u16';
          def = { kind: 'enum', name, wire, members: [] };
          this.defs.set(body, def);
          let next = 0n;
          for (const m of body.members!) {
            const v = m.value ? this.evalConst(m.value) : next;
            this.constExprs.set(m.name, { expr: { k: 'num', v, pos: m.pos }, pos: m.pos, value: v });
            def.members.push({ name: m.name, value: v });
            next = v + 1n;
          }
          this.enums.push(def);
        }
        return { k: 'enum', def };
      }
    }
  }

  private makeUnion(name: string, switchType: Prim, arms: import('./ast').UnionArm[], pos: SrcPos, key?: TypeSpec): UnionDef {
    const def: UnionDef = { kind: 'union', name, switchType, arms: [], pos, resolved: false };
    if (key) this.defs.set(key, def);
    let defaults = 0;
    const seenCases = new Set<bigint>();
    for (const arm of arms) {
      const cases = arm.cases.map((c) => this.evalConst(c));
      for (const c of cases) {
        if (seenCases.has(c)) throw errorAt(arm.pos, `case ${c} appears twice in union ${name}`);
        seenCases.add(c);
      }
      if (arm.isDefault && ++defaults > 1) throw errorAt(arm.pos, `union ${name} has more than one default arm`);
      const ty = arm.field ? this.finalize(this.applyUse(this.resolveSpec(arm.field.type), arm.field.decl, arm.field.attrs, 'field'), false) : null;
      if (ty && this.isConformant(ty)) throw errorAt(arm.pos, 'a union arm cannot be conformant');
      def.arms.push({ cases, isDefault: arm.isDefault, name: arm.field?.decl.name ?? null, ty });
    }
    def.resolved = true;
    this.order.push(def);
    return def;
  }

  private resolveStructFields(def: StructDef, fields: Field[]): void {
    const names = new Set<string>();
    fields.forEach((f, i) => {
      if (names.has(f.decl.name)) throw errorAt(f.decl.pos, `member ${f.decl.name} appears twice in struct ${def.name}`);
      names.add(f.decl.name);
      let ty = this.finalize(this.applyUse(this.resolveSpec(f.type), f.decl, f.attrs, 'field'), false);
      const last = i === fields.length - 1;
      if (ty.k === 'carr' || (ty.k === 'str' && ty.fixed === null)) {
        if (!last) throw errorAt(f.decl.pos, `conformant array ${f.decl.name} must be the last member of struct ${def.name}`);
        ty = { ...ty, hoisted: true };
      } else if (ty.k === 'struct' && this.isConformant(ty)) {
        throw errorAt(f.decl.pos, `a conformant struct (${ty.def.name}) embedded in another struct is not supported`);
      }
      if (ty.k === 'handle' || ty.k === 'void') throw errorAt(f.decl.pos, `member ${f.decl.name} has no wire representation`);
      const ov = this.cnf?.fields.get(`${def.name}.${f.decl.name}`);
      if (ov) {
        if (this.hasPointers(ty) || this.isConformant(ty)) throw errorAt(f.decl.pos, `a FIELD override needs a fixed-size member without pointers (${def.name}.${f.decl.name})`);
        ty = { k: 'ov', codec: ov.codec, ts: ov.ts, base: ty };
      }
      def.fields.push({ name: f.decl.name, ty, pos: f.decl.pos });
    });
    def.resolved = true;
  }

  isConformant(ty: Ty): boolean {
    if (ty.k === 'carr') return true;
    if (ty.k === 'str') return ty.fixed === null;
    if (ty.k === 'struct') {
      const last = ty.def.fields[ty.def.fields.length - 1];
      return !!last && (last.ty.k === 'carr' || (last.ty.k === 'str' && last.ty.fixed === null));
    }
    return false;
  }

  hasPointers(ty: Ty): boolean {
    switch (ty.k) {
      case 'ptr': return true;
      case 'struct': return ty.def.fields.some((f) => this.hasPointers(f.ty));
      case 'union': return ty.def.arms.some((a) => a.ty !== null && this.hasPointers(a.ty));
      case 'carr': case 'farr': return this.hasPointers(ty.elem);
      case 'ov': return this.hasPointers(ty.base);
      default: return false;
    }
  }

  /** Apply a declarator (stars, array dimensions) and use-site attributes to a base type. */
  applyUse(base: Ty, decl: Declarator, attrs: Attr[], where: 'typedef' | 'field' | 'param'): Ty {
    let ty = base;
    for (let i = 0; i < decl.stars; i++) ty = { k: 'ptr', kind: 'default', to: ty };
    for (let i = decl.arrays.length - 1; i >= 0; i--) {
      const dim = decl.arrays[i];
      if (dim === null) {
        if (i !== 0) throw errorAt(decl.pos, 'only the first array dimension may be conformant');
        ty = { k: 'carr', size: null, length: null, elem: ty, hoisted: false };
      } else {
        const n = this.evalConst(dim);
        if (n <= 0n || n > 0x7fffffffn) throw errorAt(dim.pos, `array size ${n} out of range`);
        ty = { k: 'farr', n: Number(n), length: null, elem: ty };
      }
    }
    const attr = (n: string): Attr | undefined => attrs.find((a) => a.name === n);
    for (const a of attrs) {
      if (IGNORED_ATTRS.has(a.name)) continue;
      if (!['context_handle', 'string', 'size_is', 'length_is', 'max_is', 'ref', 'unique', 'ptr', 'switch_is', 'switch_type', 'range', 'v1_enum', 'case', 'default', 'charset', 'first_is', 'last_is'].includes(a.name)) {
        throw errorAt(a.pos, `unsupported attribute [${a.name}]`);
      }
      if (a.name === 'first_is' || a.name === 'last_is') throw errorAt(a.pos, `[${a.name}] is not supported (use length_is)`);
    }
    if (attr('context_handle')) {
      if (!(ty.k === 'ptr' && ty.to.k === 'void') && ty.k !== 'ctx' && !(ty.k === 'ptr' && ty.to.k === 'ctx')) {
        throw errorAt(attr('context_handle')!.pos, '[context_handle] needs a void * type');
      }
      if (ty.k === 'ptr' && ty.to.k === 'void') ty = { k: 'ctx' };
    }
    const str = attr('string');
    if (str) ty = this.applyString(ty, str.pos);
    const sizeIs = attr('size_is') ?? attr('max_is');
    const lengthIs = attr('length_is');
    if (sizeIs || lengthIs) {
      let size: Expr | null = null;
      if (sizeIs) {
        if (sizeIs.args.length !== 1 || !sizeIs.args[0]) throw errorAt(sizeIs.pos, `expected one expression in ${sizeIs.name}() (multi-level sizes are not supported)`);
        size = sizeIs.args[0];
        if (sizeIs.name === 'max_is') size = { k: 'bin', op: '+', a: size, b: { k: 'num', v: 1n, pos: size.pos }, pos: size.pos };
      }
      let length: Expr | null = null;
      if (lengthIs) {
        if (lengthIs.args.length !== 1 || !lengthIs.args[0]) throw errorAt(lengthIs.pos, 'expected one expression in length_is()');
        length = lengthIs.args[0];
      }
      const p = (sizeIs ?? lengthIs)!.pos;
      if (ty.k === 'str' && ty.fixed === null && size && !length) {
        // [string, size_is(n)] char x[]: a conformant varying string whose max_count is n (C706 mgmt).
        ty = { ...ty, size };
      } else if (ty.k === 'carr') {
        if (!size) throw errorAt(p, 'a conformant array [] needs size_is');
        ty = { ...ty, size, length };
      } else if (ty.k === 'farr') {
        if (size) throw errorAt(p, 'size_is on a fixed-size array');
        ty = { ...ty, length };
      } else if (ty.k === 'ptr') {
        if (!size) throw errorAt(p, 'length_is on a pointer needs size_is too');
        if (ty.to.k === 'str') throw errorAt(p, 'size_is on a [string] pointer is not supported');
        ty = { ...ty, to: { k: 'carr', size, length, elem: ty.to, hoisted: false } };
      } else {
        throw errorAt(p, `[${(sizeIs ?? lengthIs)!.name}] needs an array or a pointer`);
      }
    } else if (ty.k === 'carr' && where !== 'typedef') {
      throw errorAt(decl.pos, `conformant array ${decl.name} needs [size_is]`);
    }
    for (const kind of ['ref', 'unique', 'ptr'] as const) {
      const a = attr(kind);
      if (!a) continue;
      if (where === 'typedef' && ty.k === 'ptr') { ty = { ...ty, kind }; continue; }
      // On a use site the attribute applies to the outermost pointer (through arrays of pointers).
      if (ty.k === 'ptr') ty = { ...ty, kind };
      else if ((ty.k === 'carr' || ty.k === 'farr') && ty.elem.k === 'ptr' && where === 'field') ty = { ...ty, elem: { ...ty.elem, kind } };
      else if ((ty.k === 'carr' || ty.k === 'farr') && ty.elem.k === 'ptr' && where === 'param') ty = { ...ty, elem: { ...ty.elem, kind } };
      else throw errorAt(a.pos, `[${kind}] needs a pointer type`);
    }
    const sw = attr('switch_is');
    if (sw) {
      if (sw.args.length !== 1 || !sw.args[0]) throw errorAt(sw.pos, 'expected one expression in switch_is()');
      const target = ty.k === 'ptr' ? ty.to : ty;
      if (target.k !== 'union') throw errorAt(sw.pos, '[switch_is] needs a union type');
      const u = { ...target, switchIs: sw.args[0] };
      ty = ty.k === 'ptr' ? { ...ty, to: u } : u;
    } else if (where !== 'typedef' && (ty.k === 'union' || (ty.k === 'ptr' && ty.to.k === 'union'))) {
      const u = ty.k === 'union' ? ty : (ty as { to: Ty }).to as { switchIs: Expr | null };
      if (!u.switchIs) throw errorAt(decl.pos, `union ${decl.name} needs [switch_is]`);
    }
    const rg = attr('range');
    if (rg) {
      if (ty.k !== 'prim' || rg.args.length !== 2 || !rg.args[0] || !rg.args[1]) throw errorAt(rg.pos, '[range(min, max)] needs an integer type and two bounds');
      ty = { ...ty, range: [this.evalConst(rg.args[0]), this.evalConst(rg.args[1])] };
    }
    return ty;
  }

  private applyString(ty: Ty, pos: SrcPos): Ty {
    const isChar = (t: Ty): 'c' | 'w' | null =>
      t.k === 'prim' && (t.p === 'char' || t.p === 'u8' || t.p === 'i8') ? 'c' : t.k === 'prim' && (t.p === 'wchar' || t.p === 'u16') ? 'w' : null;
    if (ty.k === 'str') return ty;
    if (ty.k === 'ptr') {
      if (ty.to.k === 'str') return ty;
      const cs = isChar(ty.to);
      if (cs) return { ...ty, to: { k: 'str', cs, fixed: null, hoisted: false } };
      if (ty.to.k === 'ptr') return { ...ty, to: this.applyString(ty.to, pos) };
    }
    if (ty.k === 'farr') {
      const cs = isChar(ty.elem);
      if (cs) return { k: 'str', cs, fixed: ty.n, hoisted: false };
    }
    if (ty.k === 'carr') {
      const cs = isChar(ty.elem);
      if (cs) return { k: 'str', cs, fixed: null, hoisted: false };
    }
    throw errorAt(pos, '[string] needs a char or wchar_t pointer or array');
  }

  /** Give every 'default' pointer its kind: the outermost pointer of a parameter is [ref]. */
  finalize(ty: Ty, topParam: boolean): Ty {
    switch (ty.k) {
      case 'ptr': {
        const kind = ty.kind === 'default' ? (topParam ? 'ref' : this.pointerDefault) : ty.kind;
        return { ...ty, kind, to: this.finalize(ty.to, false) };
      }
      case 'carr': case 'farr':
        return { ...ty, elem: this.finalize(ty.elem, false) };
      default:
        return ty;
    }
  }

  resolveParam(f: Field, pos: SrcPos): Param {
    const dirIn = f.attrs.some((a) => a.name === 'in');
    const dirOut = f.attrs.some((a) => a.name === 'out');
    const ty = this.finalize(this.applyUse(this.resolveSpec(f.type), f.decl, f.attrs, 'param'), true);
    if (dirOut && ty.k !== 'ptr' && ty.k !== 'carr' && ty.k !== 'farr' && ty.k !== 'str' && ty.k !== 'ctx') {
      throw errorAt(pos, `[out] parameter ${f.decl.name} must be a pointer or an array`);
    }
    if (dirOut && ty.k === 'ptr' && ty.kind !== 'ref') throw errorAt(pos, `[out] parameter ${f.decl.name} must be a [ref] pointer`);
    return { name: f.decl.name, ty, dirIn: dirIn || !dirOut, dirOut, pos };
  }

  resolveTypedefsOf(items: Item[]): void {
    for (const it of items) {
      if (it.k === 'typedef') for (const d of it.decls) this.resolveTypedef(d.name, d.pos);
      else if (it.k === 'tagdecl') this.resolveSpec(it.type);
      else if (it.k === 'interface') this.resolveTypedefsOf(it.items);
    }
  }

  constsOf(items: Item[], out: ConstModel[]): void {
    for (const it of items) {
      if (it.k === 'const') out.push({ name: it.name, value: this.constValue(it.name, it.pos), pos: it.pos });
      else if (it.k === 'interface') this.constsOf(it.items, out);
    }
  }
}

export function buildModule(files: LoadedFile[], cnf: Cnf | null, idlDisplay: string): ModuleModel | null {
  const main = files[files.length - 1];
  const ifaces = main.ast.items.filter((i): i is InterfaceDecl => i.k === 'interface');
  if (ifaces.length === 0) return null;
  if (ifaces.length > 1) throw errorAt(ifaces[1].pos, 'expected one interface per IDL file');
  const iface = ifaces[0];
  const r = new Resolver(cnf);
  for (const f of files) r.declare(f.ast.items);
  const pd = iface.attrs.find((a) => a.name === 'pointer_default');
  if (pd) {
    const arg = pd.args[0];
    if (!arg || arg.k !== 'id' || !['ref', 'unique', 'ptr'].includes(arg.name)) throw errorAt(pd.pos, 'expected pointer_default(ref|unique|ptr)');
    r.pointerDefault = arg.name as PtrKind;
  }
  const uuidAttr = iface.attrs.find((a) => a.name === 'uuid');
  if (!uuidAttr) throw errorAt(iface.pos, `interface ${iface.name} needs a [uuid(...)] attribute`);
  const uuid = (uuidAttr.raw ?? '').toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid)) throw errorAt(uuidAttr.pos, `expected a UUID in uuid(), found '${uuidAttr.raw}'`);
  const verAttr = iface.attrs.find((a) => a.name === 'version');
  let major = 0, minor = 0;
  if (verAttr) {
    const m = /^(\d+)(?:\.(\d+))?$/.exec(verAttr.raw ?? '');
    if (!m) throw errorAt(verAttr.pos, `expected version(major.minor), found '${verAttr.raw}'`);
    major = Number(m[1]); minor = Number(m[2] ?? 0);
  }
  r.resolveTypedefsOf(main.ast.items);
  const consts: ConstModel[] = [];
  r.constsOf(main.ast.items, consts);
  const ops: OpModel[] = [];
  const opNames = new Set<string>();
  for (const it of iface.items) {
    if (it.k !== 'op') continue;
    if (opNames.has(it.name)) throw errorAt(it.pos, `operation ${it.name} is declared twice`);
    opNames.add(it.name);
    const params: Param[] = [];
    const pnames = new Set<string>();
    for (const p of it.params) {
      if (pnames.has(p.decl.name)) throw errorAt(p.decl.pos, `parameter ${p.decl.name} appears twice`);
      pnames.add(p.decl.name);
      const prm = r.resolveParam(p, p.decl.pos);
      if (prm.name === 'ReturnValue') throw errorAt(p.decl.pos, 'a parameter may not be called ReturnValue (reserved for the result)');
      params.push(prm);
    }
    let ret: Ty | null = r.resolveSpec(it.ret);
    if (it.retStars) throw errorAt(it.pos, 'an operation cannot return a pointer');
    if (ret.k === 'void') ret = null;
    else if (ret.k !== 'prim' && ret.k !== 'enum' && ret.k !== 'ctx') throw errorAt(it.pos, 'an operation must return void, an integer type or a context handle');
    // MS-* IDLs keep opnums positional with `void OpnumNNotUsedOnWire(void)` placeholders:
    // such an operation has no stub and is not dispatched (its opnum faults like an unknown one).
    const placeholder = /^Opnum\d+NotUsedOnWire$/.test(it.name);
    if (placeholder && (params.length || ret)) throw errorAt(it.pos, `${it.name} must be declared void ${it.name}(void)`);
    ops.push({ name: it.name, opnum: ops.length, params, ret, pos: it.pos, placeholder, async: !placeholder && (cnf?.async.has(it.name) ?? false) });
  }
  const base = path.basename(main.path).replace(/\.idl$/, '');
  return {
    idlFile: idlDisplay,
    cnfFile: cnf?.file ?? null,
    moduleName: cnf?.module ?? base,
    ifaceName: cnf?.name ?? iface.name,
    overridesImport: cnf?.overrides ?? null,
    reexports: cnf?.exports ?? [],
    consts,
    enums: r.enums,
    types: r.order,
    iface: { name: iface.name, uuid, major, minor, ops },
  };
}

export { Resolver as _Resolver };
export type { Item };
