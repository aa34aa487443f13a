/**
 * The operations: per operation and direction the <Op>In / <Op>Out type, its stub codec
 * (src/ndr/stub.ts) made of a write and a read function, and the exported
 * encode<Op>In / decode<Op>In ... (with an Ndr64 suffix for the NDR64 back end); then the
 * tables for tools (<I>_TYPES, <I>_MODULE).
 */
import type { ModuleModel, OpModel, Param, Ty } from './model';
import { cap, hasPtr, jsonShape, q, tsType } from './layout';
import type { Scope, Wire } from './emit-wire';

type Direction = 'in' | 'out';

/**
 * The parameters of one direction (handle_t ones do not travel), and for 'out' the [in]-only
 * parameters that size an [out] array (ept_map's max_towers): the response carries them as
 * the array's max_count, so Out has them as optional members.
 */
export function operationParams(op: OpModel, dir: Direction): { params: Param[]; captured: Param[] } {
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

/** Everything one operation generates for the back end wire.ndr64 selects. */
export function emitOperation(wire: Wire, op: OpModel): void {
  const c = wire.c;
  const all = new Set(op.params.map((p) => p.name));
  for (const p of op.params) wire.checkNames(p.ty, all, `parameter ${p.name} of ${op.name}`);
  for (const dir of ['in', 'out'] as const) {
    const D = dir === 'in' ? 'In' : 'Out';
    const { params, captured } = operationParams(op, dir);
    const type = `${op.name}${D}`;
    if (!wire.ndr64) {
      c.line(`/** ${op.name} (opnum ${op.opnum}) ${dir === 'in' ? 'request' : 'response'} parameters. */`);
      c.open(`export interface ${type} {`);
      for (const p of params) c.line(`${p.name}: ${tsType(p.ty)};`);
      for (const p of captured) {
        c.line(`/** [in] ${p.name}, which sizes an [out] array: taken from the request when encoding, from max_count when decoding. */`);
        c.line(`${p.name}?: ${tsType(p.ty)};`);
      }
      if (dir === 'out' && op.ret) c.line(`ReturnValue: ${tsType(op.ret)};`);
      c.close();
      c.line();
    }
    const name = `${cap(op.name)}${D}${wire.suffix}`;
    const codec = `${name}_codec`;
    const write = `write${name}`;
    const read = `read${name}`;
    c.line(`const ${codec} = new NdrStubCodec${wire.ndr64 ? '64' : ''}<${type}>(${q(`${op.name}.${dir}`)}, ${write}, ${read});`);
    c.line(`export function encode${name}(v: ${type}, littleEndian = true): Buffer { return ${codec}.encode(v, littleEndian); }`);
    c.line(`export function decode${name}(stub: Buffer, littleEndian = true): ${type} { return ${codec}.decode(stub, littleEndian); }`);
    c.line();

    const names = new Set(params.map((p) => p.name));
    c.open(`function ${write}(w: NdrWriter, v: ${type}): void {`);
    const values: Scope = { id: (n) => (names.has(n) ? `v.${n}` : null) };
    for (const p of params) {
      c.line(`w.field(${q(p.name)});`);
      wire.writeParameter(p.ty, `v.${p.name}`, values);
    }
    if (dir === 'out' && op.ret) {
      c.line(`w.field(${q('ReturnValue')});`);
      wire.writeScalars(op.ret, 'v.ReturnValue', values);
    }
    c.close();

    c.open(`function ${read}(r: NdrReader): ${type} {`);
    for (const p of captured) c.line(`let p_${p.name}: number | undefined;`);
    // Parameters are read into p_<name>; an expression may name those read before it.
    const readSoFar = new Set<string>();
    const locals: Scope = { id: (n) => (readSoFar.has(n) ? `p_${n}` : null), capture: new Set(captured.map((p) => p.name)) };
    const fields = [...params, ...captured].map((p) => `${p.name}: p_${p.name}`);
    for (const p of params) {
      c.line(`r.field(${q(p.name)});`);
      wire.readParameter(p.ty, `p_${p.name}`, locals);
      readSoFar.add(p.name);
    }
    if (dir === 'out' && op.ret) {
      c.line(`r.field(${q('ReturnValue')});`);
      c.line(`const p_ReturnValue: ${tsType(op.ret)} = ${wire.readScalars(op.ret, locals)};`);
      fields.push('ReturnValue: p_ReturnValue');
    }
    c.line(fields.length ? `return { ${fields.join(', ')} };` : 'return {};');
    c.close();
    c.line();
  }
}

/** <I>_TYPES (one NDR 2.0 codec per struct, for tests and tools) and <I>_MODULE (ndrdump). */
export function emitTables(wire: Wire, m: ModuleModel): void {
  const c = wire.c;
  const I = m.ifaceName;
  c.line('// ---- per-type codecs (tests, ndrdump) ----');
  c.open(`export const ${I}_TYPES = {`);
  for (const t of m.types) {
    if (t.kind !== 'struct') continue;
    const codec = `new NdrStubCodec<${t.name}>(${q(t.name)}, `;
    if (!hasPtr({ k: 'struct', def: t })) {
      c.line(`${t.name}: ${codec}${wire.fn('writeScalars', t.name)}, ${wire.fn('readScalars', t.name)}),`);
      continue;
    }
    c.open(`${t.name}: ${codec}(w, v) => {`);
    c.line(`${wire.fn('writeScalars', t.name)}(w, v);`);
    c.line(`${wire.fn('writeBuffers', t.name)}(w, v);`);
    c.close(`}, (r) => ${wire.fn('readBuffers', t.name)}(r, ${wire.fn('readScalars', t.name)}(r))),`);
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
    const shape = (dir: Direction): string => {
      const { params, captured } = operationParams(op, dir);
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
}
