// Compile an IDL snippet (and optional conformance text) in memory and load the generated
// module, so generator tests can assert the exact bytes a construct produces.
import * as path from 'node:path';
import * as ts from 'typescript';
import { generate } from '../../../scripts/idlgen';

const IDL = path.resolve('/virtual/t.idl');

export function genText(idl: string, cnf?: string): string {
  const files: Record<string, string | undefined> = { [IDL]: idl, [IDL.replace(/\.idl$/, '.cnf')]: cnf };
  const res = generate(IDL, {
    ndrImport: 'NDR',
    read: (p) => {
      const t = files[p];
      if (t === undefined) throw new Error(`no file ${p}`);
      return t;
    },
  });
  if (!res) throw new Error('no interface in snippet');
  return res.text;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function compileIdl(idl: string, cnf?: string, overrides?: unknown): any {
  const text = genText(idl, cnf);
  const js = ts.transpileModule(text, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const mod = { exports: {} as Record<string, unknown> };
  const req = (id: string): unknown => {
    if (id === 'NDR') return require('../../../src/ndr');
    if (id === 'NDR/dispatch') return require('../../../src/ndr/dispatch');
    if (overrides !== undefined) return overrides;
    throw new Error(`unexpected import ${id}`);
  };
  new Function('require', 'exports', 'module', js)(req, mod.exports, mod);
  return mod.exports;
}

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
