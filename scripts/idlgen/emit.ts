/**
 * TypeScript emitter: ModuleModel → the source of src/gen/<module>.ts, in this order:
 * header (emit-header.ts), types (emit-types.ts), operations (emit-operations.ts), server
 * (emit-server.ts), the tables for tools, then the per-type codecs; then the NDR64 back end's
 * operations and per-type codecs. How each NDR type is written and read is emit-wire.ts.
 */
import { Code } from './code';
import { emitHeader, emitIdentity } from './emit-header';
import { emitOperation, emitTables } from './emit-operations';
import { ServerEmitter } from './emit-server';
import { emitScalarsTypes, emitTypeCodecs, emitTypeDeclarations } from './emit-types';
import { Wire } from './emit-wire';
import type { ModuleModel } from './model';

export function emitModule(m: ModuleModel, ndrImport = '../ndr'): string {
  const c = new Code();
  const wire = new Wire(c, m);
  const operations = m.iface.ops.filter((op) => !op.placeholder);
  emitHeader(c, m, ndrImport);
  emitTypeDeclarations(c, m);
  emitIdentity(c, m);
  c.line('// ---- operations ----');
  for (const op of operations) emitOperation(wire, op);
  new ServerEmitter(c, m).emit();
  emitTables(wire, m);
  c.line('// ---- per-type codecs: NDR scalars (the inline part) and deferred buffers (pointees) ----');
  emitScalarsTypes(c, m, wire);
  emitTypeCodecs(wire, m);
  // The second back end: the same operations and types with NDR64's sizes and alignments.
  wire.ndr64 = true;
  c.line('// ---- NDR64 (MS-RPCE 2.2.5): the same operations and types, 8-byte referent ids and counts ----');
  for (const op of operations) emitOperation(wire, op);
  emitTypeCodecs(wire, m);
  return c.text().replace(/\n{3,}/g, '\n\n').replace(/\n*$/, '\n');
}
