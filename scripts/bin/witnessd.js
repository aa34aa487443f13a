#!/usr/bin/env node
// witnessd from a checkout or an installed package: compiled output when present, otherwise
// the TypeScript source through ts-node (transpile only, so start-up stays quick).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'witnessd.js');
let entry = compiled;
if (!fs.existsSync(compiled)) {
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', '..', 'tsconfig.json') });
  entry = path.join(__dirname, '..', '..', 'src', 'cli', 'witnessd.ts');
}
require(entry).main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`witnessd: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
