// The package bins' one way in: the compiled module under dist/ when `npm run build` made it,
// otherwise the TypeScript source through ts-node (transpile only, so start-up stays quick).
// Paths are from the real location of this file, so a bin linked by `npm install -g .` or
// `npm link` finds its package.
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const ROOT = path.join(__dirname, '..', '..');

/** require() src/cli/<name> (compiled or TypeScript). */
exports.load = function load(name) {
  const compiled = path.join(ROOT, 'dist', 'src', 'cli', `${name}.js`);
  if (fs.existsSync(compiled)) return require(compiled);
  require('ts-node').register({ transpileOnly: true, project: path.join(ROOT, 'tsconfig.json') });
  return require(path.join(ROOT, 'src', 'cli', `${name}.ts`));
};
