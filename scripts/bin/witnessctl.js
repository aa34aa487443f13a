#!/usr/bin/env node
// witnessctl from a checkout: compile the TypeScript on the fly (transpile only, no type
// check, so start-up stays quick) and run its main().
'use strict';
const path = require('node:path');
require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', '..', 'tsconfig.json') });
const { main } = require(path.join(__dirname, '..', '..', 'src', 'cli', 'witnessctl.ts'));
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`witnessctl: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
