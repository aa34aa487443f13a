/**
 * Arrows and circles (STYLE.md §4): the import graph of src/ has no cycle, and only the
 * daemon's assembly (src/cli) and the operator's API itself (src/admin) import src/admin.
 * Type-only imports count: a type cycle still ties two rooms together for a reader, and
 * `import type` is one keyword away from a runtime edge.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const SRC = path.resolve(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/** The src/ file a relative specifier names, or undefined for packages and node builtins. */
function resolve(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base + '.ts', path.join(base, 'index.ts'), base]) {
    if (c.endsWith('.ts') && fs.existsSync(c)) return c;
  }
  throw new Error(`${rel(from)}: cannot resolve '${spec}'`);
}

const rel = (p: string): string => path.relative(SRC, p).split(path.sep).join('/');

/** Every file's imports and re-exports (static, type-only and dynamic alike). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const to = new Set<string>();
    for (const ref of info.importedFiles) {
      const target = resolve(file, ref.fileName);
      if (target !== undefined) to.add(rel(target));
    }
    graph.set(rel(file), [...to].sort());
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

describe('src/ import graph', () => {
  const graph = importGraph();

  it('reads every source file and finds the known arrows', () => {
    expect(graph.size).toBeGreaterThan(50);
    // A sanity anchor: the daemon's assembly binds the admin API.
    expect(graph.get('cli/daemon.ts')).toEqual(expect.arrayContaining([expect.stringMatching(/^admin\//)]));
  });

  it('has no import cycle (type-only imports included)', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('no room below src/cli imports src/admin', () => {
    const offenders: string[] = [];
    for (const [from, tos] of graph) {
      if (from.startsWith('cli/') || from.startsWith('admin/')) continue;
      for (const to of tos) if (to.startsWith('admin/')) offenders.push(`${from} -> ${to}`);
    }
    expect(offenders).toEqual([]);
  });

  it('finds a planted cycle (the checker itself works)', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });
});
