#!/usr/bin/env node
// witnessd (the daemon), from a checkout or an installed package (see entry.js).
'use strict';
require('./entry').load('witnessd').main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`witnessd: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
