// Generated code reads like hand-written code (STYLE.md §6): what is the same for every codec
// is the runtime's (src/ndr/stub.ts, coder.ts), locals have declared types, names say what
// they do. Checked on the committed modules and on a snippet with every construct.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { genText } from './compile';

const GEN = path.resolve(__dirname, '../../../src/gen');
const snippet = genText(`
  typedef struct _node { long v; [unique] struct _node *next; } node;
  typedef [switch_type(short)] union { [case(1)] long l; [case(3)] long *q; [default] ; } U;
  typedef struct { short level; [switch_is(level)] U u; [string] wchar_t *name; long n; [size_is(n)] node *items; } S;
  [uuid(12345678-1234-1234-1234-123456789abc), version(1.0)]
  interface t {
    long f([in] S s, [in, unique] node *head, [in] long max, [out] long *num, [out, size_is(max), length_is(*num)] S out[]);
  }`);
const texts: [string, string][] = [
  ['snippet', snippet],
  ...fs.readdirSync(GEN).filter((f) => f.endsWith('.ts')).map((f): [string, string] => [f, fs.readFileSync(path.join(GEN, f), 'utf8')]),
];

describe.each(texts)('%s', (_name, text) => {
  it('has no try/catch, no module-level state, no any', () => {
    expect(text).not.toMatch(/\btry\s*\{|\bcatch\s*\(/);
    expect(text).not.toMatch(/^let /m);
    expect(text).not.toMatch(/:\s*any\b|\bas any\b|<any>|any\[\]/);
  });

  it('names its phase functions in words', () => {
    expect(text).not.toMatch(/\b(ws|wb|rs|rb)(64)?_\w/);
  });
});

it('the phase functions of both back ends', () => {
  for (const phase of ['writeScalars', 'writeBuffers', 'readScalars', 'readBuffers']) {
    expect(snippet).toContain(`function ${phase}_node(`);
    expect(snippet).toContain(`function ${phase}Ndr64_node(`);
  }
});

it('a struct with pointers reads its scalars into T_Scalars, referent ids in their own fields', () => {
  expect(snippet).toMatch(/interface node_Scalars \{\n {2}v: number;\n {2}next: number;\n\}/);
  expect(snippet).toMatch(/function readScalars_node\(r: NdrReader\): node_Scalars \{/);
  expect(snippet).toMatch(/function readBuffers_node\(r: NdrReader, s: node_Scalars\): node \{/);
});

it('type-checks strictly against the runtime: every local has its declared type', () => {
  const ndr = path.resolve(__dirname, '../../../src/ndr');
  const file = path.join(__dirname, 'snippet.generated.ts'); // never written: served from memory
  const source = snippet.replace(/from "NDR(\/dispatch)?"/g, (_m, sub: string | undefined) => `from ${JSON.stringify(ndr + (sub ?? ''))}`);
  const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, types: ['node'], skipLibCheck: true };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) => (name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(errors).toEqual([]);
}, 60_000);
