#!/usr/bin/env node
// `npm run gen:check`: fail when `npm run gen` would change src/gen (same as
// `npm run gen -- --check`, which scripts/run-tests.js runs).
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const root = path.resolve(__dirname, '..');
const r = spawnSync(process.execPath, [path.join(root, 'node_modules', '.bin', 'ts-node'), '--transpile-only', 'scripts/idlgen/main.ts', '--check'], { cwd: root, stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
