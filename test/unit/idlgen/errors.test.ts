// Bad IDL gets file:line:column and what was expected, never a stack trace.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IdlError } from '../../../scripts/idlgen';
import { genText } from './compile';

const I = (body: string, types = ''): string =>
  `${types}\n[uuid(12345678-1234-1234-1234-123456789abc), version(1.0)]\ninterface t {\n${body}\n}\n`;

function err(idl: string, cnf?: string): string {
  try {
    genText(idl, cnf);
  } catch (e) {
    expect(e).toBeInstanceOf(IdlError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('IDL errors', () => {
  it.each([
    ['typedef struct { long a } X;', /t\.idl:1:25: expected ';' after the struct member, found '}'/],
    ['typedef struct { FOO a; } X;', /t\.idl:1:18: unknown type FOO/],
    ['typedef struct { long n; [size_is(m)] long *x; } X;', /t\.idl:1:35: size_is of X\.x: unknown identifier m/],
    ['typedef struct { long n; [size_is(n)] long x[]; long y; } X;', /t\.idl:1:44: conformant array x must be the last member of struct X/],
    ['typedef struct { [frobnicate] long a; } X;', /t\.idl:1:19: unsupported attribute \[frobnicate\]/],
    ['typedef struct { long x[]; } X;', /t\.idl:1:23: conformant array x needs \[size_is\]/],
    ['typedef [switch_type(long)] union { [case(1)] long a; [case(1)] short b; } U;', /t\.idl:1:55: case 1 appears twice in union U/],
    ['/* never closed', /t\.idl:1:1: unterminated comment/],
    ['#include "x.h"', /t\.idl:1:1: unsupported preprocessor directive #include/],
    ['typedef struct { long a; } X; typedef struct { long b; } X;', /t\.idl:1:58: type X is already defined/],
    ['const long A = B;', /t\.idl:1:16: unknown constant B/],
    ['typedef struct { [string] long *s; } X;', /t\.idl:1:19: \[string\] needs a char or wchar_t pointer or array/],
  ])('%s', (types, re) => {
    expect(err(I('void f(void);', types))).toMatch(re);
  });

  it('reports errors in operations with their position', () => {
    expect(err(I('void f([out] long x);'))).toMatch(/t\.idl:4:19: \[out\] parameter x must be a pointer or an array/);
    expect(err(I('void f([in] long a, [in] long a);'))).toMatch(/t\.idl:4:31: parameter a appears twice/);
    expect(err(I('void f([in] long a)'))).toMatch(/t\.idl:5:1: expected ';' after operation f, found '}'/);
    expect(err('[version(1.0)] interface t { void f(void); }')).toMatch(/t\.idl:1:16: interface t needs a \[uuid\(\.\.\.\)\] attribute/);
    expect(err('[uuid(1234)] interface t { void f(void); }')).toMatch(/t\.idl:1:2: expected a UUID in uuid\(\), found '1234'/);
  });

  it('reports conformance-file errors with the cnf line', () => {
    expect(err(I('void f(void);'), 'MODULE x\nBOGUS y')).toMatch(/t\.cnf:2:1: expected MODULE, NAME, OVERRIDES, FIELD, TYPE or EXPORT, found 'BOGUS'/);
    expect(err(I('void f(void);', 'typedef struct { long a; } X;'), 'OVERRIDES ./o\nFIELD X.b codec string')).toMatch(/t\.cnf:2:1: FIELD X\.b: no such struct member/);
  });

  it('generates byte-identical text on every run', () => {
    const src = I('long f([in, unique, string] wchar_t *s, [out] X *x);', 'typedef struct { long n; [size_is(n)] byte b[]; } X;');
    expect(genText(src)).toBe(genText(src));
  });

  it('the CLI prints file:line:col and exits 1 without a stack trace', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idlgen-'));
    const bad = path.join(dir, 'bad.idl');
    fs.writeFileSync(bad, '[uuid(12345678-1234-1234-1234-123456789abc)] interface bad {\n  void f([in] long a;\n}\n');
    const root = path.resolve(__dirname, '../../..');
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules/.bin/ts-node'), '--transpile-only', 'scripts/idlgen/main.ts', bad], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.idl:2:21: expected '\)' or ',' in the parameter list, found ';'/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
