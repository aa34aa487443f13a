// The NDR runtime's own import graph has no cycle (issue 14 item 5): a shared constant or type
// lives in a module that imports nothing of the modules using it. Type-only imports count too.
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../src/ndr');

function modules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? modules(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The src/ndr modules a module imports (relative imports that stay inside src/ndr). */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+['"](\.[^'"]+)['"]/gms)) {
    const base = path.resolve(path.dirname(file), m[1]);
    const target = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
    if (target && target.startsWith(ROOT + path.sep)) out.push(target);
  }
  return out;
}

it('src/ndr has no import cycle', () => {
  const files = modules(ROOT);
  expect(files.length).toBeGreaterThan(10);
  const edges = new Map(files.map((f) => [f, imports(f)]));
  expect(edges.get(path.join(ROOT, 'writer.ts'))).toContain(path.join(ROOT, 'coder.ts'));
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (f: string, trail: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(ROOT, x)).join(' → '));
      return;
    }
    state.set(f, 'open');
    for (const g of edges.get(f) ?? []) visit(g, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  expect(cycles).toEqual([]);
});
