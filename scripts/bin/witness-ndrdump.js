#!/usr/bin/env node
// witness-ndrdump: the compiled CLI when dist/ exists, otherwise the TypeScript source
// through ts-node (transpile only), so it works from a checkout.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'ndrdump.js');
if (fs.existsSync(compiled)) {
  require(compiled).run();
} else {
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', '..', 'tsconfig.json') });
  require(path.join(__dirname, '..', '..', 'src', 'cli', 'ndrdump.ts')).run();
}
