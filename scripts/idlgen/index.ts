/** The IDL compiler as a library: IDL (+ conformance file) → TypeScript module text. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cnf, parseCnf } from './cnf';
import { emitModule } from './emit';
import { IdlError } from './errors';
import { buildModule, loadWithImports } from './resolve';

export { IdlError } from './errors';

export interface GenOptions {
  /** Import path of the NDR runtime as seen from the generated file. */
  ndrImport?: string;
  /** Override the overrides-module import path from the conformance file. */
  overridesImport?: string;
  /** Read a file (defaults to fs); lets tests compile in-memory snippets. */
  read?: (absPath: string) => string;
}

export interface GenResult {
  moduleName: string;
  text: string;
}

/**
 * Compile one IDL file. The conformance file `<same name>.cnf` beside it is used when it
 * exists. Returns null for an IDL without an interface (an import-only file such as
 * ms-dtyp.idl). Throws IdlError (file:line:col) for bad input.
 */
export function generate(idlPath: string, opts: GenOptions = {}): GenResult | null {
  const read = opts.read ?? ((p: string) => fs.readFileSync(p, 'utf8'));
  const display = path.relative(process.cwd(), idlPath) || idlPath;
  const cnfPath = idlPath.replace(/\.idl$/, '') + '.cnf';
  let cnf: Cnf | null = null;
  let cnfText: string | undefined;
  try {
    cnfText = read(path.resolve(cnfPath));
  } catch {
    cnfText = undefined;
  }
  if (cnfText !== undefined) cnf = parseCnf(path.relative(process.cwd(), cnfPath) || cnfPath, cnfText);
  const files = loadWithImports(idlPath, read);
  const model = buildModule(files, cnf, display);
  if (!model) return null;
  if (cnf) {
    const structs = new Map(model.types.filter((t) => t.kind === 'struct').map((t) => [t.name, t]));
    for (const [key, v] of cnf.fields) {
      const [s, f] = key.split('.');
      const def = structs.get(s);
      if (!def || def.kind !== 'struct' || !def.fields.some((x) => x.name === f)) {
        throw new IdlError(cnf.file, v.line, 1, `FIELD ${key}: no such struct member in ${display}`);
      }
    }
    for (const [name, v] of cnf.types) {
      if (!structs.has(name)) throw new IdlError(cnf.file, v.line, 1, `TYPE ${name}: no such struct in ${display}`);
    }
    for (const [name, line] of cnf.async) {
      if (!model.iface.ops.some((op) => op.name === name && !op.placeholder)) throw new IdlError(cnf.file, line, 1, `ASYNC ${name}: no such operation in ${display}`);
    }
    if ((cnf.fields.size || cnf.types.size || cnf.exports.length) && !cnf.overrides && !opts.overridesImport) {
      throw new IdlError(cnf.file, 1, 1, 'FIELD/TYPE/EXPORT need an OVERRIDES line');
    }
  }
  if (opts.overridesImport) model.overridesImport = opts.overridesImport;
  const text = emitModule(model, opts.ndrImport);
  return { moduleName: model.moduleName, text };
}
