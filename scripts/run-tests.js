#!/usr/bin/env node
// `npm test`: type check, generated-code freshness, unit + integration tests, then the
// interop tests inside a private network namespace (so ports 135/445 are always free).
// Extra arguments are passed to jest (e.g. `npm test -- -t GetInterfaceList`). The jest
// projects (unit, integration, interop: ARCHITECTURE.md "Tests, in layers") are in package.json.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const jest = path.join(root, 'node_modules', '.bin', 'jest');
const args = process.argv.slice(2);
const ci = process.env.CI === 'true';

function run(title, cmd, argv, opts = {}) {
  console.log(`\n== ${title}: ${[cmd, ...argv].join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) console.error(`${title}: ${r.error.message}`);
  return r.status === 0;
}

let ok = true;
ok = run('typecheck', process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root]) && ok;
ok = run('generated code is fresh', process.execPath, [path.join(root, 'node_modules/.bin/ts-node'), '--transpile-only', 'scripts/idlgen/main.ts', '--check']) && ok;
ok = run('unit + integration', jest, ['--selectProjects', 'unit', 'integration', ...args]) && ok;

// Interop: real peers in a private network namespace (needs root for unshare -n); --verbose so
// the report names every peer test and a regression is visible at a glance.
const probe = spawnSync('unshare', ['-n', 'true']);
if (probe.status !== 0) {
  const msg = '!!! interop tests SKIPPED: cannot create a private network namespace (unshare -n needs root)';
  console.error(`\n${msg}\n`);
  if (ci) { console.error('CI=true: a skipped interop layer is a failure'); ok = false; }
} else {
  const inner = `ip link set lo up && exec "${jest}" --selectProjects interop --runInBand --verbose ${args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`;
  ok = run('interop (private netns)', 'unshare', ['-n', 'sh', '-c', inner]) && ok;
}
console.log(ok ? '\nALL TEST LAYERS PASSED' : '\nSOME TEST LAYER FAILED');
process.exit(ok ? 0 : 1);
