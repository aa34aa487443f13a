#!/usr/bin/env node
// witnessctl (the operator's CLI), from a checkout or an installed package (see entry.js).
'use strict';
require('./entry').load('witnessctl').main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`witnessctl: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
