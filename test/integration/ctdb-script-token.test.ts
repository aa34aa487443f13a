/**
 * The CTDB event script never puts the admin token on a command line (ps shows every argument
 * to every user): it reads CTDB_WITNESSD_TOKEN_FILE and hands the token to its node helper in
 * the environment. Run with a stub of CTDB's `functions` and a node wrapper that records its
 * arguments, against a real admin API that needs the token.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoConfig } from '../../src/config';
import { startWitnessd, type Witnessd } from '../../src/cli/daemon';
import pino from 'pino';

jest.setTimeout(60_000);

const SCRIPT = path.resolve(__dirname, '../../scripts/ctdb/events/legacy/09.witnessd.script');
const TOKEN = 'ctdb-token-never-in-argv-0123456789';

describe('09.witnessd.script and the admin token', () => {
  let dir: string;
  let d: Witnessd;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'witnessd-ctdb-script-'));
    const base = demoConfig();
    d = await startWitnessd({ ...base, admin: { ...base.admin, token: TOKEN } }, { epmPort: 0, witnessPort: 0, adminAddress: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('monitor and ipreallocated reach the admin API with the token, and no argument of any process holds it', async () => {
    writeFileSync(path.join(dir, 'functions'), 'load_script_options() { :; }\ndie() { echo "$*"; exit 1; }\nctdb_get_pnn() { echo 0; }\n');
    writeFileSync(path.join(dir, 'admin.token'), `${TOKEN}\n`);
    const argsLog = path.join(dir, 'node-args.log');
    const wrapper = path.join(dir, 'node');
    // Records its arguments and whether the token came in the environment, then runs node.
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${argsLog}'\n[ -n "$WITNESSD_ADMIN_TOKEN" ] && echo TOKEN-IN-ENV >> '${argsLog}'\nexec '${process.execPath}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CTDB_BASE: dir,
      CTDB_WITNESSD_NODE: wrapper,
      CTDB_WITNESSD_ADMIN: d.admin.url,
      CTDB_WITNESSD_TOKEN_FILE: path.join(dir, 'admin.token'),
      CTDB_WITNESSD_PIDFILE: path.join(dir, 'witnessd.pid'),
      CTDB_WITNESSD_HOOK_WAIT_MS: '500',
    };
    const run = (event: string) => new Promise<{ code: number; out: string }>((resolve) => {
      execFile('sh', [SCRIPT, event], { env, timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
    });
    expect(await run('monitor')).toEqual({ code: 0, out: '' });
    // The hook reaches the admin API past its token check: 503 (no CTDB source here), not 401.
    const hook = await run('ipreallocated');
    expect(hook.code).toBe(0);
    expect(hook.out).toContain('503');
    expect(hook.out).not.toContain('401');
    const recorded = readFileSync(argsLog, 'utf8');
    expect(recorded).toContain('TOKEN-IN-ENV');
    expect(recorded).toContain('/v1/ctdb/event');
    expect(recorded).not.toContain(TOKEN);
  });
});
