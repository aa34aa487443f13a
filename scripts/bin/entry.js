// The package bins' one way in: the compiled module under dist/ when `npm run build` made it,
// otherwise the TypeScript source, transpiled file by file and cached (below).
// Paths are from the real location of this file, so a bin linked by `npm install -g .` or
// `npm link` finds its package.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const crypto = require('node:crypto');

const ROOT = path.join(__dirname, '..', '..');

/**
 * `.ts` files transpiled once and kept in node_modules/.cache/witnessd-ts, keyed by their text
 * and the compiler options: a witnessctl call from a checkout loads neither ts-node nor the
 * TypeScript compiler once the cache is warm (ts-node transpiled every file on every call:
 * ~4 s a call on an idle machine). Transpile only, as ts-node --transpile-only did: `npm run
 * typecheck` checks types. Source maps are inline, so stack traces name the .ts lines.
 */
function registerCachedTypeScript() {
  const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8'));
  const compilerOptions = { ...tsconfig.compilerOptions, sourceMap: false, inlineSourceMap: true, inlineSources: false, outDir: undefined };
  const cacheDir = path.join(ROOT, 'node_modules', '.cache', 'witnessd-ts');
  const salt = JSON.stringify(compilerOptions);
  let ts;
  require.extensions['.ts'] = function compileTs(module, filename) {
    const source = fs.readFileSync(filename, 'utf8');
    const key = crypto.createHash('sha256').update(salt).update('\0').update(filename).update('\0').update(source).digest('hex').slice(0, 40);
    const cached = path.join(cacheDir, `${key}.js`);
    let js;
    try {
      js = fs.readFileSync(cached, 'utf8');
    } catch {
      ts ??= require('typescript');
      js = ts.transpileModule(source, { compilerOptions, fileName: filename }).outputText;
      try {
        fs.mkdirSync(cacheDir, { recursive: true });
        const tmp = `${cached}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, js);
        fs.renameSync(tmp, cached);
      } catch {
        // A read-only checkout: transpile every time, as before.
      }
    }
    module._compile(js, filename);
  };
  // Stack traces through the inline source maps (node's own support, as --enable-source-maps).
  if (process.setSourceMapsEnabled) process.setSourceMapsEnabled(true);
}

/** require() src/cli/<name> (compiled or TypeScript). */
exports.load = function load(name) {
  const compiled = path.join(ROOT, 'dist', 'src', 'cli', `${name}.js`);
  if (fs.existsSync(compiled)) return require(compiled);
  if (!require.extensions['.ts']) registerCachedTypeScript();
  return require(path.join(ROOT, 'src', 'cli', `${name}.ts`));
};
