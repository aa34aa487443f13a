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
// The files on the per-node-namespace cluster (scripts/lib/netns-cluster.ts) spend most of their
// time in smbtorture's timers (AsyncNotify_timeouts waits ~8 min) and make namespaces of their own,
// so on a plain `npm test` they run in a second jest process beside the rest (which binds fixed
// loopback addresses in its one namespace and so stays in band); their report follows the first's.
const CLUSTER_FILES = ['samba-cluster', 'cluster-kerberos', 'faults', 'samba-migration'].map((f) => `test/interop/${f}.test.ts`);
const quote = (a) => `'${a.replace(/'/g, `'\\''`)}'`;
const interop = (argv) => `ip link set lo up && exec "${jest}" --selectProjects interop --runInBand --verbose ${argv.map(quote).join(' ')}`;
const probe = spawnSync('unshare', ['-n', 'true']);
if (probe.status !== 0) {
  const msg = '!!! interop tests SKIPPED: cannot create a private network namespace (unshare -n needs root)';
  console.error(`\n${msg}\n`);
  if (ci) { console.error('CI=true: a skipped interop layer is a failure'); ok = false; }
} else if (args.length > 0) {
  ok = run('interop (private netns)', 'unshare', ['-n', 'sh', '-c', interop(args)]) && ok;
} else {
  const fs = require('node:fs');
  const os = require('node:os');
  const logPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-interop-')), 'cluster.log');
  const log = fs.openSync(logPath, 'w');
  console.log(`\n== interop, cluster files beside the rest (their report: ${logPath}, printed after)`);
  const { spawn } = require('node:child_process');
  const side = spawn('unshare', ['-n', 'sh', '-c', interop(CLUSTER_FILES)], { cwd: root, stdio: ['ignore', log, log] });
  const sideDone = new Promise((resolve) => side.on('close', (code) => resolve(code === 0)));
  const rest = CLUSTER_FILES.map((f) => `--testPathIgnorePatterns=${f}`);
  ok = run('interop (private netns)', 'unshare', ['-n', 'sh', '-c', interop(rest)]) && ok;
  sideDone.then((sideOk) => {
    fs.closeSync(log);
    console.log(`\n== interop, cluster files (${CLUSTER_FILES.join(' ')})`);
    process.stdout.write(fs.readFileSync(logPath));
    finish(ok && sideOk);
  });
}
function finish(passed) {
  console.log(passed ? '\nALL TEST LAYERS PASSED' : '\nSOME TEST LAYER FAILED');
  process.exit(passed ? 0 : 1);
}
if (probe.status !== 0 || args.length > 0) finish(ok);
