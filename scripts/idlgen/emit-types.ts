/**
 * The IDL's named types: their exported TS declarations, and per type and back end the four
 * functions of NDR's two phases (writeScalars_T, writeBuffers_T, readScalars_T, readBuffers_T;
 * the buffers ones only for types with pointers). A type with pointers also gets T_Scalars,
 * the shape its scalars phase reads (emit-wire.ts).
 */
import type { Code } from './code';
import type { ModuleModel, StructDef, Ty, UnionDef } from './model';
import { armsAlign, hasPtr, PRIM_METHOD, PRIM_SIZE, q, structAlign, tsType } from './layout';
import { NO_NAMES, type Scope, type Wire } from './emit-wire';

/** `export interface T` / `export type T` for each named type. */
export function emitTypeDeclarations(c: Code, m: ModuleModel): void {
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
}

/** T_Scalars for each named type with pointers (shared by both back ends). */
export function emitScalarsTypes(c: Code, m: ModuleModel, wire: Wire): void {
  for (const t of m.types) {
    const ty: Ty = t.kind === 'struct' ? { k: 'struct', def: t } : { k: 'union', def: t, switchIs: null };
    if (!hasPtr(ty)) continue;
    const name = wire.scalarsType(ty);
    if (t.kind === 'struct' && t.override) {
      c.line(`type ${name} = ReturnType<typeof ov.${t.override.codec}.readScalars>;`);
    } else if (t.kind === 'struct') {
      c.line(`/** ${t.name} after its scalars phase: referent ids where the pointers are. */`);
      c.open(`interface ${name} {`);
      for (const f of t.fields) c.line(`${f.name}: ${wire.scalarsType(f.ty)};`);
      c.close();
    } else {
      const arms = t.arms.filter((a) => a.name && a.ty).map((a) => `{ ${a.name}: ${wire.scalarsType(a.ty!)} }`);
      if (t.arms.some((a) => !a.ty)) arms.push('Record<string, never>');
      c.line(`type ${name} = ${arms.join(' | ')};`);
    }
  }
  c.line();
}

/** The phase functions of every named type, for the back end wire.ndr64 selects. */
export function emitTypeCodecs(wire: Wire, m: ModuleModel): void {
  for (const t of m.types) {
    if (t.kind === 'struct') emitStruct(wire, t);
    else emitUnion(wire, t);
  }
}

function emitStruct(wire: Wire, def: StructDef): void {
  const c = wire.c;
  const ty: Ty = { k: 'struct', def };
  const align = structAlign(def, wire.ndr64);
  const pointers = hasPtr(ty);
  const scalars = wire.scalarsType(ty);
  const last = def.fields[def.fields.length - 1];
  const conformant = last && (last.ty.k === 'carr' || (last.ty.k === 'str' && last.ty.fixed === null)) ? last : null;
  const known = new Set(def.fields.map((f) => f.name));
  for (const f of def.fields) wire.checkNames(f.ty, known, `${def.name}.${f.name}`);
  const members = (base: string): Scope => ({ id: (n) => (known.has(n) ? `${base}.${n}` : null) });
  const ov = def.override;
  // NDR64 pads a structure's end to its alignment (MS-RPCE 2.2.5.3.4.1).
  const padEnd = (io: 'w' | 'r'): void => {
    if (wire.ndr64) c.line(`${io}.align(${align});`);
  };

  c.open(`function ${wire.fn('writeScalars', def.name)}(w: NdrWriter, v: ${def.name}): void {`);
  if (ov) {
    c.line(`w.align(${align});`);
    c.line(`ov.${ov.codec}.writeScalars(w, v);`);
    padEnd('w');
  } else {
    c.line('w.enter();');
    if (conformant) {
      c.line(`w.field(${q(conformant.name)});`);
      if (conformant.ty.k === 'carr') c.line(`w.conformance(${wire.required(conformant.ty.size!, members('v'))});`);
      else c.line(`w.conformance(v.${conformant.name}.length + 1);`);
    }
    c.line(`w.align(${align});`);
    for (const f of def.fields) {
      c.line(`w.field(${q(f.name)});`);
      wire.writeScalars(f.ty, `v.${f.name}`, members('v'));
    }
    padEnd('w');
    c.line('w.leave();');
  }
  c.close();

  if (pointers) {
    c.open(`function ${wire.fn('writeBuffers', def.name)}(w: NdrWriter, v: ${def.name}): void {`);
    if (ov) c.line(`ov.${ov.codec}.writeBuffers(w, v);`);
    else {
      c.line('w.enter();');
      for (const f of def.fields) {
        if (!hasPtr(f.ty)) continue;
        c.line(`w.field(${q(f.name)});`);
        wire.writeBuffers(f.ty, `v.${f.name}`, members('v'));
      }
      c.line('w.leave();');
    }
    c.close();
  }

  c.open(`function ${wire.fn('readScalars', def.name)}(r: NdrReader): ${scalars} {`);
  if (ov) {
    c.line(`r.align(${align});`);
    if (wire.ndr64) {
      c.line(`const s = ov.${ov.codec}.readScalars(r);`);
      padEnd('r');
      c.line('return s;');
    } else c.line(`return ov.${ov.codec}.readScalars(r);`);
  } else {
    c.line('r.enter();');
    let hoistedCount: string | undefined;
    if (conformant) {
      c.line(`r.field(${q(conformant.name)});`);
      hoistedCount = 'conformance';
      c.line('const conformance = r.conformance();');
    }
    c.line(`r.align(${align});`);
    // Each member is read into f_<name>; a size_is may name any member, a length_is or
    // switch_is only those read before it.
    const read = new Set<string>();
    const all: Scope = { id: (n) => (known.has(n) ? `f_${n}` : null) };
    const earlier: Scope = { id: (n) => (read.has(n) ? `f_${n}` : null) };
    for (const f of def.fields) {
      c.line(`r.field(${q(f.name)});`);
      const e = wire.readScalars(f.ty, f === conformant ? all : earlier, hoistedCount);
      c.line(`const f_${f.name}: ${wire.scalarsType(f.ty)} = ${e};`);
      read.add(f.name);
    }
    padEnd('r');
    c.line('r.leave();');
    c.line(`return { ${def.fields.map((f) => `${f.name}: f_${f.name}`).join(', ')} };`);
  }
  c.close();

  if (pointers) {
    c.open(`function ${wire.fn('readBuffers', def.name)}(r: NdrReader, s: ${scalars}): ${def.name} {`);
    if (ov) c.line(`return ov.${ov.codec}.readBuffers(r, s);`);
    else {
      c.line('r.enter();');
      const finished = new Map<string, string>();
      for (const f of def.fields) {
        if (!hasPtr(f.ty)) continue;
        c.line(`r.field(${q(f.name)});`);
        finished.set(f.name, wire.readBuffers(f.ty, `s.${f.name}`, members('s')));
      }
      c.line('r.leave();');
      c.line(`return { ${def.fields.map((f) => `${f.name}: ${finished.get(f.name) ?? `s.${f.name}`}`).join(', ')} };`);
    }
    c.close();
  }
  c.line();
}

function emitUnion(wire: Wire, def: UnionDef): void {
  const c = wire.c;
  const ty: Ty = { k: 'union', def, switchIs: null };
  const pointers = hasPtr(ty);
  const scalars = wire.scalarsType(ty);
  const switchMethod = PRIM_METHOD[def.switchType];
  const caseLabels = (arm: UnionDef['arms'][number]): string =>
    [...arm.cases.map((v) => `case ${v}:`), ...(arm.isDefault ? ['default:'] : [])].join(' ');
  const hasDefault = def.arms.some((a) => a.isDefault);
  // NDR 2.0: the discriminant and the arm align themselves. NDR64 aligns the union to its
  // largest arm before the discriminant and again after it (MS-RPCE 2.2.5.3.4.2; pidl does so).
  const armsAlignment = wire.ndr64 ? armsAlign(def, true) : 1;

  c.open(`function ${wire.fn('writeScalars', def.name)}(w: NdrWriter, v: ${def.name}, disc: number): void {`);
  c.line('w.enter();');
  if (armsAlignment > 1) c.line(`w.align(${armsAlignment});`);
  if (!def.noDiscriminant) {
    c.line(`w.${switchMethod}(disc);`);
    if (armsAlignment > 1) c.line(`w.align(${armsAlignment});`);
  }
  c.open('switch (disc) {');
  for (const arm of def.arms) {
    if (arm.ty && arm.name) {
      c.open(`${caseLabels(arm)} {`);
      c.line(`const arm = (v as { ${arm.name}?: ${tsType(arm.ty)} }).${arm.name};`);
      c.line(`if (arm === undefined) w.fail(\`union ${def.name}: discriminant \${disc} selects arm ${arm.name}, which the value lacks\`);`);
      c.line(`w.field(${q(arm.name)});`);
      wire.writeScalars(arm.ty, 'arm', NO_NAMES);
      c.line('break;');
      c.close();
    } else c.line(`${caseLabels(arm)} break;`);
  }
  if (!hasDefault) c.line(`default: w.fail(\`union ${def.name} has no arm for discriminant \${disc}\`);`);
  c.close();
  c.line('w.leave();');
  c.close();

  if (pointers) {
    c.open(`function ${wire.fn('writeBuffers', def.name)}(w: NdrWriter, v: ${def.name}, disc: number): void {`);
    c.line('w.enter();');
    c.open('switch (disc) {');
    for (const arm of def.arms) {
      if (!arm.ty || !arm.name || !hasPtr(arm.ty)) continue;
      c.open(`${caseLabels(arm)} {`);
      c.line(`w.field(${q(arm.name)});`);
      wire.writeBuffers(arm.ty, `(v as { ${arm.name}: ${tsType(arm.ty)} }).${arm.name}`, NO_NAMES);
      c.line('break;');
      c.close();
    }
    c.close();
    c.line('w.leave();');
    c.close();
  }

  c.open(`function ${wire.fn('readScalars', def.name)}(r: NdrReader, expected: number | undefined): ${scalars} {`);
  c.line('r.enter();');
  if (def.noDiscriminant) {
    // encapsulated: the enclosing struct read the discriminant
    if (armsAlignment > 1) c.line(`r.align(${armsAlignment});`);
    c.line('const at = r.pos;');
    c.line('const disc = expected as number;');
  } else {
    // Align to the discriminant first so that `at` (for errors) points at it.
    const discAlign = Math.max(armsAlignment, PRIM_SIZE[def.switchType]);
    if (discAlign > 1) c.line(`r.align(${discAlign});`);
    c.line('const at = r.pos;');
    c.line(`const disc = r.${switchMethod}();`);
    if (armsAlignment > 1) c.line(`r.align(${armsAlignment});`);
    c.line(`if (expected !== undefined && disc !== expected) r.fail(\`union ${def.name} discriminant \${disc} does not match its switch_is value \${expected}\`, at);`);
  }
  c.open('switch (disc) {');
  for (const arm of def.arms) {
    c.open(`${caseLabels(arm)} {`);
    if (arm.ty && arm.name) {
      c.line(`r.field(${q(arm.name)});`);
      const e = wire.readScalars(arm.ty, NO_NAMES);
      c.line(`const arm: ${wire.scalarsType(arm.ty)} = ${e};`);
      c.line('r.leave();');
      c.line(`return { ${arm.name}: arm };`);
    } else {
      c.line('r.leave();');
      c.line('return {};');
    }
    c.close();
  }
  if (!hasDefault) c.line(`default: return r.fail(\`union ${def.name}: no arm for discriminant \${disc}\`, at);`);
  c.close();
  c.close();

  if (pointers) {
    c.open(`function ${wire.fn('readBuffers', def.name)}(r: NdrReader, s: ${scalars}, disc: number): ${def.name} {`);
    c.line('r.enter();');
    c.open('switch (disc) {');
    for (const arm of def.arms) {
      if (!arm.ty || !arm.name || !hasPtr(arm.ty)) continue;
      c.open(`${caseLabels(arm)} {`);
      c.line(`r.field(${q(arm.name)});`);
      wire.readBuffers(arm.ty, `(s as { ${arm.name}: ${wire.scalarsType(arm.ty)} }).${arm.name}`, NO_NAMES, 'arm');
      c.line('r.leave();');
      c.line(`return { ${arm.name}: arm };`);
      c.close();
    }
    c.open('default: {');
    c.line('// an arm without pointers: its scalars are its value');
    c.line('r.leave();');
    c.line(`return s as ${def.name};`);
    c.close();
    c.close();
    c.close();
  }
  c.line();
}
